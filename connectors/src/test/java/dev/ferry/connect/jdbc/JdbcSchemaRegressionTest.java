package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.SourceRecord;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the column quoting and schema-change handling of the JDBC connectors must not break (found
 * by a reviewer in its first version): a PostgreSQL timetz column in the source, a missing
 * database in the sink's table setting (the task's fault, not each message's), and a stream of
 * messages with a field the table lacks (no connection per message).
 */
class JdbcSchemaRegressionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static Message msg(long offset, String body) {
        return Message.builder("t").queueId(0).queueOffset(offset).body(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static Map<String, String> cfg(String url, String table, String connector, String... extra) {
        Map<String, String> m = new HashMap<>(Map.of("name", table, "connector", connector, "jdbc.url", url, "table", table));
        if (connector.equals("jdbc-source")) {
            m.put("topic", "rows");
            m.put("poll.interval.ms", "1");
        }
        for (int i = 0; i < extra.length; i += 2) {
            m.put(extra[i], extra[i + 1]);
        }
        return m;
    }

    private static List<SourceRecord> poll(JdbcSourceTask task, int polls) throws Exception {
        List<SourceRecord> out = new ArrayList<>();
        for (int i = 0; i < polls; i++) {
            out.addAll(task.poll(Duration.ofMillis(20)));
        }
        return out;
    }

    private static JsonNode body(SourceRecord r) throws Exception {
        ByteBuffer b = r.message().body();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return JSON.readTree(a);
    }

    /** PostgreSQL TIME WITH TIME ZONE (timetz, reported as Types.TIME) is read as its text; as a LocalTime every poll failed. */
    @Test
    void sourceReadsPostgresTimetz() throws Exception {
        String url = Target.POSTGRESQL.url(tmp);
        String table = Target.uniqueTable("rev_timetz");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, t TIMETZ)",
                "INSERT INTO " + table + " VALUES (1, TIMETZ '10:15:30+00')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(cfg(url, table, "jdbc-source", "incrementing.column", "id")));
            Throwable t = catchThrowable(() -> poll(task, 3));
            assertThat(t).as("poll of a timetz column").isNull();
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** auto.create into a MariaDB database that does not exist (a settings mistake, 42000/1049) fails the task, not each message as a bad record. */
    @Test
    void autoCreateIntoMissingDatabaseFailsTheTask() throws Exception {
        String url = Target.MARIADB.url(tmp);
        String table = "rev_nosuchdb_" + Long.toHexString(System.nanoTime()) + ".orders";
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(cfg(url, table, "jdbc-sink", "name", "revnodb", "auto.create", "true")));
            Throwable t = catchThrowable(() -> task.put(List.of(msg(0, "{\"id\":\"1\"}"))));
            assertThat(t).as("a table in a missing database is not the message's fault").isNotInstanceOf(BadRecordException.class);
        } finally {
            task.close();
        }
    }

    /** Messages with a field the table lacks do not open a database connection each (the columns are read again once per unknown name). */
    @Test
    void badRecordsDoNotOpenAConnectionEach() throws Exception {
        String url = Target.MARIADB.url(tmp);
        String table = Target.uniqueTable("rev_conns");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, name VARCHAR(10))");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(cfg(url, table, "jdbc-sink")));
            long before = Target.queryLong(url, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'");
            int bad = 0;
            for (int i = 0; i < 50; i++) {
                Throwable t = catchThrowable(() -> task.put(List.of(msg(0, "{\"id\":1,\"debug\":\"x\"}"))));
                if (t instanceof BadRecordException) {
                    bad++;
                }
            }
            long after = Target.queryLong(url, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'");
            assertThat(bad).isEqualTo(50);
            assertThat(after - before - 1).as("connections opened for 50 bad records").isLessThanOrEqualTo(2);
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }
}
