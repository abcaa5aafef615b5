package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.log.AppendResult;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A start that fails on a bad file under DATA closes what it opened before the failure. Before,
 * the message store stayed open (and the threads started before the failure ran on): the start
 * after the file was fixed was refused in the same process ("already open in this process"), and in
 * a new one ran crash recovery, the abort marker left on disk, although no run had crashed.
 */
class FailedStartTest {
    @TempDir
    Path dir;

    private Broker open() {
        return Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()));
    }

    private String sendOne() {
        try (Broker b = open()) {
            b.ensureTopic("t", 1);
            List<AppendResult> r = b.send(List.of(LogMessage.builder("t", 0, "kept".getBytes(StandardCharsets.UTF_8)).build())).join();
            return r.get(0).messageId();
        }
    }

    /** Starts again once {@code fix} has repaired the file: a clean open, the message there. */
    private void fixAndStartClean(Runnable fix, String id) {
        fix.run();
        try (Broker b = open()) {
            assertThat(b.store().recoveryReport().crashed()).as("the failed start closed the store: no abort marker left").isFalse();
            assertThat(b.messageById(id)).hasValueSatisfying(m -> assertThat(new String(m.body(), StandardCharsets.UTF_8)).isEqualTo("kept"));
        }
    }

    /** A garbage line in transactions/checks fails the last step of a start, after the store, threads and state files opened. */
    @Test
    void aGarbageChecksLineFailsTheStartAndLeavesNothingOpen() throws IOException {
        String id = sendOne();
        Path checks = dir.resolve("transactions").resolve("checks");
        Files.writeString(checks, "garbage\n");

        assertThatThrownBy(this::open).isInstanceOf(BrokerException.class).hasMessageContaining("line 1: 'garbage'");

        fixAndStartClean(() -> delete(checks), id);
    }

    /** A transactions/state of the wrong size: refused in the watermark, before the checks are read. */
    @Test
    void aBadTransactionStateFailsTheStartAndLeavesNothingOpen() throws IOException {
        String id = sendOne();
        Path state = dir.resolve("transactions").resolve("state");
        byte[] good = Files.readAllBytes(state);
        Files.write(state, new byte[] {1, 2, 3});

        assertThatThrownBy(this::open).isInstanceOf(BrokerException.class).hasMessageContaining("3 bytes");

        fixAndStartClean(() -> write(state, good), id);
    }

    /**
     * A committed offset that is not a number (offsets.properties edited by hand, as when copying
     * a broker's state): refused naming the file, the key and the value. Before, the start failed
     * with a bare NumberFormatException ("For input string: ...") that named neither.
     */
    @Test
    void aCommittedOffsetThatIsNotANumberFailsTheStartNamingFileKeyAndValue() throws IOException {
        String id = sendOne();
        Path offsets = dir.resolve("offsets.properties");
        Files.writeString(offsets, "billing/t/0=12a\n");

        assertThatThrownBy(this::open).isInstanceOf(BrokerException.class)
                .hasMessageContaining("offsets.properties").hasMessageContaining("billing/t/0").hasMessageContaining("'12a'");

        fixAndStartClean(() -> write(offsets, "billing/t/0=12\n".getBytes(StandardCharsets.UTF_8)), id);
        try (Broker b = open()) {
            assertThat(b.committedOffset("billing", "t", 0)).hasValue(12);
        }
    }

    /** The same for a topic's queue count in topics.properties, and a count below 1. */
    @Test
    void aQueueCountThatIsNotAPositiveNumberFailsTheStartNamingFileTopicAndValue() throws IOException {
        String id = sendOne();
        Path topics = dir.resolve("topics.properties");
        for (String bad : List.of("eight", "0")) {
            Files.writeString(topics, "t=" + bad + "\n");
            assertThatThrownBy(this::open).as("queue count %s", bad).isInstanceOf(BrokerException.class)
                    .hasMessageContaining("topics.properties").hasMessageContaining("topic t").hasMessageContaining("'" + bad + "'");
        }
        fixAndStartClean(() -> write(topics, "t=1\n".getBytes(StandardCharsets.UTF_8)), id);
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void write(Path p, byte[] bytes) {
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * The queue limit lowered below a topic's queues (limits.topic.queues, restarted with it): the
     * start fails naming the limit and the topic, and closes the store. Before, it started, and the
     * topic's sends to its queues past the limit were refused ("queueId: 3 (expected: 0..1)").
     */
    @Test
    void aQueueLimitBelowATopicsQueuesFailsTheStartNamingTheTopic() {
        try (Broker b = open()) {
            b.createTopic("orders", 4);
            b.createTopic("small", 1);
        }
        LogConfig lowered = LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).maxQueuesPerTopic(2).build();
        assertThatThrownBy(() -> Broker.open(new BrokerConfig(lowered, 2, true, 30_000, 1_000)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("maxQueuesPerTopic: 2 (expected: at least 4, the queues of topic orders in "
                        + dir.resolve("topics.properties"));
        try (Broker b = open()) {
            assertThat(b.store().recoveryReport().crashed()).as("the failed start closed the store").isFalse();
            assertThat(b.describeTopic("orders").orElseThrow().queues()).hasSize(4);
        }
    }
}
