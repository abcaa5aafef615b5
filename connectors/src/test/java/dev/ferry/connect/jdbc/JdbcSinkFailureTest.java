package dev.ferry.connect.jdbc;

import dev.ferry.connect.BrokerFixture;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.connect.Await;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.TaskState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A failure that is not the rows' fault fails the JDBC sink in the runtime, even with
 * {@code errors.tolerance=all}: the rows are not sent to the error topic and no position moves
 * past them.
 */
class JdbcSinkFailureTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aTableDroppedUnderARunningSinkFailsItInsteadOfDumpingRowsToTheErrorTopic(Target target) throws Exception {
        dropTheTableUnderARunningSink(target, "sink_drop", Map.of(), 5, 10);
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aTableDroppedUnderABackgroundWriteFailsTheSinkToo(Target target) throws Exception {
        // batch.rows 2: the puts fill buffers, so the writes run on the sink's writer thread, not in flush
        dropTheTableUnderARunningSink(target, "sink_dropbg", Map.of("batch.rows", "2"), 40, 200);
    }

    /**
     * Sends {@code before} rows and waits until they are committed, drops the table, sends up to
     * {@code after}: the task fails with the table in its reason, nothing goes to the error topic,
     * and the stored positions stay after the written rows.
     */
    private void dropTheTableUnderARunningSink(Target target, String prefix, Map<String, String> extra, int before, int after)
            throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable(prefix);
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))");
        Map<String, String> settings = new java.util.HashMap<>(Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url,
                "table", table, "topics", "rows", "errors.tolerance", "all", "errors.topic", "bad-rows", "commit.interval.ms", "50"));
        settings.putAll(extra);
        try (BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            client.createTopic("rows", 2);
            client.createTopic("bad-rows", 1);
            try (ConnectRuntime rt = broker.startRuntime(tmp.resolve("state"), new ConnectorConfig(settings))) {
                send(client, 0, before);
                Await.until(before + " rows committed", Duration.ofSeconds(15), () -> storedSum(url, table) == before, rt::status);
                Target.exec(url, "DROP TABLE " + table);
                send(client, before, after);
                Await.until("the task to fail", Duration.ofSeconds(15), () -> status(rt).state() == TaskState.FAILED, rt::status);
                assertThat(status(rt).errors()).as("rows sent to the error topic").isZero();
                assertThat(status(rt).reason()).containsIgnoringCase(table);
            }
            assertThat(storedSum(url, table)).as("positions stay after the written rows").isEqualTo(before);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    private static long storedSum(String url, String connector) {
        try {
            return Target.queryLong(url, "SELECT COALESCE(SUM(next_offset), 0) FROM " + SinkOffsetsTable.DEFAULT_NAME
                    + " WHERE connector = '" + connector + "'");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ConnectorStatus status(ConnectRuntime rt) {
        return rt.status().get(0);
    }

    private static void send(FerryClient client, int from, int to) throws Exception {
        try (Producer p = client.producer()) {
            for (int i = from; i < to; i++) {
                p.send("rows", ("{\"id\":" + i + ",\"note\":\"row " + i + "\"}").getBytes(StandardCharsets.UTF_8));
            }
        }
    }
}
