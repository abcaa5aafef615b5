package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.awaitExistsOrDone;
import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.filesOnDisk;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.log.StoreTestSupport.MutableClock;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file the store lets go of (retention deleted it, or the store was closed) is unmapped at once,
 * not when the garbage collector gets to its buffer: until then a deleted file keeps its disk
 * space, and a broker with many queues would pile up mappings against the kernel's per-process
 * limit. Checked in {@code /proc/self/maps}, the kernel's list of this process's mappings (Linux;
 * elsewhere the tests are skipped). Readers that race with retention must never touch an unmapped
 * file (that would crash the JVM running the tests): they get records or a clear error. The
 * reference counting itself ({@link SharedMapping}) is checked on a file of its own, and a store
 * that was closed neither deletes (a late retention run) nor creates files.
 *
 * <p>Layout: 4 KiB segments and 1,000-byte bodies, three records per segment; offset index files
 * of 4 entries and key index files of 8 keys, so retention deletes many of both.
 */
class MappingReleaseTest {
    private static final int BODY = 1_000;
    private static final long T0 = 1_700_000_000_000L;
    private static final long STEP = 60_000L;
    private static final long HOUR = 3_600_000L;

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(T0);

    @BeforeAll
    static void linuxOnly() {
        assumeTrue(Files.isReadable(Path.of("/proc/self/maps")), "needs /proc/self/maps (Linux)");
    }

    private LogConfig config() {
        return smallConfig(dir).segmentBytes(4096).indexEntriesPerFile(4).keyIndexEntries(8).retentionMs(HOUR)
                .retentionCheckIntervalMs(24 * HOUR) // only runRetention() deletes here
                .checkpointIntervalMs(3_600_000) // a checkpoint's force would hold a deleted file for a moment
                .clock(clock).build();
    }

    /** Appends {@code n} keyed records to t/0, one minute apart per segment of three. */
    private void append(MessageStore store, int n) {
        for (int i = 0; i < n; i++) {
            clock.advance(i % 3 == 0 ? STEP : 0);
            store.append(LogMessage.builder("t", 0, body(BODY, i)).key("k" + i).build());
        }
        store.flush(); // retention deletes only flushed bytes
    }

    @Test
    void closingTheStoreUnmapsEveryFile() throws Exception {
        try (MessageStore store = MessageStore.open(config())) {
            append(store, 60);
            for (int q = 1; q < 5; q++) {
                store.append(LogMessage.builder("t", q, body(100, q)).build());
            }
            assertThat(store.lookupByKey("t", "k7", 10)).hasSize(1);
            assertThat(store.readMessages("t", 0, 0, 60)).hasSize(60);
            assertThat(mappingsUnder(dir)).as("while open").isNotEmpty();
        }
        assertThat(mappingsUnder(dir)).as("mappings of the store's files after close").isEmpty();
    }

    @Test
    void filesThatRetentionDeletesAreUnmappedWhileTheStoreRuns() throws Exception {
        try (MessageStore store = MessageStore.open(config())) {
            append(store, 60);
            int indexFiles = filesOnDisk(dir.resolve("index/t/0")).size();
            int keyFiles = filesOnDisk(dir.resolve("keyindex")).size();
            clock.advance(10 * HOUR);
            store.append(LogMessage.builder("t", 0, body(BODY, 60)).build()); // a record in a segment of its own time
            store.flush();
            assertThat(store.runRetention()).isPositive();

            assertThat(filesOnDisk(dir.resolve("index/t/0")).size()).as("index files").isLessThan(indexFiles);
            assertThat(filesOnDisk(dir.resolve("keyindex")).size()).as("key index files").isLessThan(keyFiles);
            assertThat(mappingsUnder(dir)).as("mappings of deleted files").noneMatch(line -> line.endsWith("(deleted)"));
            assertThat(store.readMessages("t", 0, 60, 10)).as("what retention kept is still read").hasSize(1);
        }
    }

    @Test
    void readersRacingWithRetentionGetRecordsOrAClearError() throws Exception {
        try (MessageStore store = MessageStore.open(config())) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong recordsRead = new AtomicLong();
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                int reader = r;
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            long from = store.minOffset("t", 0);
                            long end = store.nextOffset("t", 0);
                            int read = store.readMessages("t", 0, from, 8).size();
                            if (read == 0 && from < end) {
                                unexpected.add(new AssertionError("no record and no error reading offset " + from + " (end " + end + ")"));
                            }
                            recordsRead.addAndGet(read);
                            store.lookupByKey("t", "k" + (from + reader), 4);
                        } catch (OffsetOutOfRangeException | SegmentDeletedException e) {
                            // retention moved on between the two calls: the error a consumer sees
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }
                }, "reader-" + r);
                readers.add(t);
                t.start();
            }
            try {
                for (int round = 0; round < 40; round++) {
                    append(store, 12);
                    clock.advance(2 * HOUR);
                    store.runRetention();
                }
            } finally {
                stop.set(true);
                for (Thread t : readers) {
                    t.join();
                }
            }
            assertThat(unexpected).isEmpty();
            assertThat(recordsRead.get()).as("records the readers read").isPositive();
            assertThat(mappingsUnder(dir)).as("mappings of deleted files").noneMatch(line -> line.endsWith("(deleted)"));
        }
    }

    @Test
    void aMappingGoesOnceItsOwnerAndItsLastReaderHaveLetGo() throws Exception {
        SharedMapping mapping = mapFile("shared", 8192);
        FileChannel channel = mapping.channel;
        MappedByteBuffer map = mapping.map;
        map.putLong(0, 42);

        assertThat(mapping.retain()).as("a reader takes a reference").isTrue();
        mapping.releaseOwner();
        mapping.releaseOwner(); // retention deleted it and a close let go of it too: counted once
        assertThat(mappingsUnder(dir)).as("still mapped for the reader").hasSize(1);
        assertThat(map.getLong(0)).isEqualTo(42);

        mapping.release();
        assertThat(mappingsUnder(dir)).as("mapped after the last reader let go").isEmpty();
        assertThat(channel.isOpen()).isFalse();
        assertThat(mapping.retain()).as("a reader that comes too late").isFalse();
    }

    @Test
    void anAbandonedMappingIsLeftToItsWriter() throws Exception {
        SharedMapping mapping = mapFile("abandoned", 4096);
        FileChannel channel = mapping.channel;
        MappedByteBuffer map = mapping.map;

        mapping.abandon(); // the close of a store whose dispatcher did not stop in time
        mapping.releaseOwner();
        assertThat(channel.isOpen()).isFalse();
        assertThat(mappingsUnder(dir)).as("left mapped").hasSize(1); // checked before the write below, which would crash the JVM otherwise
        map.putLong(0, 7); // a late write of the dispatcher lands in memory still mapped
    }

    @Test
    void aCloseFromAnInterruptedThreadClosesCleanlyAndUnmaps() throws Exception {
        MessageStore store = MessageStore.open(config());
        append(store, 30);
        Thread.currentThread().interrupt(); // as a broker's shutdown hook may be
        try {
            store.close();
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept for the caller").isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(mappingsUnder(dir)).as("mappings after a close from an interrupted thread").isEmpty();
        assertThat(dir.resolve("abort")).as("a clean close removes the abort marker").doesNotExist();
        try (MessageStore reopened = MessageStore.open(config())) {
            assertThat(reopened.recoveryReport().crashed()).as("the next open found a clean close").isFalse();
            assertThat(reopened.readMessages("t", 0, 0, 100)).hasSize(30);
        }
    }

    @Test
    void aClosedStoreNeitherDeletesNorCreatesFiles() throws Exception {
        MessageStore store = MessageStore.open(config());
        append(store, 30);
        clock.advance(10 * HOUR);
        store.close();
        int indexFiles = filesOnDisk(dir.resolve("index/t/0")).size();
        assertThat(store.runRetention()).as("segments a retention run after close deletes").isZero();
        assertThat(filesOnDisk(dir.resolve("index/t/0"))).hasSize(indexFiles);
        assertThatThrownBy(() -> store.createQueues("u", 2)).isInstanceOf(LogException.class).hasMessageContaining("closed");
        assertThat(Files.exists(dir.resolve("index/u"))).isFalse();
        assertThat(mappingsUnder(dir)).isEmpty();
    }

    /**
     * createQueues makes the new queues' files after it lets go of the append lock, so a close can
     * run in the middle of it: the close lets go of every file made before, and none is made after.
     * The close lands during the creation most times, not always (the creation may finish first,
     * while the close's checkpoint syncs the folders made so far: on the CI machine, 10 attempts in a
     * row once); such an attempt checks only that nothing stays mapped, and is repeated on a fresh
     * store, up to 40 times within 30 s; if none lands the test is reported skipped, not passed.
     * (On a file system busy with many recent deletions each attempt took 4 s and none landed: 40
     * attempts made the test 230 s of a CI run.)
     */
    @Test
    void aCloseDuringQueueCreationLeavesNothingMapped() throws Exception {
        final int maxAttempts = 40;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int attempts = 0;
        for (int attempt = 1; attempt <= maxAttempts && (attempt == 1 || System.nanoTime() < deadline); attempt++) {
            attempts = attempt;
            Path storeDir = dir.resolve("attempt-" + attempt);
            LogConfig config = LogConfig.builder(storeDir).segmentBytes(4096).indexEntriesPerFile(4).keyIndexSlots(64)
                    .keyIndexEntries(8).preTouch(false).build();
            MessageStore store = MessageStore.open(config);
            store.append(LogMessage.builder("t", 0, new byte[10]).build());
            CompletableFuture<Void> creation = CompletableFuture.runAsync(() -> store.createQueues("u", 4_000));
            awaitExistsOrDone(storeDir.resolve("index/u/0"), creation);
            store.close();
            Throwable failure = null;
            try {
                creation.get(2, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                failure = e.getCause();
            }
            assertThat(mappingsUnder(storeDir)).as("mappings after a close that ran during createQueues").isEmpty();
            if (failure == null) {
                continue; // the creation finished before the close: try again
            }
            assertThat(failure).isInstanceOf(LogException.class).hasMessageContaining("closed");
            assertThat(Files.exists(storeDir.resolve("index/u/3999"))).as("the last queue's folder, made after the close").isFalse();
            try (MessageStore reopened = MessageStore.open(config)) {
                assertThat(reopened.readMessages("t", 0, 0, 10)).hasSize(1);
                reopened.append(LogMessage.builder("u", 3_999, new byte[10]).build());
                assertThat(reopened.readMessages("u", 3_999, 0, 10)).hasSize(1);
            }
            return;
        }
        // every attempt checked that nothing stayed mapped; what needs the close inside the creation could not be arranged here
        org.junit.jupiter.api.Assumptions.abort("in " + attempts + " attempts the close never ran while createQueues was creating files");
    }

    @Test
    void readsAfterCloseSayTheStoreIsClosed() {
        MessageStore store = MessageStore.open(config());
        append(store, 30);
        store.close();
        assertThatThrownBy(() -> store.readMessages("t", 0, 0, 10)).isInstanceOf(LogException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> store.readIndex("t", 0, 0, 10, new long[10], new int[10], new long[10]))
                .isInstanceOf(LogException.class).hasMessageContaining("closed");
    }

    /** A file of {@code size} zeros in the test's folder, mapped read-write. */
    private SharedMapping mapFile(String name, int size) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, new byte[size]);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new SharedMapping(channel, channel.map(FileChannel.MapMode.READ_WRITE, 0, size));
    }

    /** Lines of /proc/self/maps for files under {@code root}. */
    private static List<String> mappingsUnder(Path root) throws IOException {
        String prefix = root.toRealPath().toString() + "/";
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(prefix)).toList();
    }
}
