package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.StartPosition;
import dev.ferry.connect.Await;
import dev.ferry.connect.BrokerFixture;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.TaskState;
import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A JDBC source with {@code key.column} whose topic does not exist yet waits for it at start
 * and delivers its rows once it is created. A sharding key needs the topic's queue count, so
 * the first row used to fail the task for good (NOT_FOUND), maybe long after it started.
 */
class JdbcSourceMissingTopicTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2"})
    void aKeyedSourceWaitsForItsTopicAndThenDeliversItsRows(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_notopic");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, name VARCHAR(20))",
                "INSERT INTO " + table + " VALUES (1, 'a'), (2, 'b'), (3, 'c')");
        ConnectorConfig config = new ConnectorConfig(Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url,
                "table", table, "topic", "keyed-rows", "incrementing.column", "id", "key.column", "name", "poll.interval.ms", "50"));
        try (BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            try (ConnectRuntime rt = broker.startRuntime(tmp.resolve("state"), config)) {
                Thread.sleep(1_500); // long enough for the task to start and, before the fix, to fail at its first row
                assertThat(status(rt).state()).as("waiting for the topic, not failed: " + status(rt)).isEqualTo(TaskState.RUNNING);
                assertThat(status(rt).recordsOut()).isZero();
                client.createTopic("keyed-rows", 2);
                Await.until("3 rows delivered", Duration.ofSeconds(15), () -> status(rt).recordsOut() == 3, rt::status);
            }
            List<String> keys = new ArrayList<>();
            try (Consumer consumer = client.consumer(ConsumerConfig.builder("keyed-rows", "check").startFrom(StartPosition.EARLIEST)
                    .autoCommit(false).maxWaitMs(100).build())) {
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (keys.size() < 3 && System.nanoTime() < deadline) {
                    for (Message m : consumer.poll(Duration.ofMillis(200))) {
                        keys.addAll(m.keys());
                    }
                }
            }
            assertThat(keys).as("key.column gives the keys").containsExactlyInAnyOrder("a", "b", "c");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    private static ConnectorStatus status(ConnectRuntime rt) {
        return rt.status().get(0);
    }
}
