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
                assertThat(status(rt).reason()).containsIgnoringCase(table)
                        .as("not retried: the table stays dropped").doesNotContain("restarting");
            }
            assertThat(storedSum(url, table)).as("positions stay after the written rows").isEqualTo(before);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL"})
    void aColumnTypeTheSinkCannotBindFailsItForGood(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_type");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note TEXT[])"); // bound as text: 42804 on every row
        try {
            assertFailsForGood(url, table, Map.of(), "is of type text[] but expression is of type character varying");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL", "MARIADB"})
    void aUserWithoutTheInsertPrivilegeFailsTheSinkForGood(Target target) throws Exception {
        String admin = target.url(tmp);
        String table = Target.uniqueTable("sink_priv");
        String user = table + "_u";
        Target.exec(admin, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))",
                "CREATE TABLE IF NOT EXISTS " + SinkOffsetsTable.DEFAULT_NAME
                        + " (connector VARCHAR(255), topic VARCHAR(255), queue_id INTEGER, next_offset BIGINT)");
        String url;
        if (target == Target.POSTGRESQL) {
            Target.exec(admin, "CREATE ROLE " + user + " LOGIN", "GRANT USAGE, CREATE ON SCHEMA public TO " + user,
                    "GRANT SELECT ON " + table + " TO " + user, "GRANT ALL ON " + SinkOffsetsTable.DEFAULT_NAME + " TO " + user);
            url = admin.replace("user=postgres", "user=" + user);
        } else {
            Target.exec(admin, "CREATE USER '" + user + "'@'%'", "GRANT CREATE ON test.* TO '" + user + "'@'%'",
                    "GRANT SELECT ON test." + table + " TO '" + user + "'@'%'",
                    "GRANT ALL ON test." + SinkOffsetsTable.DEFAULT_NAME + " TO '" + user + "'@'%'");
            url = admin.replace("user=root", "user=" + user);
        }
        try {
            assertFailsForGood(url, table, Map.of(), target == Target.POSTGRESQL ? "permission denied" : "command denied");
        } finally {
            Target.dropQuietly(admin, table, table);
            try {
                Target.exec(admin, target == Target.POSTGRESQL ? "DROP OWNED BY " + user : "DROP USER '" + user + "'@'%'");
                if (target == Target.POSTGRESQL) {
                    Target.exec(admin, "DROP ROLE " + user);
                }
            } catch (java.sql.SQLException e) {
                System.err.println("dropping " + user + " failed: " + e);
            }
        }
    }

    /**
     * Sends one row to a sink of {@code table} whose write the database refuses for a reason
     * other than the row (SQL state class 42: a statement or a privilege): the task fails with
     * {@code reasonPart}, is not restarted, and sends nothing to the error topic.
     */
    private void assertFailsForGood(String url, String table, Map<String, String> extra, String reasonPart) throws Exception {
        Map<String, String> settings = new java.util.HashMap<>(Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url,
                "table", table, "topics", "rows", "errors.tolerance", "all", "errors.topic", "bad-rows", "commit.interval.ms", "50"));
        settings.putAll(extra);
        try (BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            client.createTopic("rows", 1);
            try (ConnectRuntime rt = broker.startRuntime(tmp.resolve("state"), new ConnectorConfig(settings))) {
                send(client, 0, 1);
                Await.until("the task to fail", Duration.ofSeconds(15), () -> status(rt).state() == TaskState.FAILED, rt::status);
                ConnectorStatus s = status(rt);
                assertThat(s.reason()).contains(reasonPart)
                        .as("not retried: it would fail the same way every 30 s").doesNotContain("restarting");
                assertThat(s.errors()).as("rows sent to the error topic").isZero();
            }
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

    /** Sends rows {@code from}..{@code to}-1 to topic {@code rows} as {"id":i,"note":"row i"}; other JDBC sink tests use it too. */
    static void send(FerryClient client, int from, int to) throws Exception {
        try (Producer p = client.producer()) {
            for (int i = from; i < to; i++) {
                p.send("rows", ("{\"id\":" + i + ",\"note\":\"row " + i + "\"}").getBytes(StandardCharsets.UTF_8));
            }
        }
    }
}
