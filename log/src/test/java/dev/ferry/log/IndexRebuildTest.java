package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An operator who deletes index files while the store is stopped (to rebuild them, or by
 * mistake) gets them back from the commit log at the next open: every message of every queue is
 * readable again at its own offset, found by its key, and new appends continue each queue's
 * offsets. The commit log is the only source of truth; indexes are derived data (as Kafka
 * rebuilds a deleted index). The checkpoint records what the indexes held; less at open means
 * files were lost, and recovery indexes the whole log again.
 *
 * <p>The log spans many segments and the checkpoint is near its end, so the recovery scan would
 * normally start far past the first records: the deleted index must make it start at the log's
 * first segment. Deleted: a queue's directory, a topic's, the whole offset index, the whole key
 * index, a queue's last index file (1,000 entries per queue, 100 per file), the last key file
 * (the state a rebuild cut short by a crash leaves: a prefix of the index and the old
 * checkpoint), the directory of a queue idle since the log's first segment, and a middle index
 * file of a queue (nothing a checkpoint counts is short then: the gap between two files tells).
 * Not covered (and documented so in docs/OPERATIONS.md): a queue's first index files alone, which
 * look like what retention leaves.
 */
class IndexRebuildTest {
    private static final int RECORDS = 3_000;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "deleted: {0}")
    @ValueSource(strings = {"index/t/1", "index/t", "index", "keyindex", "index/t/0/00000000000000000900", "keyindex:last",
            "index/idle/0", "index/t/0/00000000000000000500"})
    void deletedIndexFilesAreRebuiltFromTheCommitLog(String deleted) throws IOException {
        LogConfig config = smallConfig(dir).build();
        List<List<AppendResult>> acked = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try (MessageStore store = MessageStore.open(config)) {
            store.append(LogMessage.builder("idle", 0, StoreTestSupport.body(10, -1)).build()); // then nothing more
            store.append(LogMessage.builder("idle", 0, StoreTestSupport.body(10, -2)).build());
            for (int i = 0; i < RECORDS; i++) {
                int which = i % 3;
                String topic = which == 2 ? "u" : "t";
                int queue = which == 2 ? 0 : which;
                acked.get(which).add(store.append(LogMessage.builder(topic, queue, StoreTestSupport.body(100 + i % 50, i))
                        .key("k" + i).build()));
            }
        }
        assertThat(StoreTestSupport.filesOnDisk(dir.resolve("commitlog"))).as("segments").hasSizeGreaterThan(4);
        if (deleted.endsWith(":last")) {
            Path d = dir.resolve(deleted.substring(0, deleted.length() - ":last".length()));
            List<Long> files = FileNames.list(d);
            deleteTree(d.resolve(FileNames.name(files.get(files.size() - 1))));
        } else {
            deleteTree(dir.resolve(deleted));
        }

        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().scanFrom()).as("the scan started at the log's start").isZero();
            assertThat(store.recoveryReport().indexesRebuilt()).as("why the indexes were rebuilt").isNotNull();
            if (deleted.equals("index/t/0/00000000000000000500")) {
                assertThat(store.recoveryReport().indexesRebuilt()).as("why the indexes were rebuilt")
                        .startsWith("queue t/0 had no index file 00000000000000000500 between two others");
            }
            assertThat(readAll(store, "idle", 0)).extracting(StoredMessage::queueOffset).containsExactly(0L, 1L);
            assertThat(store.append(LogMessage.builder("idle", 0, new byte[1]).build()).queueOffset())
                    .as("the idle queue's next offset").isEqualTo(2);
            String[] topics = {"t", "t", "u"};
            int[] queues = {0, 1, 0};
            for (int which = 0; which < 3; which++) {
                List<StoredMessage> read = readAll(store, topics[which], queues[which]);
                assertThat(store.minOffset(topics[which], queues[which])).as("min offset of %s/%d", topics[which], queues[which])
                        .isZero();
                assertThat(read).as("%s/%d after deleting %s", topics[which], queues[which], deleted)
                        .hasSameSizeAs(acked.get(which));
                for (int n = 0; n < read.size(); n++) {
                    int i = n * 3 + which;
                    assertThat(read.get(n).queueOffset()).isEqualTo(n);
                    assertThat(read.get(n).body()).isEqualTo(StoreTestSupport.body(100 + i % 50, i));
                }
            }
            for (int i : new int[] {0, 1, 2, RECORDS / 2, RECORDS - 1}) {
                String topic = i % 3 == 2 ? "u" : "t";
                assertThat(store.lookupByKey(topic, "k" + i, 10)).as("key k%d", i)
                        .extracting(StoredMessage::physicalOffset)
                        .containsExactly(acked.get(i % 3).get(i / 3).physicalOffset());
            }
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().indexesRebuilt()).as("the open after the rebuild rebuilds nothing").isNull();
            assertThat(readAll(store, "t", 0)).as("t/0 at the open after the rebuild").hasSameSizeAs(acked.get(0));
        }
    }

    /**
     * Nothing deleted, a clean stop: the next opens scan only the last segment, not the whole log.
     * The store has what must not look like missing index data: keyed messages (the key index's
     * end, recorded exactly), queues created and never written, a sparse queue id (only queue 5 of
     * topic s), a queue whose last index file is full.
     */
    @Test
    void withNothingDeletedTheNextOpenDoesNotScanTheWholeLog() {
        LogConfig config = smallConfig(dir).build();
        try (MessageStore store = MessageStore.open(config)) {
            store.createQueues("empty", 4);
            for (int i = 0; i < RECORDS; i++) {
                LogMessage.Builder b = LogMessage.builder("t", i % 2, StoreTestSupport.body(100, i));
                store.append(i % 3 == 0 ? b.key("k" + i).build() : b.build());
            }
            for (int i = 0; i < 100; i++) { // one full index file
                store.append(LogMessage.builder("s", 5, StoreTestSupport.body(10, i)).build());
            }
        }
        for (int open = 0; open < 2; open++) {
            try (MessageStore store = MessageStore.open(config)) {
                assertThat(store.recoveryReport().scanFrom()).as("scan start at open %d", open + 2)
                        .isGreaterThan(4L * config.segmentBytes());
                assertThat(store.recoveryReport().recordsScanned()).isLessThan(RECORDS / 4);
                assertThat(store.recoveryReport().indexesRebuilt()).isNull();
                assertThat(readAll(store, "t", 1)).hasSize(RECORDS / 2);
            }
        }
    }

    /**
     * The state a crash during a rebuild leaves: the checkpoint flagged "rebuilding" (written
     * before the rebuild began) and indexes that may look whole. The next open rebuilds again,
     * whatever the indexes look like, and clears the flag.
     */
    @Test
    void aRebuildCutShortByACrashRunsAgainAtTheNextOpen() {
        LogConfig config = smallConfig(dir).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < RECORDS; i++) {
                store.append(LogMessage.builder("t", 0, StoreTestSupport.body(100, i)).key("k" + i).build());
            }
        }
        Checkpoint.read(dir).orElseThrow().rebuildingOne().write(dir);
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().indexesRebuilt()).isEqualTo("a rebuild of the indexes was cut short");
            assertThat(store.recoveryReport().scanFrom()).isZero();
            assertThat(readAll(store, "t", 0)).hasSize(RECORDS);
        }
        assertThat(Checkpoint.read(dir).orElseThrow().rebuilding()).as("the flag after a whole rebuild").isFalse();
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().indexesRebuilt()).isNull();
        }
    }

    /**
     * A child JVM opens a store whose offset and key indexes were deleted, and is killed with
     * SIGKILL while it rebuilds them (once the checkpoint carries the rebuild flag, before its open
     * returned). What a user relies on: the next open rebuilds again, every message is readable at
     * its offset and found by its key, and the open after that rebuilds nothing.
     */
    @Test
    void aRebuildKilledHalfwayIsDoneAgainAtTheNextOpen() throws Exception {
        int records = 30_000;
        LogConfig config = RebuildingOpener.config(dir);
        List<AppendResult> acked = new ArrayList<>();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < records; i++) {
                acked.add(store.append(LogMessage.builder("t", i % 4, StoreTestSupport.body(200, i)).key("k" + i).build()));
            }
        }
        deleteTree(dir.resolve("index"));
        deleteTree(dir.resolve("keyindex"));

        Process child = StoreTestSupport.childJvm(RebuildingOpener.class, dir.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).redirectOutput(dir.resolve("child.out").toFile()).start();
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            // halfway: the flag is set and t/0's index has 20 of its 75 files
            while (!Checkpoint.read(dir).map(Checkpoint::rebuilding).orElse(false) || indexFiles() < 20) {
                assertThat(child.isAlive()).as("child alive while waiting for the rebuild to get halfway").isTrue();
                assertThat(System.nanoTime()).as("time waiting for the rebuild to get halfway").isLessThan(until);
                Thread.sleep(1);
            }
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        String out = Files.readString(dir.resolve("child.out"), StandardCharsets.US_ASCII);
        assertThat(out).as("the child's open had not returned when it was killed").doesNotContain("OPENED");
        assertThat(child.exitValue()).as("exit status (137: SIGKILL)").isEqualTo(128 + 9);
        assertThat(indexFiles()).as("t/0's index files when the child was killed").isLessThan(records / 4 / 100);

        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().indexesRebuilt()).as("why the indexes were rebuilt").isNotNull();
            for (int q = 0; q < 4; q++) {
                List<StoredMessage> read = readAll(store, "t", q);
                assertThat(read).as("t/%d", q).hasSize(records / 4);
                for (int n = 0; n < read.size(); n++) {
                    int i = n * 4 + q;
                    assertThat(read.get(n).queueOffset()).isEqualTo(n);
                    assertThat(read.get(n).body()).isEqualTo(StoreTestSupport.body(200, i));
                }
            }
            for (int i = 0; i < records; i += 997) {
                assertThat(store.lookupByKey("t", "k" + i, 10)).as("key k%d", i).extracting(StoredMessage::physicalOffset)
                        .containsExactly(acked.get(i).physicalOffset());
            }
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().indexesRebuilt()).as("the open after the rebuild").isNull();
        }
    }

    /**
     * A rebuild reads the whole log, also what the last checkpoint had forced to disk long ago. A
     * record that fails there is damage, not a crash's torn tail: the open fails with an error that
     * names the segment and says what to do, and deletes nothing (truncating there would delete
     * every later segment). Deleting the checkpoint, as the error says, gives up the rest.
     */
    @Test
    void aDamagedOldRecordFailsTheRebuildInsteadOfTruncatingTheLog() throws IOException {
        LogConfig config = smallConfig(dir).build();
        for (int run = 0; run < 2; run++) { // the damaged record is from the first run: not in the staging ring of the last
            try (MessageStore store = MessageStore.open(config)) {
                for (int i = 0; i < RECORDS / 2; i++) {
                    store.append(LogMessage.builder("t", 0, StoreTestSupport.body(100, i)).build());
                }
            }
        }
        java.util.TreeSet<Long> segments = StoreTestSupport.filesOnDisk(dir.resolve("commitlog"));
        Path first = dir.resolve("commitlog").resolve(FileNames.name(segments.first()));
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(first, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) 0xBA, (byte) 0xD0}), 5_000); // inside an early record
        }
        deleteTree(dir.resolve("index"));

        assertThatThrownBy(() -> MessageStore.open(config)).isInstanceOf(LogException.class)
                .hasMessageContaining(first.toString()).hasMessageContaining("damaged").hasMessageContaining("checkpoint");
        assertThat(StoreTestSupport.filesOnDisk(dir.resolve("commitlog"))).as("segments after the failed open").isEqualTo(segments);

        Files.delete(dir.resolve(Checkpoint.FILE));
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().truncateReason()).isNotEmpty();
            assertThat(store.writtenOffset()).isLessThan(5_000);
        }
    }

    /** Files in t/0's offset-index directory (0 while there is none). */
    private long indexFiles() throws IOException {
        Path q = dir.resolve("index/t/0");
        if (!Files.isDirectory(q)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(q)) {
            return files.count();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        assertThat(root).exists();
        StoreTestSupport.deleteTree(root);
    }
}
