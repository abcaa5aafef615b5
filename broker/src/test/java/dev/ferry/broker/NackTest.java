package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.StoredMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a NACKed message goes, on a real store: what a consumer group relies on is that the
 * message is then stored somewhere a member reads (the retry topic, or the dead-letter topic),
 * and that the queue's committed offset moves past it. And what acks do to the committed offsets
 * of a topic deleted meanwhile.
 */
class NackTest {
    @TempDir
    Path dir;

    private Broker broker;
    private GroupCoordinator groups;

    @BeforeEach
    void open() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.builder().sweepIntervalMs(3_600_000).build());
        broker.createTopic("t", 1);
        groups = broker.groups();
    }

    @AfterEach
    void close() {
        broker.close();
    }

    /**
     * An orderly member retries a failing message in place, as often as its own client allows,
     * and reads no retry topic: its NACK goes to the dead-letter topic even with a count below
     * the broker's limit (16). A copy in the retry topic would be read by no one.
     */
    @Test
    void anOrderlyMembersNackGoesToTheDeadLetterTopicWhateverItsCount() {
        broker.send(List.of(LogMessage.builder("t", 0, bytes("fails")).build())).join();
        GroupCoordinator.Assignment a = groups.join("o", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true);
        groups.lock("o", "a", a.generation(), "t", 0);
        groups.delivered("o", "a", a.generation(), "t", 0, 0, 1, new long[] {0});

        groups.nack("o", "a", a.generation(), "t", 0, 0, 3).join();

        assertThat(messages(GroupCoordinator.deadLetterTopic("o"))).extracting(m -> new String(m.body(), StandardCharsets.UTF_8))
                .containsExactly("fails");
        assertThat(messages(GroupCoordinator.retryTopic("o"))).isEmpty();
        assertThat(broker.pendingDelayed()).as("nothing scheduled for the retry topic").isZero();
        assertThat(broker.committedOffset("o", "t", 0)).hasValue(1);
    }

    @Test
    void aNonOrderlyMembersNackGoesToTheRetryTopicWithItsOrigin() {
        broker.send(List.of(LogMessage.builder("t", 0, bytes("fails")).build())).join();
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.delivered("n", "a", a.generation(), "t", 0, 0, 1, new long[] {0});

        groups.nack("n", "a", a.generation(), "t", 0, 0, -1).join();

        assertThat(broker.pendingDelayed()).as("the retry copy, scheduled").isEqualTo(1);
        assertThat(messages(GroupCoordinator.deadLetterTopic("n"))).isEmpty();
        assertThat(broker.committedOffset("n", "t", 0)).hasValue(1);
    }

    /**
     * A message stored with nearly as many properties as the limit (64) allows is retried like any
     * other: the five properties of its retry copy (and the schedule's three) are the broker's own,
     * which the limits do not count. Before, the copy had no room for them and the message went to
     * the dead-letter topic at once (NackAtThePropertyLimitsTest follows such copies through).
     */
    @Test
    void aMessageNearThePropertiesLimitIsRetriedLikeAnyOther() {
        LogMessage.Builder full = LogMessage.builder("t", 0, bytes("crowded")).key("order-1");
        for (int i = 0; i < 63; i++) {
            full.property("p" + i, "v" + i);
        }
        broker.send(List.of(full.build())).join();
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.delivered("n", "a", a.generation(), "t", 0, 0, 1, new long[] {0});

        groups.nack("n", "a", a.generation(), "t", 0, 0, -1).join();

        assertThat(broker.pendingDelayed()).as("the retry copy, scheduled").isEqualTo(1);
        assertThat(messages(GroupCoordinator.deadLetterTopic("n"))).isEmpty();
        assertThat(broker.committedOffset("n", "t", 0)).hasValue(1);
    }

    /**
     * A record damaged on disk is never copied to the retry or dead-letter topic, where it would
     * be stored again under a fresh checksum and handed out as good data: it counts as done (an
     * ERROR line names it), and the queue moves on.
     */
    @Test
    void aDamagedRecordIsNotCopiedUnderAFreshChecksum() throws Exception {
        dev.ferry.log.AppendResult r = broker.send(List.of(LogMessage.builder("t", 0, bytes("good")).build())).join().get(0);
        broker.store().flush(); // in the segment file, not only in the staging ring (whose copy would undo the damage)
        java.nio.file.Path segment = dir.resolve("commitlog").resolve(String.format("%020d", 0));
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(segment, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes("X")), r.physicalOffset() + r.size() - 1); // "good" becomes "gooX"
        }
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.delivered("n", "a", a.generation(), "t", 0, 0, 1, new long[] {0});

        groups.nack("n", "a", a.generation(), "t", 0, 0, -1).join();

        assertThat(broker.pendingDelayed()).as("no retry copy scheduled").isZero();
        assertThat(messages(GroupCoordinator.deadLetterTopic("n"))).isEmpty();
        assertThat(broker.committedOffset("n", "t", 0)).as("counted as done").hasValue(1);
    }

    /** A deleted topic's committed offsets stay deleted when a live member acks what it had fetched. */
    @Test
    void acksAfterTheTopicWasDeletedDoNotWriteItsOffsetsBack() {
        broker.send(List.of(LogMessage.builder("t", 0, bytes("x")).build(), LogMessage.builder("t", 0, bytes("y")).build())).join();
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.delivered("n", "a", a.generation(), "t", 0, 0, 2, new long[] {0, 1});
        groups.ack("n", "a", a.generation(), "t", 0, new long[] {0});
        assertThat(broker.committedOffsets("n")).isNotEmpty();

        broker.deleteTopic("t");
        groups.ack("n", "a", a.generation(), "t", 0, new long[] {1});

        assertThat(broker.committedOffsets("n")).isEmpty();
    }

    private List<StoredMessage> messages(String topic) {
        return broker.store().nextOffset(topic, 0) == 0 ? List.of() : broker.store().readMessages(topic, 0, 0, 100);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
