package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.StartPosition;
import dev.ferry.connect.Await;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.Configs;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.PositionStore;
import dev.ferry.connect.RuntimeTestCase;
import dev.ferry.connect.TaskState;
import dev.ferry.protocol.Message;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Rows the broker or the producer would refuse — a key with a space, an empty key, a key over
 * the 1,024-byte limit, a body over 4 MiB (and over the producer's 8 MiB buffer) — are bad
 * records: they go to errors.topic with a reason, or fail the task for good, and the rows around
 * them are sent. Before, each put the task into a restart loop on the same row (or failed it
 * without the error topic): BAD_REQUEST and LIMIT_EXCEEDED were retried, the large row blocked
 * for the producer's 60 s and was retried too.
 */
class JdbcSourceRefusedRecordTest extends RuntimeTestCase {
    private static final int BIG = 9 << 20;

    private String prepare(Target target, String table) throws Exception {
        String url = target.url(dir);
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, k VARCHAR(2000), big TEXT)");
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, k, big) VALUES (?, ?, ?)")) {
            Object[][] rows = {
                {1, "ok-1", "x"}, {2, "a b", "x"}, {3, "", "x"}, {4, "k".repeat(1_100), "x"}, {5, "ok-5", "y".repeat(BIG)},
                {6, "ok-6", "x"},
            };
            for (Object[] r : rows) {
                ps.setLong(1, ((Integer) r[0]).longValue());
                ps.setString(2, (String) r[1]);
                ps.setString(3, (String) r[2]);
                ps.executeUpdate();
            }
        }
        return url;
    }

    private ConnectorConfig source(String url, String table, String tolerance) {
        return Configs.of("name", "src", "connector", "jdbc-source", "jdbc.url", url, "table", table, "topic", "lines",
                "incrementing.column", "id", "key.column", "k", "poll.interval.ms", "50", "commit.interval.ms", "50",
                "errors.tolerance", tolerance, "errors.topic", "bad-rows");
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void refusedRowsGoToTheErrorTopicWithTheReasonAndTheOthersAreSent(Target target) throws Exception {
        String table = Target.uniqueTable("src_refused");
        String url = prepare(target, table);
        client.createTopic("bad-rows", 1); // one queue: the error records in the order they were sent
        try (ConnectRuntime rt = start(source(url, table, "all"))) {
            Await.until("rows 1 and 6 sent and four rows set aside", Duration.ofSeconds(30),
                    () -> status(rt, "src").recordsOut() == 2 && status(rt, "src").errors() == 4, () -> rt.status());
            assertThat(status(rt, "src").state()).isEqualTo(TaskState.RUNNING);
            assertThat(readAll("lines", 2)).extracting(Message::keys).containsExactly(List.of("ok-1"), List.of("ok-6"));
            List<Message> errors = readAll("bad-rows", 4);
            assertThat(errors).extracting(m -> m.properties().get("connect.error.reason")).satisfiesExactly(
                    r -> assertThat(r).isEqualTo("record refused before sending: key: 'a b' (expected: non-empty, without spaces)"
                            + " [error record: left out 1 invalid key(s)]"),
                    r -> assertThat(r).startsWith("record refused before sending: sharding key: '' (expected: non-empty"),
                    r -> assertThat(r).startsWith("record refused before sending: key: 'kkkk").contains("is 1100 bytes (expected: at most 1024)"),
                    r -> assertThat(r).startsWith("record refused before sending: body: ")
                            .contains("(expected: at most 4194304, the broker's default maxBodyBytes)")
                            .contains("[error record: body cut to its first 4194304 of "));
            assertThat(errors.get(3).bodyLength()).isEqualTo(4 << 20);
            assertThat(errors.get(3).keys()).containsExactly("ok-5");
            Await.until("the position past the last row", Duration.ofSeconds(5),
                    () -> "6".equals(new PositionStore(dir.resolve("state/positions")).load("src").get("incrementing")));
        } finally {
            Target.dropQuietly(url, table, "src");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void aRefusedRowUnderToleranceNoneFailsTheTaskForGoodAfterTheRowsBeforeIt(Target target) throws Exception {
        String table = Target.uniqueTable("src_refused_none");
        String url = prepare(target, table);
        try (ConnectRuntime rt = start(source(url, table, "none"))) {
            Await.until("the task to fail", Duration.ofSeconds(30), () -> status(rt, "src").state() == TaskState.FAILED,
                    () -> rt.status());
            ConnectorStatus s = status(rt, "src");
            assertThat(s.reason()).isEqualTo("bad record (errors.tolerance=none): record refused before sending: key: 'a b'"
                    + " (expected: non-empty, without spaces)");
            assertThat(s.reason()).as("not retried: a restart that is due shows in the reason as soon as the task failed")
                    .doesNotContain("restarting");
        } finally {
            Target.dropQuietly(url, table, "src");
        }
        assertThat(readAll("lines", 1)).extracting(Message::keys).containsExactly(List.of("ok-1"));
        assertThat(new PositionStore(dir.resolve("state/positions")).load("src")).as("committed up to the row before")
                .containsEntry("incrementing", "1");
    }

    private List<Message> readAll(String topic, int expected) {
        List<Message> out = new ArrayList<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder(topic, "check-" + System.nanoTime()).autoCommit(false)
                .startFrom(StartPosition.EARLIEST).build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                out.addAll(c.poll(Duration.ofMillis(200)));
            }
        }
        return out;
    }
}
