package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Messages that break a limit are rejected with {@link InvalidMessageException} naming the field
 * and the limit, and leave the store exactly as it was: same end, no new topic or queue, the one
 * good record still the only one.
 */
class LimitsTest {
    private static final int SEGMENT = 8192;

    @TempDir
    Path dir;

    private MessageStore store;
    private long endBefore;

    @BeforeEach
    void openWithOneRecord() {
        store = MessageStore.open(smallConfig(dir).segmentBytes(SEGMENT).maxTopicBytes(16).maxProperties(4)
                .maxPropertiesBytes(256).maxBodyBytes(8000).maxQueuesPerTopic(8).build());
        store.append(StoreTestSupport.message("t", 0, "the good one"));
        endBefore = store.writtenOffset();
    }

    @AfterEach
    void close() {
        store.close();
    }

    static Stream<Arguments> badMessages() {
        return Stream.of(
                bad("topic too long", () -> LogMessage.builder("x".repeat(17), 0, new byte[1]).build(), "topic", "17 bytes", "1..16"),
                bad("topic with a slash", () -> LogMessage.builder("a/b", 0, new byte[1]).build(), "topic", "'a/b'", "[A-Za-z0-9._%|-]"),
                bad("topic with a space", () -> LogMessage.builder("a b", 0, new byte[1]).build(), "topic", "[A-Za-z0-9._%|-]"),
                bad("topic ..", () -> LogMessage.builder("..", 0, new byte[1]).build(), "topic", "not . or .."),
                bad("empty topic", () -> LogMessage.builder("", 0, new byte[1]).build(), "topic", "0 bytes", "1..16"),
                bad("non-ASCII topic", () -> LogMessage.builder("café", 0, new byte[1]).build(), "topic", "5 bytes"),
                bad("queueId -1", () -> LogMessage.builder("t", -1, new byte[1]).build(), "queueId: -1", "0..7"),
                bad("queueId 8", () -> LogMessage.builder("t", 8, new byte[1]).build(), "queueId: 8", "0..7"),
                bad("five properties", () -> LogMessage.builder("t", 0, new byte[1]).tags("a").key("k")
                        .property("p1", "v").property("p2", "v").property("p3", "v").build(), "properties: 5", "<= 4"),
                bad("properties over 256 bytes", () -> LogMessage.builder("t", 0, new byte[1]).property("p", "v".repeat(300))
                        .build(), "properties: 305 bytes", "<= 256"),
                bad("body of 8001 bytes", () -> LogMessage.builder("t", 0, new byte[8001]).build(), "body: 8001 bytes", "<= 8000"),
                bad("record larger than a segment", () -> LogMessage.builder("t", 0, new byte[8000]).property("p", "v".repeat(200))
                        .build(), "record: 8301 bytes", "segmentBytes 8192"));
    }

    private static Arguments bad(String name, Supplier<LogMessage> message, String... expected) {
        return Arguments.of(name, message, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badMessages")
    void rejectedWithFieldAndLimitAndNothingWritten(String name, Supplier<LogMessage> message, String[] expected) {
        LogMessage m = message.get();
        assertThatThrownBy(() -> store.append(m)).as(name).isInstanceOf(InvalidMessageException.class)
                .message().contains(expected);
        assertThatThrownBy(() -> store.appendAsync(m)).as(name + " (async)").isInstanceOf(InvalidMessageException.class);
        assertUnchanged(m);
    }

    @Test
    void aBatchWithOneBadMessageWritesNothing() {
        LogMessage good = StoreTestSupport.message("t", 1, "good");
        LogMessage bad = LogMessage.builder("t", 0, new byte[8001]).build();
        assertThatThrownBy(() -> store.appendBatchAsync(List.of(good, bad))).isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining("batch message 1").hasMessageContaining("body: 8001 bytes");
        assertUnchanged(bad);
        assertThat(store.nextOffset("t", 1)).as("t/1 end: the good message of the batch was not written").isZero();
    }

    @Test
    void aBatchWithMoreKeysThanAKeyIndexFileHoldsWritesNothing() {
        List<LogMessage> batch = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) {
            LogMessage.Builder b = LogMessage.builder("t", 1, new byte[1]);
            for (int k = 0; k < 101; k++) {
                b.key(String.valueOf((char) ('a' + k % 26)));
            }
            batch.add(b.build());
        }
        assertThatThrownBy(() -> store.appendBatchAsync(batch)).isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining("batch: 1010 keys").hasMessageContaining("keyIndexEntries 1000");
        assertUnchanged(batch.get(0));
        assertThat(store.nextOffset("t", 1)).as("t/1 end").isZero();
        store.appendBatchAsync(batch.subList(0, 9)).join(); // 909 keys fit
        assertThat(store.lookupByKey("t", "a", 100)).hasSize(9);
    }

    @Test
    void aBatchLargerThanASegmentWritesNothing() {
        // within a segment's size a batch crosses at most one segment end, and all its space is prepared
        // before its first record is written: a larger one could fail halfway through
        List<LogMessage> batch = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            batch.add(LogMessage.builder("t", 1, new byte[3000]).build());
        }
        assertThatThrownBy(() -> store.appendBatchAsync(batch)).isInstanceOf(InvalidMessageException.class)
                .hasMessageContaining("batch: 9288 bytes stored").hasMessageContaining("segmentBytes 8192");
        assertUnchanged(batch.get(0));
        assertThat(store.nextOffset("t", 1)).as("t/1 end").isZero();
        store.appendBatchAsync(batch.subList(0, 2)).join();
        assertThat(store.readMessages("t", 1, 0, 10)).hasSize(2);
    }

    @Test
    void limitsAtTheirMaximumAreAccepted() {
        store.append(LogMessage.builder("x".repeat(16), 7, new byte[8000]).tags("a").key("k").property("p1", "v")
                .property("p2", "v").build());
        assertThat(store.readMessages("x".repeat(16), 7, 0, 1)).hasSize(1);
    }

    private void assertUnchanged(LogMessage m) {
        assertThat(store.writtenOffset()).as("commit log end after a rejected append").isEqualTo(endBefore);
        assertThat(store.topics()).as("topics after a rejected append").containsExactly("t");
        assertThat(store.queueIds("t")).as("queues of t after a rejected append").containsExactly(0);
        assertThat(store.nextOffset("t", 0)).as("t/0 end").isEqualTo(1);
        List<StoredMessage> all = store.readMessages("t", 0, 0, 10);
        assertThat(all).as("t/0 records").hasSize(1);
        assertThat(StoreTestSupport.text(all.get(0))).isEqualTo("the good one");
        assertThat(store.readAt(endBefore)).as("nothing readable at the end").isEmpty();
    }
}
