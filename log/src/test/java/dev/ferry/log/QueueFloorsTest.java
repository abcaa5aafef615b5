package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.message;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static dev.ferry.log.StoreTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.log.StoreTestSupport.MutableClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Queue floors ({@link MessageStore#startQueuesAtEnd}, {@link QueueFloors}) on a real store: what
 * each read path sees below a floor, the file on disk and across a reopen, a floor dropped once
 * retention passes it, and one above its queue's end (the end lost in a machine crash) lowered at
 * open so that new records are not hidden.
 */
class QueueFloorsTest {
    private static final long HOUR = 3_600_000L;

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(1_700_000_000_000L);

    private LogConfig config() {
        return smallConfig(dir).segmentBytes(4096).indexEntriesPerFile(4).retentionMs(HOUR).retentionCheckIntervalMs(24 * HOUR)
                .clock(clock).build();
    }

    @Test
    void everyReadStartsAtTheFloorAndItSurvivesAReopen() throws IOException {
        String oldId;
        try (MessageStore store = MessageStore.open(config())) {
            store.createQueues("t", 2);
            oldId = store.append(LogMessage.builder("t", 0, "old-0".getBytes(StandardCharsets.UTF_8)).key("k").build()).messageId();
            store.append(message("t", 0, "old-1"));
            store.append(message("t", 2, "old-on-a-queue-beyond-the-new-count"));

            assertThat(store.startQueuesAtEnd("t")).as("queue 1 holds nothing: no floor").isEqualTo(Map.of(0, 2L, 2, 1L));
            assertThat(Files.readString(dir.resolve(QueueFloors.FILE)))
                    .isEqualTo("# Ferry queue floors: TOPIC QUEUE_ID FIRST_OFFSET\nt 0 2\nt 2 1\n");

            store.append(LogMessage.builder("t", 0, "new-2".getBytes(StandardCharsets.UTF_8)).key("k").build());
            assertFloorHolds(store, oldId);
        }
        try (MessageStore store = MessageStore.open(config())) {
            assertFloorHolds(store, oldId);
        }
    }

    private static void assertFloorHolds(MessageStore store, String oldId) {
        assertThat(store.minOffset("t", 0)).isEqualTo(2);
        assertThat(store.minOffset("t", 2)).isEqualTo(1);
        assertThatThrownBy(() -> store.read("t", 0, 0, 10, 1 << 20)).isInstanceOfSatisfying(OffsetOutOfRangeException.class,
                e -> assertThat(e).hasMessage("t/0: offset 0 is from before the topic was deleted and created again (earliest available: 2)"));
        assertThatThrownBy(() -> store.readIndex("t", 0, 1, 1, new long[1], new int[1], new long[1]))
                .isInstanceOf(OffsetOutOfRangeException.class);
        try (ReadResult r = store.read("t", 0, 2, 10, 1 << 20)) {
            assertThat(r.minOffset()).isEqualTo(2);
            assertThat(r.messageCount()).isEqualTo(1);
            assertThat(text(r.message(0))).isEqualTo("new-2");
        }
        assertThat(store.readById(oldId)).as("by id").isEmpty();
        assertThat(store.lookupByKey("t", "k", 10)).as("by key").extracting(StoreTestSupport::text).containsExactly("new-2");
        assertThat(store.offsetForTimestamp("t", 0, 0)).as("by time").isEqualTo(2);
        assertThat(store.readMessage("t", 0, 1)).isEmpty();
    }

    @Test
    void aFloorGoesOnceRetentionPassesItAndACreationAgainReplacesIt() throws IOException {
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 0; i < 3; i++) {
                store.append(LogMessage.builder("t", 0, body(1_000, i)).build()); // one segment holds three
            }
            store.startQueuesAtEnd("t");
            assertThat(store.minOffset("t", 0)).isEqualTo(3);
            store.append(LogMessage.builder("t", 0, body(1_000, 3)).build());
            store.startQueuesAtEnd("t"); // deleted and created again once more: replaced
            assertThat(Files.readString(dir.resolve(QueueFloors.FILE))).endsWith("\nt 0 4\n");

            clock.set(clock.millis() + 1);
            store.append(LogMessage.builder("other", 0, body(1_000, 9)).build()); // a second segment for segment 0 to expire before
            store.append(LogMessage.builder("other", 0, body(1_000, 9)).build());
            store.append(LogMessage.builder("t", 0, body(1_000, 5)).build()); // offset 4, in a third segment
            store.flush();
            clock.set(clock.millis() + 1000 * HOUR);
            assertThat(store.runRetention()).isPositive();
            assertThat(store.minOffset("t", 0)).isEqualTo(4);
            assertThat(Files.readString(dir.resolve(QueueFloors.FILE))).as("the floor retention passed is dropped")
                    .isEqualTo("# Ferry queue floors: TOPIC QUEUE_ID FIRST_OFFSET\n");
        }
    }

    @Test
    void aFloorAboveItsQueuesEndIsLoweredAtOpenSoNewRecordsAreServed() throws IOException {
        try (MessageStore store = MessageStore.open(config())) {
            store.append(message("t", 0, "old-0"));
            store.append(message("t", 0, "old-1"));
        }
        // as after a machine crash that lost the records below a floor written (and forced) after them
        Files.writeString(dir.resolve(QueueFloors.FILE), "# Ferry queue floors: TOPIC QUEUE_ID FIRST_OFFSET\nt 0 7\n");
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.minOffset("t", 0)).isEqualTo(2);
            assertThat(Files.readString(dir.resolve(QueueFloors.FILE))).endsWith("\nt 0 2\n");
            store.append(message("t", 0, "new-2"));
            assertThat(store.readMessages("t", 0, 2, 10)).extracting(StoreTestSupport::text).containsExactly("new-2");
        }
    }

    @Test
    void aDamagedFileFailsTheOpenNamingTheLine() throws IOException {
        try (MessageStore store = MessageStore.open(config())) {
            store.append(message("t", 0, "x"));
        }
        Files.writeString(dir.resolve(QueueFloors.FILE), "# header\nt 0\n");
        assertThatThrownBy(() -> MessageStore.open(config())).hasMessageContaining(QueueFloors.FILE).hasMessageContaining("line 2");
        Files.writeString(dir.resolve(QueueFloors.FILE), "t 0 1\n");
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.minOffset("t", 0)).as("a file without its header line reads as well").isEqualTo(1);
        }
    }
}
