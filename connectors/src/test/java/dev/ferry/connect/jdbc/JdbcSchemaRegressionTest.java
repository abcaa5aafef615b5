package dev.ferry.connect.jdbc;

import static dev.ferry.connect.jdbc.JdbcTasks.message;
import static dev.ferry.connect.jdbc.JdbcTasks.poll;
import static dev.ferry.connect.jdbc.JdbcTasks.sinkSettings;
import static dev.ferry.connect.jdbc.JdbcTasks.sourceSettings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.SourceRecord;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the column quoting and schema-change handling of the JDBC connectors must not break (found
 * by a reviewer in its first version): a PostgreSQL timetz column in the source, a missing
 * database in the sink's table setting (the task's fault, not each message's), and a stream of
 * messages with a field the table lacks (no connection per message).
 */
class JdbcSchemaRegressionTest {
    @TempDir
    Path tmp;

    /** PostgreSQL TIME WITH TIME ZONE (timetz, reported as Types.TIME) is read as its text; as a LocalTime every poll failed. */
    @Test
    void sourceReadsPostgresTimetz() throws Exception {
        String url = Target.POSTGRESQL.url(tmp);
        String table = Target.uniqueTable("rev_timetz");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, t TIMETZ)",
                "INSERT INTO " + table + " VALUES (1, TIMETZ '10:15:30+00')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
            Throwable t = catchThrowable(() -> poll(task, 3));
            assertThat(t).as("poll of a timetz column").isNull();
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /**
     * PostgreSQL prepares a statement on the server after its fifth run; a column added or
     * retyped later makes that plan's result type wrong ("cached plan must not change result
     * type"). The source polls on: the new row arrives, with the new column.
     */
    @Test
    void sourcePollsOnAfterAlterTableOnPostgres() throws Exception {
        String url = Target.POSTGRESQL.url(tmp);
        String table = Target.uniqueTable("rev_altered");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, name VARCHAR(10))",
                "INSERT INTO " + table + " VALUES (1, 'a')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id", "poll.interval.ms", "1")));
            List<SourceRecord> first = poll(task, 12);
            assertThat(first).hasSize(1);
            Target.exec(url, "ALTER TABLE " + table + " ALTER COLUMN name TYPE VARCHAR(20)",
                    "ALTER TABLE " + table + " ADD COLUMN note TEXT",
                    "INSERT INTO " + table + " VALUES (2, 'b', 'added')");
            List<SourceRecord> next = poll(task, 3);
            assertThat(next).hasSize(1);
            assertThat(JdbcTasks.body(next.get(0)).get("note").asText()).isEqualTo("added");
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
            task.start(TestContext.of(sinkSettings(url, table, "name", "revnodb", "auto.create", "true")));
            Throwable t = catchThrowable(() -> task.put(List.of(message(0, "{\"id\":\"1\"}"))));
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
            task.start(TestContext.of(sinkSettings(url, table)));
            long before = Target.queryLong(url, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'");
            int bad = 0;
            for (int i = 0; i < 50; i++) {
                Throwable t = catchThrowable(() -> task.put(List.of(message(0, "{\"id\":1,\"debug\":\"x\"}"))));
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
