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
 * A message at both property limits that the broker stored with its own properties besides (a
 * delayed message's delivered copy carries {@code %SCHEDULE_ID}, a committed one {@code %TX_ID},
 * which the limits do not count) is NACKed on a real broker: its retry copy has no room for the
 * five retry properties, so it goes to the dead-letter topic with the user's properties, and the
 * queue moves on. The broker's own property, stored as an ordinary one in the copy, must not be
 * counted against the dead-letter copy: the message would then be refused everywhere, stay in
 * flight for good, and hold the committed offset.
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
                GroupConfig.builder().sweepIntervalMs(3_600_000).build(),
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
    void delayedAndCommittedMessagesAtTheLimitsGoToTheDeadLetterTopicWhenNacked() throws Exception {
        broker.send(List.of(atTheLimits("delayed")), new long[] {System.currentTimeMillis() + 100}).join();
        String tx = broker.transactions().prepare(atTheLimits("committed"), "pg").join().messageId();
        assertThat(broker.transactions().end(tx, "pg", TransactionDecision.COMMIT).join().applied()).isTrue();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (broker.deliveredDelayed() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(broker.deliveredDelayed()).as("the delayed message delivered").isEqualTo(1);
        List<StoredMessage> stored = broker.store().readMessages("t", 0, 0, 10);
        assertThat(stored).hasSize(2);
        assertThat(stored).allSatisfy(s -> assertThat(s.properties().keySet()).anyMatch(k -> k.startsWith("%")));

        GroupCoordinator groups = broker.groups();
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.delivered("n", "a", a.generation(), "t", 0, 0, 2, new long[] {0, 1});
        groups.nack("n", "a", a.generation(), "t", 0, 0, -1).join();
        groups.nack("n", "a", a.generation(), "t", 0, 1, -1).join();

        List<StoredMessage> dead = broker.store().readMessages(GroupCoordinator.deadLetterTopic("n"), 0, 0, 10);
        assertThat(dead).extracting(m -> new String(m.body(), StandardCharsets.UTF_8)).containsExactlyInAnyOrder("delayed", "committed");
        for (StoredMessage d : dead) {
            Map<String, String> user = new LinkedHashMap<>(d.properties());
            user.remove(LogMessage.TAGS);
            user.remove(LogMessage.KEYS);
            assertThat(user).as("the user's properties, as sent").isEqualTo(userProperties(new String(d.body(), StandardCharsets.UTF_8)));
            assertThat(d.keys()).containsExactly("key-" + new String(d.body(), StandardCharsets.UTF_8));
        }
        assertThat(broker.pendingDelayed()).as("no retry copy").isZero();
        assertThat(broker.committedOffset("n", "t", 0)).as("the queue moved on").hasValue(2);
    }
}
