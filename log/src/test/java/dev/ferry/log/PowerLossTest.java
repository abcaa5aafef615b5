package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a power loss (or an OS crash) leaves on disk, which a {@code kill -9} does not: pages of
 * the last run that never reached the disk, in any order, and new files whose size never did.
 * The machine cannot be power-cycled here, so each case writes to the files the state such a
 * loss leaves (a page of zeros, a file of 0 bytes), or checks with {@code cachestat(2)} that no
 * recovered page is left unwritten; then the store must open, keep every record it acknowledged,
 * and serve no record twice or from a stale page.
 */
class PowerLossTest {
    private static final int BODY = 1024 - StoreTestSupport.HEADER_FOR_TOPIC_T; // 1 KiB records: 4 a page

    @TempDir
    Path dir;

    /**
     * Records a killed process left in the page cache are forced to disk by recovery: the log is
     * declared flushed up to its end once it opens, so the next SYNC group commit forces only what
     * comes after, and a power loss would otherwise cut the log inside the recovered part and take
     * every SYNC-acknowledged record after it with it.
     */
    @Test
    void theRecordsAKilledProcessLeftInThePageCacheAreOnDiskOnceTheStoreOpens() throws Exception {
        Process child = StoreTestSupport.childJvm(UnflushedWriter.class, dir.toString()).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null && !line.startsWith("DONE")) {
                // the child's log lines
            }
            assertThat(line).as("the child's last line").startsWith("DONE");
        }
        child.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // kill -9
        Path segment = dir.resolve("commitlog").resolve(FileNames.name(0));
        long dirtyAfterKill = StoreTestSupport.pageCache(segment, 0, 8 << 20).dirty();
        try (MessageStore s = MessageStore.open(UnflushedWriter.config(dir, FlushMode.SYNC))) {
            assertThat(s.recoveryReport().crashed()).isTrue();
            assertThat(s.writtenOffset()).isEqualTo(8 << 20);
            assertThat(StoreTestSupport.pageCache(segment, 0, 8 << 20).dirty()).as("dirty pages of the recovered records once the store is open (%d after"
                    + " the kill)", dirtyAfterKill).isZero();
        }
    }

    /**
     * A store whose segment files were copied in (an archive restored as CONNECTORS.md says, with no
     * checkpoint and no abort marker): the copied pages are in the page cache only, as a killed
     * process leaves them. The open declares the log flushed up to its end, so the next SYNC group
     * commit forces only what comes after; if recovery did not force the copied records, a power loss
     * in the next half minute would cut the log inside them and take every SYNC-acknowledged record
     * after them with it. Before, only an open after a crash forced them.
     */
    @Test
    void theRecordsCopiedIntoAStoreWithoutACheckpointAreOnDiskOnceItOpens() throws Exception {
        Path source = dir.resolve("source");
        Path restored = dir.resolve("restored");
        int segmentBytes = 1 << 20;
        long end;
        try (MessageStore s = MessageStore.open(smallConfig(source).segmentBytes(segmentBytes).flushMode(FlushMode.SYNC).build())) {
            for (int i = 0; i < 3072; i++) { // three full segments: the filler then writes nothing into the copied files
                s.append(LogMessage.builder("t", 0, body(BODY, i)).build());
            }
            end = s.writtenOffset();
            assertThat(end).as("the log end").isEqualTo(3L * segmentBytes);
        }
        TreeSet<Long> bases = StoreTestSupport.filesOnDisk(source.resolve("commitlog"));
        Files.createDirectories(restored.resolve("commitlog"));
        long dirtyAfterCopy = 0;
        for (long base : bases.headSet(end, false)) {
            Path copy = restored.resolve("commitlog").resolve(FileNames.name(base));
            Files.copy(source.resolve("commitlog").resolve(FileNames.name(base)), copy);
            dirtyAfterCopy += StoreTestSupport.pageCache(copy, 0, segmentBytes).dirty();
        }
        Assumptions.assumeTrue(dirtyAfterCopy > 0, "the kernel wrote the copied pages back before the open");

        try (MessageStore s = MessageStore.open(smallConfig(restored).segmentBytes(segmentBytes).flushMode(FlushMode.SYNC).build())) {
            RecoveryReport report = s.recoveryReport();
            assertThat(report.crashed()).as("%s", report).isFalse();
            assertThat(report.checkpointFound()).as("%s", report).isFalse();
            assertThat(s.writtenOffset()).as("%s", report).isEqualTo(end);
            for (long base : bases.headSet(end, false)) {
                assertThat(StoreTestSupport.pageCache(restored.resolve("commitlog").resolve(FileNames.name(base)), 0, segmentBytes).dirty())
                        .as("dirty pages of the records of segment %d once the store is open (%d in all after the copy)", base,
                                dirtyAfterCopy).isZero();
            }
        }
    }

    /**
     * A lost page followed by kept ones: the log ends at the lost page, and the kept records after
     * it must not come back. Before, they stayed on disk; appends of the same sizes that ended on
     * one of their boundaries made the next open scan on into them, index them again, and leave
     * entries of 0 bytes at position 0 for the offsets between.
     */
    @Test
    void recordsKeptAfterALostPageDoNotComeBackWhenAppendsReachThem() throws Exception {
        for (int otherQueue = 0; otherQueue < 2; otherQueue++) {
            Path store = dir.resolve("q" + otherQueue);
            LogConfig config = smallConfig(store).build();
            try (MessageStore s = MessageStore.open(config)) {
                for (int i = 0; i < 12; i++) {
                    s.append(LogMessage.builder("t", 0, body(BODY, i)).build());
                }
            }
            loseSecondPage(store);
            try (MessageStore s = MessageStore.open(config)) {
                assertThat(s.writtenOffset()).as("the log ends at the lost page").isEqualTo(4096);
                assertThat(s.nextOffset("t", 0)).isEqualTo(4);
                for (int i = 0; i < 4; i++) {
                    s.append(LogMessage.builder("t", otherQueue, body(BODY, 100 + i)).build()); // ending where record 8 began
                }
            }
            try (MessageStore s = MessageStore.open(config)) {
                assertThat(s.writtenOffset()).as("queue %d: the log end after a clean stop", otherQueue).isEqualTo(8192);
                assertThat(s.nextOffset("t", 0)).as("queue %d: t/0", otherQueue).isEqualTo(otherQueue == 1 ? 4 : 8);
                assertThat(StoreTestSupport.readAll(s, "t", 0)).as("queue %d", otherQueue).hasSize(otherQueue == 1 ? 4 : 8);
            }
        }
    }

    /** The next segment, made ahead of the appender, of 0 bytes (its size had not reached the disk): deleted at open. */
    @Test
    void anEmptyNextSegmentFileIsDeletedAtOpen() throws Exception {
        LogConfig config = smallConfig(dir).build();
        try (MessageStore s = MessageStore.open(config)) {
            for (int i = 0; i < 10; i++) {
                s.append(StoreTestSupport.message("t", 0, "m" + i));
            }
            s.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (StoreTestSupport.filesOnDisk(dir.resolve("commitlog")).size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20); // the filler makes the active segment's successor
            }
        }
        TreeSet<Long> segments = StoreTestSupport.filesOnDisk(dir.resolve("commitlog"));
        assertThat(segments).hasSize(2);
        try (FileChannel ch = FileChannel.open(dir.resolve("commitlog").resolve(FileNames.name(segments.last())),
                StandardOpenOption.WRITE)) {
            ch.truncate(0);
        }
        Files.createFile(dir.resolve("abort"));
        try (MessageStore s = MessageStore.open(config)) {
            assertThat(StoreTestSupport.readAll(s, "t", 0)).extracting(StoreTestSupport::text)
                    .containsExactly("m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9");
            s.append(StoreTestSupport.message("t", 0, "m10"));
        }
    }

    /** The newest key index file of 0 bytes: deleted, and its keys indexed again from the log. */
    @Test
    void anEmptyKeyIndexFileIsIndexedAgain() throws Exception {
        LogConfig config = smallConfig(dir).build();
        try (MessageStore s = MessageStore.open(config)) {
            s.append(LogMessage.builder("t", 0, new byte[10]).key("k1").build());
            s.append(LogMessage.builder("t", 0, new byte[10]).key("k2").build());
        }
        Path keyFile;
        try (var files = Files.list(dir.resolve("keyindex"))) {
            keyFile = files.filter(p -> !p.getFileName().toString().endsWith(".tmp")).findFirst().orElseThrow();
        }
        try (FileChannel ch = FileChannel.open(keyFile, StandardOpenOption.WRITE)) {
            ch.truncate(0);
        }
        Files.createFile(dir.resolve("abort"));
        try (MessageStore s = MessageStore.open(config)) {
            assertThat(s.nextOffset("t", 0)).isEqualTo(2);
            assertThat(s.lookupByKey("t", "k1", 10)).hasSize(1);
            assertThat(s.lookupByKey("t", "k2", 10)).hasSize(1);
        }
    }

    /**
     * The first page of a queue's index file made after the last checkpoint lost, its later pages
     * kept (1,000 entries a file: slots 0-203 of the file of offset 1000), after retention deleted
     * the records of the queue's file before it. The open took the entries after the lost page for
     * the file's, and the lost page's empty slots below them for entries of deleted records: the
     * queue started at 1204, and its messages 1000-1203, which recovery indexed again from the log,
     * were served to nobody (a read of 1000 said it was deleted). The open now looks for the file's
     * entries at the end the checkpoint recorded (1000, the file's first slot, empty), takes the
     * file for empty, and recovery indexes it again from its first slot.
     */
    @Test
    void aLostFirstPageOfAnIndexFileMadeAfterTheCheckpointLosesNoMessageToRetention() throws Exception {
        try (MessageStore s = MessageStore.open(thousandEntriesAFile().build())) {
            for (int i = 0; i < 1000; i++) {
                s.append(StoreTestSupport.message("t", 0, "m" + i));
            }
            appendToNextSegment(s);
        }
        Path checkpointBefore = StoreTestSupport.saveCheckpoint(dir);
        try (MessageStore s = MessageStore.open(thousandEntriesAFile().retentionBytes(64 * 1024).build())) {
            appendToNextSegment(s);
            for (int i = 1000; i < 1500; i++) {
                s.append(StoreTestSupport.message("t", 0, "m" + i));
            }
            s.awaitIndexed();
            assertThat(s.runRetention()).as("segments retention deleted (those of t/0's offsets 0-999)").isPositive();
            assertThat(s.minOffset("t", 0)).as("t/0's first offset after retention").isEqualTo(1000);
        }
        Path lastFile = dir.resolve("index").resolve("t").resolve("0").resolve(FileNames.name(1000));
        assertThat(StoreTestSupport.filesOnDisk(lastFile.getParent())).as("t/0's index files").containsExactly(1000L);
        // the power loss came before the next checkpoint: the one before the appends is on disk, the abort marker too
        StoreTestSupport.crashAfterCheckpoint(dir, checkpointBefore);
        loseFirstPage(lastFile);

        try (MessageStore s = MessageStore.open(thousandEntriesAFile().build())) {
            assertThat(s.minOffset("t", 0)).as("t/0's first offset").isEqualTo(1000);
            assertThat(s.nextOffset("t", 0)).as("t/0's end").isEqualTo(1500);
            assertThat(StoreTestSupport.readAll(s, "t", 0)).extracting(StoreTestSupport::text).hasSize(500)
                    .startsWith("m1000", "m1001").endsWith("m1499");
        }
    }

    /**
     * As above, but the file whose first page was lost is not the queue's last (files of 1000 and
     * 2000 made after the checkpoint, which recorded 500), and retention deleted the records of
     * offsets 0-999, the last checkpoint's too: the open's trim for retention took the lost page's
     * empty slots for entries of deleted records, and recovery, which indexed their records again,
     * left the queue starting at 1204 (messages 1000-1203 served to nobody). Recovery now moves a
     * queue's first offset down to a record it indexes below it.
     */
    @Test
    void aLostFirstPageOfAnEarlierIndexFileMadeAfterTheCheckpointLosesNoMessageToRetention() throws Exception {
        try (MessageStore s = MessageStore.open(thousandEntriesAFile().build())) {
            for (int i = 0; i < 500; i++) {
                s.append(StoreTestSupport.message("t", 0, "m" + i));
            }
        }
        Path checkpointBefore = StoreTestSupport.saveCheckpoint(dir);
        try (MessageStore s = MessageStore.open(thousandEntriesAFile().retentionBytes(3 * 64 * 1024).build())) {
            for (int i = 500; i < 1000; i++) {
                s.append(StoreTestSupport.message("t", 0, "m" + i));
            }
            appendToNextSegment(s);
            for (int i = 1000; i < 2500; i++) {
                s.append(StoreTestSupport.message("t", 0, "m" + i));
            }
            s.awaitIndexed();
            s.forceLog(); // the flusher's fsync (retention deletes only flushed segments); no checkpoint
            assertThat(s.runRetention()).as("segments retention deleted (those of t/0's offsets 0-999)").isPositive();
            assertThat(s.minOffset("t", 0)).as("t/0's first offset after retention").isEqualTo(1000);
        }
        Path file = dir.resolve("index").resolve("t").resolve("0").resolve(FileNames.name(1000));
        assertThat(StoreTestSupport.filesOnDisk(file.getParent())).as("t/0's index files").containsExactly(1000L, 2000L);
        // the power loss came before the next checkpoint: the one before the appends is on disk, the abort marker too
        StoreTestSupport.crashAfterCheckpoint(dir, checkpointBefore);
        loseFirstPage(file);
        try (MessageStore s = MessageStore.open(thousandEntriesAFile().build())) {
            assertThat(s.minOffset("t", 0)).as("t/0's first offset").isEqualTo(1000);
            assertThat(s.nextOffset("t", 0)).as("t/0's end").isEqualTo(2500);
            assertThat(StoreTestSupport.readAll(s, "t", 0)).extracting(StoreTestSupport::text).hasSize(1500)
                    .startsWith("m1000", "m1001").endsWith("m2499");
        }
    }

    /** Zeroes the first page of entries of an index file, as a machine crash that lost it leaves it. */
    private static void loseFirstPage(Path indexFile) throws IOException {
        try (FileChannel ch = FileChannel.open(indexFile, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(204 * OffsetIndex.ENTRY_SIZE), OffsetIndex.HEADER_SIZE);
        }
    }

    /** Segments of 64 KiB, offset-index files of 1,000 entries (a lost page holds 204). */
    private LogConfig.Builder thousandEntriesAFile() {
        return LogConfig.builder(dir).segmentBytes(64 * 1024).indexEntriesPerFile(1000).preTouch(false);
    }

    /** Appends to another queue until the log's last segment is a new one. */
    private static void appendToNextSegment(MessageStore s) {
        long segment = s.writtenOffset() / (64 * 1024);
        while (s.writtenOffset() / (64 * 1024) == segment) {
            s.append(LogMessage.builder("other", 0, new byte[4000]).build());
        }
    }

    /** Records 4..7 (bytes 4096-8191) lost, 8..11 kept, and the staging ring's pages lost too. */
    private static void loseSecondPage(Path store) throws Exception {
        try (FileChannel ch = FileChannel.open(store.resolve("commitlog").resolve(FileNames.name(0)), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4096), 4096);
        }
        Files.deleteIfExists(store.resolve("staging"));
        Files.createFile(store.resolve("abort"));
    }
}
