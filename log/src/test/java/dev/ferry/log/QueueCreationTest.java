package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.allocatedKiB;
import static dev.ferry.log.StoreTestSupport.awaitExistsOrDone;
import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.filesOnDisk;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Creating a topic's queues ({@link MessageStore#createQueues}) does not hold up appends to other
 * topics while it creates the queues' folders and index files (1,000 queues' files took up to
 * 2.6 s on the build VM), and leaves every queue ready: a folder and a first index file each,
 * appends and reads that work, and a reopen that finds them.
 *
 * <p>The first test needs no clock: an append to another topic that returns while the last of
 * the new queues' folders is still missing did not wait for the creation, whatever the timing.
 */
class QueueCreationTest {
    private static final int QUEUES = 2_000;

    @TempDir
    Path dir;

    @Test
    void appendsToAnotherTopicDoNotWaitForQueueCreation() throws Exception {
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            store.append(LogMessage.builder("a", 0, body(100, 0)).build());
            Path first = dir.resolve("index/big/0");
            Path last = dir.resolve("index/big/" + (QUEUES - 1));
            CompletableFuture<Void> creation = CompletableFuture.runAsync(() -> store.createQueues("big", QUEUES));
            awaitExistsOrDone(first, creation);
            AppendResult during = store.append(LogMessage.builder("a", 0, body(100, 1)).build());
            boolean lastMissing = !Files.exists(last);
            creation.get(2, TimeUnit.MINUTES);
            assertThat(lastMissing).as("queue %d's folder was still missing when an append to topic a returned", QUEUES - 1)
                    .isTrue();
            assertThat(during.queueOffset()).isEqualTo(1);
            assertThat(readAll(store, "a", 0)).hasSize(2);
        }
    }

    /**
     * A created queue's index file has only its first page written until the queue is first
     * appended to: a topic of many idle queues does not take 64 KiB of zeros per queue. Disk use
     * as {@code du} reports it (blocks of at most 4 KiB; skipped elsewhere). The index
     * filler runs fills one at a time, in the order they were asked for: once a task queued after
     * the append has run, every fill asked for by the creation or the append has run too.
     */
    @Test
    void idleQueuesKeepOnlyTheirFirstIndexPage() throws Exception {
        long block = Files.getFileStore(dir).getBlockSize();
        assumeTrue(block <= 4096, "needs file-system blocks of at most 4 KiB (here " + block + ")");
        try (MessageStore store = MessageStore.open(LogConfig.builder(dir).segmentBytes(1 << 20).build())) {
            store.createQueues("t", 10);
            store.append(LogMessage.builder("t", 0, body(100, 0)).build());
            OffsetIndex.awaitQueuedFills();
            long written = allocatedKiB(indexFile("t", 0));
            assumeTrue(written >= 64, "the file system keeps written zeros as blocks (queue 0's index: " + written + " KiB)");
            for (int q = 1; q < 10; q++) {
                assertThat(allocatedKiB(indexFile("t", q))).as("disk used by idle queue t/%d's index file, KiB", q)
                        .isLessThanOrEqualTo(8);
            }
            store.append(LogMessage.builder("t", 5, body(100, 5)).build());
            assertThat(readAll(store, "t", 5)).hasSize(1);
        }
    }

    private Path indexFile(String topic, int queue) {
        return dir.resolve("index/" + topic + "/" + queue).resolve(FileNames.name(0));
    }

    @Test
    void everyCreatedQueueHasItsFileAndTakesAppends() throws Exception {
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            store.createQueues("t", 50);
            for (int q = 0; q < 50; q++) {
                assertThat(filesOnDisk(dir.resolve("index/t/" + q))).as("index files of t/%d after createQueues", q).hasSize(1);
            }
            for (int q = 0; q < 50; q++) {
                store.append(LogMessage.builder("t", q, body(100, q)).build());
            }
            store.createQueues("t", 50); // again: nothing changes
            for (int q = 0; q < 50; q++) {
                assertThat(filesOnDisk(dir.resolve("index/t/" + q))).hasSize(1);
            }
        }
        try (MessageStore reopened = MessageStore.open(smallConfig(dir).build())) {
            for (int q = 0; q < 50; q++) {
                assertThat(readAll(reopened, "t", q)).as("t/%d after reopen", q).hasSize(1);
                assertThat(readAll(reopened, "t", q).get(0).body()).isEqualTo(body(100, q));
            }
        }
    }
}
