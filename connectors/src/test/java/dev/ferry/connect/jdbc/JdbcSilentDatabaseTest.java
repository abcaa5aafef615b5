package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.FerryClient;
import dev.ferry.connect.Await;
import dev.ferry.connect.BrokerFixture;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.TaskState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A database that goes silent (the connection stays open, nothing comes back: a fail-over, a
 * NAT that dropped the flow) fails a running JDBC source or sink within {@code jdbc.timeout.ms},
 * as a lost connection the runtime restarts it on, instead of blocking it for ever with its
 * status RUNNING. Not on H2 over TCP: its client has no network timeout and an abort from
 * another thread does not end its blocked read, so only a sink write on the writer thread fails
 * (after 4 x {@code jdbc.timeout.ms}, the writer abandoned); a source poll or a sink flush on
 * the task thread stays blocked.
 */
class JdbcSilentDatabaseTest {
    /** Small, so the test is quick; the wait below allows for it, the login timeout of a restart and slack. */
    private static final String TIMEOUT_MS = "2000";
    private static final Duration FAILURE_WAIT = Duration.ofSeconds(25);

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL", "MARIADB"}) // not H2's TCP client: see the class comment
    void aSourceWhoseDatabaseGoesSilentFailsAndIsRestarted(Target target) throws Exception {
        String direct = target.url(tmp);
        String table = Target.uniqueTable("silent_src");
        Target.exec(direct, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))",
                "INSERT INTO " + table + " VALUES (1, 'a')");
        try (SilentProxy proxy = new SilentProxy(port(direct));
                BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            client.createTopic("rows", 1);
            ConnectorConfig config = new ConnectorConfig(Map.of("name", table, "connector", "jdbc-source",
                    "jdbc.url", proxy.through(direct), "table", table, "topic", "rows", "incrementing.column", "id",
                    "poll.interval.ms", "50", "jdbc.timeout.ms", TIMEOUT_MS));
            try (ConnectRuntime rt = broker.startRuntime(tmp.resolve("state"), config)) {
                Await.until("the first row delivered", Duration.ofSeconds(15), () -> status(rt).recordsOut() == 1, rt::status);
                proxy.goSilent();
                Await.until("the source to fail", FAILURE_WAIT, () -> status(rt).state() == TaskState.FAILED, rt::status);
                assertThat(status(rt).reason()).as("a lost connection: retried").contains("restarting");
            }
        } finally {
            Target.dropQuietly(direct, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL", "MARIADB"}) // not H2's TCP client: see the class comment
    void aSinkWhoseDatabaseGoesSilentFailsAndIsRestarted(Target target) throws Exception {
        String direct = target.url(tmp);
        String table = Target.uniqueTable("silent_sink");
        Target.exec(direct, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))");
        Map<String, String> settings = new HashMap<>(Map.of("name", table, "connector", "jdbc-sink",
                "table", table, "topics", "rows", "commit.interval.ms", "50", "batch.rows", "2", "jdbc.timeout.ms", TIMEOUT_MS));
        try (SilentProxy proxy = new SilentProxy(port(direct));
                BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            settings.put("jdbc.url", proxy.through(direct));
            client.createTopic("rows", 1);
            try (ConnectRuntime rt = broker.startRuntime(tmp.resolve("state"), new ConnectorConfig(settings))) {
                JdbcSinkFailureTest.send(client, 0, 4);
                Await.until("4 rows written", Duration.ofSeconds(15), () -> status(rt).recordsOut() == 4, rt::status);
                proxy.goSilent();
                JdbcSinkFailureTest.send(client, 4, 40); // full buffers: the writes run on the sink's writer thread
                Await.until("the sink to fail", FAILURE_WAIT, () -> status(rt).state() == TaskState.FAILED, rt::status);
                assertThat(status(rt).reason()).as("a lost connection: retried").contains("restarting");
            }
        } finally {
            Target.dropQuietly(direct, table, table);
        }
    }

    /** The port of the database server {@code url} names on 127.0.0.1 (H2's TCP server has a port of its own). */
    private static int port(String url) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("//127\\.0\\.0\\.1:(\\d+)/").matcher(url);
        if (!m.find()) {
            throw new IllegalArgumentException(url + " names no server on 127.0.0.1");
        }
        return Integer.parseInt(m.group(1));
    }

    private static ConnectorStatus status(ConnectRuntime rt) {
        return rt.status().get(0);
    }
}
