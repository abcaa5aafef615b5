package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.StoredMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages at both property limits, sent plainly, delayed (its delivered copy carries
 * {@code %SCHEDULE_ID}) and as a committed transaction ({@code %TX_ID}), are NACKed on a real
 * broker: each is retried like any other. Its retry copy carries the user's properties and the
 * five retry properties, which are the broker's own and not counted, in the copy, its schedule
 * record and the copy delivered to the retry topic after its delay. Before, the copy had no room
 * for them: the message went to the dead-letter topic at once, never retried. A second NACK of the
 * retry copy keeps its origin and counts the second failure; nothing is lost.
 */
class NackAtThePropertyLimitsTest {
    private static final int MAX_PROPERTIES = 8;
    private static final int MAX_PROPERTIES_BYTES = 400;

    @TempDir
    Path dir;

    private Broker broker;

    @BeforeEach
    void open() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false)
                        .maxProperties(MAX_PROPERTIES).maxPropertiesBytes(MAX_PROPERTIES_BYTES).build()),
                GroupConfig.builder().sweepIntervalMs(3_600_000).retryDelaysMs(List.of(50L)).build(),
                TransactionConfig.builder().checkTimeoutMs(3_600_000).build());
        broker.createTopic("t", 1);
    }

    @AfterEach
    void close() {
        broker.close();
    }

    /** The user's properties of {@link #atTheLimits}: with its tags and key, {@value #MAX_PROPERTIES} whose area is {@value #MAX_PROPERTIES_BYTES} bytes. */
    private static Map<String, String> userProperties(String body) {
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < MAX_PROPERTIES - 3; i++) {
            props.put("p" + i, "v");
        }
        long used = LogMessage.propertiesAreaBytes("tag", List.of("key-" + body), props) + 4 + "pad".length();
        props.put("pad", "x".repeat((int) (MAX_PROPERTIES_BYTES - used)));
        assertThat(LogMessage.propertiesAreaBytes("tag", List.of("key-" + body), props)).isEqualTo(MAX_PROPERTIES_BYTES);
        return props;
    }

    private static LogMessage atTheLimits(String body) {
        return LogMessage.builder("t", 0, body.getBytes(StandardCharsets.UTF_8)).tags("tag").key("key-" + body)
                .properties(userProperties(body)).build();
    }

    @Test
    void messagesAtTheLimitsAreRetriedWhenNacked() throws Exception {
        broker.send(List.of(atTheLimits("plain"))).join();
        broker.send(List.of(atTheLimits("delayed")), new long[] {System.currentTimeMillis() + 100}).join();
        String tx = broker.transactions().prepare(atTheLimits("committed"), "pg").join().messageId();
        assertThat(broker.transactions().end(tx, "pg", TransactionDecision.COMMIT).join().applied()).isTrue();
        awaitDelivered(1);
        List<StoredMessage> stored = broker.store().readMessages("t", 0, 0, 10);
        assertThat(stored).hasSize(3);
        assertThat(stored.subList(1, 3)).allSatisfy(s -> assertThat(s.properties().keySet()).anyMatch(k -> k.startsWith("%")));

        GroupCoordinator groups = broker.groups();
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.delivered("n", "a", a.generation(), "t", 0, 0, 3, new long[] {0, 1, 2});
        for (long offset = 0; offset < 3; offset++) {
            groups.nack("n", "a", a.generation(), "t", 0, offset, -1).join();
        }
        assertThat(broker.committedOffset("n", "t", 0)).as("the queue moved on").hasValue(3);
        assertThat(broker.queueCountOf(GroupCoordinator.deadLetterTopic("n"))).as("nothing dead-lettered").isZero();
        awaitDelivered(1 + 3);

        String retry = GroupCoordinator.retryTopic("n");
        List<StoredMessage> first = broker.store().readMessages(retry, 0, 0, 10);
        assertThat(first).hasSize(3);
        for (StoredMessage c : first) {
            StoredMessage origin = stored.stream().filter(o -> java.util.Arrays.equals(o.body(), c.body())).findFirst().orElseThrow();
            assertRetryCopy(c, origin, 1);
        }

        groups.delivered("n", "a", a.generation(), retry, 0, 0, 3, new long[] {0, 1, 2});
        for (long offset = 0; offset < 3; offset++) {
            groups.nack("n", "a", a.generation(), retry, 0, offset, -1).join();
        }
        assertThat(broker.committedOffset("n", retry, 0)).as("the retry queue moved on").hasValue(3);
        awaitDelivered(1 + 6);
        List<StoredMessage> second = broker.store().readMessages(retry, 0, 3, 10);
        assertThat(second).hasSize(3);
        for (StoredMessage c : second) {
            StoredMessage origin = stored.stream().filter(o -> java.util.Arrays.equals(o.body(), c.body())).findFirst().orElseThrow();
            assertRetryCopy(c, origin, 2);
        }
        assertThat(broker.queueCountOf(GroupCoordinator.deadLetterTopic("n"))).as("nothing dead-lettered").isZero();
        assertThat(broker.pendingDelayed()).isZero();
    }

    private void awaitDelivered(long count) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (broker.deliveredDelayed() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(broker.deliveredDelayed()).as("delayed messages delivered").isEqualTo(count);
    }

    /** A retry copy of {@code origin}: its user's properties, tags and key, and the five retry properties. */
    private static void assertRetryCopy(StoredMessage c, StoredMessage origin, int failures) {
        String body = new String(c.body(), StandardCharsets.UTF_8);
        Map<String, String> user = new LinkedHashMap<>(c.properties());
        user.remove(LogMessage.TAGS);
        user.remove(LogMessage.KEYS);
        user.keySet().removeIf(k -> k.startsWith("%"));
        Map<String, String> expected = new LinkedHashMap<>(userProperties(body));
        expected.put(GroupCoordinator.ORIGIN_TOPIC, "t");
        expected.put(GroupCoordinator.ORIGIN_QUEUE_ID, "0");
        expected.put(GroupCoordinator.ORIGIN_QUEUE_OFFSET, Long.toString(origin.queueOffset()));
        expected.put(GroupCoordinator.ORIGIN_MSG_ID, origin.messageId());
        expected.put(GroupCoordinator.RECONSUME_TIMES, Integer.toString(failures));
        assertThat(user).as("the user's properties and the retry properties of " + body).isEqualTo(expected);
        assertThat(c.properties()).as("delivered through the schedule").containsKey("%SCHEDULE_ID");
        assertThat(c.tags()).isEqualTo("tag");
        assertThat(c.keys()).containsExactly("key-" + body);
        assertThat(c.reconsumeTimes()).isEqualTo(failures);
    }
}
