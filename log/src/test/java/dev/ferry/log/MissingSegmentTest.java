package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A commit-log segment file missing between two others: deleted by hand or lost with a disk, never
 * left so by a crash (segments are made at the end and deleted from the front, or past the end
 * from the last one down). What a user relies on: the open does not delete the segments after the
 * gap, nor serve the gap as deleted by retention; it fails, naming the missing file and what to
 * do, and deletes nothing. Deleting the segment files after the gap, as the error says, gives up
 * their records, and the store opens and takes appends again. The last segment file missing leaves
 * no gap: the open goes on, and says that records are missing.
 */
class MissingSegmentTest {
    private static final int SEGMENT = 4096;

    @TempDir
    Path dir;

    /**
     * After a clean stop recovery verifies only the last segment holding records, far past the gap:
     * the open fails all the same (else the gap's records would be read as "deleted by retention",
     * with the log's first position below them, and a reader sent back there would meet them again).
     */
    @Test
    void aMissingMiddleSegmentBelowTheScanFailsTheOpenToo() throws Exception {
        LogConfig config = smallConfig(dir).segmentBytes(SEGMENT).stagedWrites(false).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 40; i++) {
                store.append(LogMessage.builder("t", 0, body(500, i)).build());
            }
        }
        Path commitLog = dir.resolve("commitlog");
        Path missing = commitLog.resolve(FileNames.name(3L * SEGMENT));
        Files.delete(missing);
        TreeSet<Long> left = StoreTestSupport.filesOnDisk(commitLog);

        assertThatThrownBy(() -> MessageStore.open(config)).isInstanceOf(LogException.class)
                .hasMessageContaining("no segment file from " + 3L * SEGMENT + " to " + 4L * SEGMENT)
                .hasMessageContaining(missing.toString());
        assertThat(StoreTestSupport.filesOnDisk(commitLog)).as("segment files after the failed open").isEqualTo(left);
    }

    /**
     * An archive restored with a segment missing in the middle, as segment shipping leaves one when
     * retention deleted a sealed segment before it was shipped (CONNECTORS.md: {@code filesSkipped}):
     * no checkpoint, no abort marker. The open fails, and the error also offers what keeps the newer
     * records: deleting the segment files before the gap (a gap at the front is what retention
     * leaves). Done so, the store serves every record after the gap at its offset and position, and
     * takes appends after them. Before, the error offered only to give up every record after the gap.
     */
    @Test
    void aRestoreWithASegmentMissingKeepsTheRecordsAfterTheGapOnceTheFilesBeforeItAreDeleted() throws Exception {
        LogConfig config = smallConfig(dir).segmentBytes(SEGMENT).stagedWrites(false).build();
        List<AppendResult> written = new ArrayList<>();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 40; i++) { // six records a segment: seven segments
                written.add(store.append(LogMessage.builder("t", 0, body(500, i)).key("k" + i).build()));
            }
        }
        Files.delete(dir.resolve(Checkpoint.FILE)); // a restored archive has none
        Path commitLog = dir.resolve("commitlog");
        Files.delete(commitLog.resolve(FileNames.name(3L * SEGMENT)));

        assertThatThrownBy(() -> MessageStore.open(config)).isInstanceOf(LogException.class)
                .hasMessageContaining("no segment file from " + 3L * SEGMENT + " to " + 4L * SEGMENT)
                .hasMessageContaining("to keep the records after the gap and give up those before it, delete the segment files"
                        + " before " + FileNames.name(4L * SEGMENT));

        for (long base : StoreTestSupport.filesOnDisk(commitLog).headSet(4L * SEGMENT)) {
            Files.delete(commitLog.resolve(FileNames.name(base)));
        }
        try (MessageStore store = MessageStore.open(config)) {
            List<StoredMessage> all = readAll(store, "t", 0);
            assertThat(store.minOffset("t", 0)).as("first offset served").isEqualTo(24);
            assertThat(all).as("records after the gap").hasSize(16);
            for (int j = 0; j < all.size(); j++) {
                int i = 24 + j;
                assertThat(all.get(j).queueOffset()).as("offset of record %d", i).isEqualTo(i);
                assertThat(all.get(j).physicalOffset()).as("position of record %d", i).isEqualTo(written.get(i).physicalOffset());
                assertThat(all.get(j).body()).as("body of record %d", i).isEqualTo(body(500, i));
            }
            assertThat(store.lookupByKey("t", "k30", 2)).as("lookup of k30").extracting(StoredMessage::physicalOffset)
                    .containsExactly(written.get(30).physicalOffset());
            AppendResult next = store.append(LogMessage.builder("t", 0, body(500, 99)).build());
            assertThat(next.queueOffset()).as("offset of the next append").isEqualTo(40);
        }
    }

    /**
     * The last segment file missing after a clean stop: no gap, the log ends at the end of the one
     * before; what the user is told says records are missing up to where the last checkpoint had the
     * log on disk (it said nothing: "truncated 0 bytes", no reason), and appends continue there.
     */
    @Test
    void aMissingLastSegmentIsReportedAsRecordsMissing() throws Exception {
        LogConfig config = smallConfig(dir).segmentBytes(SEGMENT).stagedWrites(false).build();
        long end;
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 40; i++) {
                store.append(LogMessage.builder("t", 0, body(500, i)).build());
            }
            end = store.writtenOffset();
        }
        Path commitLog = dir.resolve("commitlog");
        for (long base : StoreTestSupport.filesOnDisk(commitLog).tailSet(end / SEGMENT * SEGMENT)) {
            Files.delete(commitLog.resolve(FileNames.name(base))); // the last one with records, and the next one made ahead
        }
        long lastKept = end / SEGMENT * SEGMENT;

        try (MessageStore store = MessageStore.open(config)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.end()).as("%s", report).isEqualTo(lastKept);
            assertThat(report.truncateReason()).as("%s", report)
                    .isEqualTo("records missing from " + lastKept + " to " + end + ", which the last checkpoint had on disk");
            assertThat(readAll(store, "t", 0)).as("records of the segments kept").hasSize((int) (lastKept / SEGMENT) * 6);
            AppendResult next = store.append(LogMessage.builder("t", 0, body(500, 99)).build());
            assertThat(next.physicalOffset()).as("position of the next append").isEqualTo(lastKept);
        }
    }

    /**
     * The store was killed (the abort marker left, the checkpoint from before the last segments were
     * written, as a kill some seconds after a checkpoint leaves them), and a middle segment file was
     * deleted before the restart: recovery, which verifies the log from the checkpoint on, crosses the
     * gap.
     */
    @Test
    void aMissingMiddleSegmentFailsTheOpenInsteadOfDeletingTheSegmentsAfterIt() throws Exception {
        LogConfig config = smallConfig(dir).segmentBytes(SEGMENT).stagedWrites(false).build();
        List<AppendResult> written = new ArrayList<>();
        Path checkpoint = dir.resolve(Checkpoint.FILE);
        byte[] early = null;
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 40; i++) { // six records a segment: seven segments
                written.add(store.append(LogMessage.builder("t", 0, body(500, i)).build()));
                if (i == 4) {
                    store.flush(); // a checkpoint in the first segment
                    early = Files.readAllBytes(checkpoint);
                }
            }
        }
        Files.write(checkpoint, early);
        Files.createFile(dir.resolve("abort"));
        Path commitLog = dir.resolve("commitlog");
        Path missing = commitLog.resolve(FileNames.name(3L * SEGMENT));
        Files.delete(missing);
        TreeSet<Long> left = StoreTestSupport.filesOnDisk(commitLog);

        assertThatThrownBy(() -> MessageStore.open(config)).isInstanceOf(LogException.class)
                .hasMessageContaining("no segment file from " + 3L * SEGMENT + " to " + 4L * SEGMENT)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("Restore the missing segment file");
        assertThat(StoreTestSupport.filesOnDisk(commitLog)).as("segment files after the failed open").isEqualTo(left);

        // giving up the records from the gap on, as the error says
        for (long base : left.tailSet(4L * SEGMENT)) {
            Files.delete(commitLog.resolve(FileNames.name(base)));
        }
        try (MessageStore store = MessageStore.open(config)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.end()).as("%s", report).isEqualTo(3L * SEGMENT);
            List<StoredMessage> all = readAll(store, "t", 0);
            assertThat(all).as("records before the gap").hasSize(18);
            for (int i = 0; i < all.size(); i++) {
                assertThat(all.get(i).physicalOffset()).as("position of record %d", i).isEqualTo(written.get(i).physicalOffset());
                assertThat(all.get(i).body()).as("body of record %d", i).isEqualTo(body(500, i));
            }
            AppendResult next = store.append(LogMessage.builder("t", 0, body(500, 99)).build());
            assertThat(next.queueOffset()).as("offset of the next append").isEqualTo(18);
            assertThat(store.readMessages("t", 0, 18, 1).get(0).body()).as("body read back").isEqualTo(body(500, 99));
        }
    }
}
