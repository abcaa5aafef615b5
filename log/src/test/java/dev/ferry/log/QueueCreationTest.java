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
     * A created queue's index file has only its first page written until the queue's entries come
     * near its end, and then grows in steps that double (one page, two, four, ... up to 64 KiB): a
     * topic of many idle or small queues does not take 64 KiB of zeros per queue. Queue 0 takes
     * 1,000 entries (20 KB), queue 1 stays idle, queue 2 takes 10,000 (200 KB, past the largest
     * step). Disk use as {@code du} reports it (blocks of at most 4 KiB; skipped elsewhere). The
     * index dispatcher writes the zeros ahead of an entry before it makes the entry readable: once
     * every entry reads back, every fill they asked for has been written.
     */
    @Test
    void indexFilesGrowWithTheirQueues() throws Exception {
        long block = Files.getFileStore(dir).getBlockSize();
        assumeTrue(block <= 4096, "needs file-system blocks of at most 4 KiB (here " + block + ")");
        try (MessageStore store = MessageStore.open(LogConfig.builder(dir).segmentBytes(8 << 20).build())) {
            store.createQueues("t", 10);
            for (int i = 0; i < 1_000; i++) {
                store.append(LogMessage.builder("t", 0, body(10, i)).build());
            }
            for (int i = 0; i < 10_000; i++) {
                store.append(LogMessage.builder("t", 2, body(10, i)).build());
            }
            assertThat(readAll(store, "t", 0)).hasSize(1_000);
            assertThat(readAll(store, "t", 2)).hasSize(10_000);
            long small = allocatedKiB(indexFile("t", 0));
            assumeTrue(small >= 20, "the file system keeps written zeros as blocks (queue 0's index: " + small + " KiB)");
            // 1,000 entries: 20,016 bytes with the header; zeros to 32 KiB, and the page of the file's last byte
            assertThat(small).as("disk used by t/0's index file (1,000 entries), KiB").isLessThanOrEqualTo(36);
            assertThat(allocatedKiB(indexFile("t", 1))).as("disk used by idle queue t/1's index file, KiB").isLessThanOrEqualTo(8);
            // 10,000 entries: 200,016 bytes; zeros at most a 64 KiB step past them, and the last page
            assertThat(allocatedKiB(indexFile("t", 2))).as("disk used by t/2's index file (10,000 entries), KiB")
                    .isBetween(196L, 200_016L / 1024 + 64 + 4 + 1);
            assertThat(readAll(store, "t", 2).get(9_999).body()).isEqualTo(body(10, 9_999));
            store.append(LogMessage.builder("t", 5, body(100, 5)).build());
            assertThat(readAll(store, "t", 5)).hasSize(1);
        }
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

    private Path indexFile(String topic, int queue) {
        return dir.resolve("index/" + topic + "/" + queue).resolve(FileNames.name(0));
    }
}
