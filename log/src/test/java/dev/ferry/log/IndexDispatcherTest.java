package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offset index is written by {@link IndexDispatcher}, a pass behind the appender: what a user
 * sees must not change. A message is readable as soon as its append returned, from any thread, and
 * the indexes of many queues written in chains per pass are the same after a reopen.
 */
class IndexDispatcherTest {
    private static final int QUEUES = 1000;

    @TempDir
    Path dir;

    @Test
    void aMessageIsReadableFromAnotherThreadAsSoonAsItsAppendReturned() throws Exception {
        int records = 100_000;
        BlockingQueue<AppendResult> appended = new ArrayBlockingQueue<>(1024);
        try (MessageStore store = MessageStore.open(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build())) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < records; i++) {
                    AppendResult r = store.append(LogMessage.builder("t", i % QUEUES, body(40, i)).build());
                    try {
                        appended.put(r);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            for (int i = 0; i < records; i++) {
                AppendResult r = appended.poll(30, TimeUnit.SECONDS);
                assertThat(r).as("append %d", i).isNotNull();
                assertThat(store.nextOffset("t", r.queueId())).isGreaterThan(r.queueOffset());
                List<StoredMessage> read = store.readMessages("t", r.queueId(), r.queueOffset(), 1);
                assertThat(read).as("read of %d/%d right after its append", r.queueId(), r.queueOffset()).hasSize(1);
                assertThat(read.get(0).body()).isEqualTo(body(40, i));
                assertThat(read.get(0).physicalOffset()).isEqualTo(r.physicalOffset());
            }
            writer.get(30, TimeUnit.SECONDS);
            store.awaitIndexed();
            assertThat(store.indexedPhysicalOffset()).isEqualTo(store.writtenOffset());
        }
    }

    @Test
    void manyQueuesWrittenInterleavedReadBackInOrderBeforeAndAfterAReopen() {
        LogConfig config = smallConfig(dir).segmentBytes(1 << 20).build();
        int perQueue = 30;
        try (MessageStore store = MessageStore.open(config)) {
            for (int round = 0; round < perQueue; round++) {
                List<LogMessage> batch = new ArrayList<>();
                for (int q = 0; q < QUEUES; q++) {
                    LogMessage m = LogMessage.builder("t", q, body(20, q * 1000L + round)).build();
                    if (q % 3 == 0) {
                        batch.add(m); // some as batches: their entries are dispatched from one published end
                    } else {
                        store.append(m);
                    }
                }
                store.appendBatchAsync(batch).join();
            }
            assertQueues(store, perQueue);
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).isFalse();
            assertQueues(store, perQueue);
        }
    }

    @Test
    void aBatchWhoseEntriesCrossIndexFilesIsIndexedWhole() {
        // one batch is published at once, so one pass writes its 250 entries of queue 0 as one run,
        // across two ends of index files of 100 entries, between the entries of queue 1
        LogConfig config = smallConfig(dir).segmentBytes(1 << 20).build();
        try (MessageStore store = MessageStore.open(config)) {
            store.append(LogMessage.builder("t", 0, body(20, 0)).build());
            List<LogMessage> batch = new ArrayList<>();
            for (int i = 1; i <= 250; i++) {
                batch.add(LogMessage.builder("t", 0, body(20, i)).build());
                batch.add(LogMessage.builder("t", 1, body(20, -i)).build());
            }
            store.appendBatchAsync(batch).join();
            assertRun(store);
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).isFalse();
            assertRun(store);
        }
    }

    private static void assertRun(MessageStore store) {
        List<StoredMessage> q0 = readAll(store, "t", 0);
        List<StoredMessage> q1 = readAll(store, "t", 1);
        assertThat(q0).hasSize(251);
        assertThat(q1).hasSize(250);
        for (int i = 0; i <= 250; i++) {
            assertThat(q0.get(i).body()).as("queue 0, offset %d", i).isEqualTo(body(20, i));
        }
        for (int i = 1; i <= 250; i++) {
            assertThat(q1.get(i - 1).body()).as("queue 1, offset %d", i - 1).isEqualTo(body(20, -i));
        }
    }

    @Test
    void aFilteredReadAtTheEndOfAQueueFindsNothingWhileTheIndexTrailsTheAppender() {
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            for (int i = 0; i < 2000; i++) {
                store.append(LogMessage.builder("t", 0, body(20, i)).tags("A").build());
                long end = store.nextOffset("t", 0);
                try (ReadResult r = store.read("t", 0, end, 10, Integer.MAX_VALUE, hash -> true)) {
                    assertThat(r.messageCount()).isZero();
                    assertThat(r.nextOffset()).isEqualTo(end);
                }
            }
        }
    }

    private static void assertQueues(MessageStore store, int perQueue) {
        for (int q = 0; q < QUEUES; q++) {
            assertThat(store.nextOffset("t", q)).isEqualTo(perQueue);
            List<StoredMessage> all = readAll(store, "t", q);
            assertThat(all).hasSize(perQueue);
            for (int round = 0; round < perQueue; round++) {
                assertThat(all.get(round).queueOffset()).isEqualTo(round);
                assertThat(all.get(round).body()).as("queue %d, offset %d", q, round).isEqualTo(body(20, q * 1000L + round));
            }
        }
    }
}
