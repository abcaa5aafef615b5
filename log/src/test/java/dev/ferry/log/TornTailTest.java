package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damage at the end of the commit log and in offset-index files, then a reopen: recovery cuts the
 * log at the last whole record (reporting how many bytes and which check failed), rebuilds the
 * index entries, reads return exactly the good records, and appends continue at the cut.
 *
 * <p>The store is closed cleanly and then damaged with the files at rest; the abort marker is put
 * back (a crash) unless the case says otherwise. Recovery always verifies the last segment that
 * holds data, so a torn tail is found after a clean stop too: both cases are checked.
 *
 * <p>The store writes through its mappings here ({@code stagedWrites(false)}): with staged writes
 * recovery would first restore a damaged tail from the staging ring when the ring still holds it;
 * {@code StagedWritesTest} covers that, and a tail damaged in both places.
 */
class TornTailTest {
    private static final int SEGMENT = 4096;
    private static final int BODY = 500;
    private static final byte[] APPENDED = body(123, 9_999);

    @TempDir
    Path dir;

    private LogConfig config() {
        return smallConfig(dir).segmentBytes(SEGMENT).indexEntriesPerFile(10).stagedWrites(false).build();
    }

    /** Appends {@code n} messages to t/0 (bodies of 500 B: six per 4 KiB segment); returns where they landed. */
    private List<AppendResult> fill(MessageStore store, int n) {
        List<AppendResult> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(store.append(LogMessage.builder("t", 0, body(BODY, i)).build()));
        }
        return out;
    }

    @ParameterizedTest(name = "abort marker left: {0}")
    @ValueSource(booleans = {true, false})
    void garbledLastRecordIsCutAndAppendsContinueThere(boolean crashed) throws IOException {
        List<AppendResult> written;
        try (MessageStore store = MessageStore.open(config())) {
            written = fill(store, 20);
        }
        AppendResult last = written.get(19);
        // flip the last 10 bytes of the last record's body
        byte[] tail = readLog(last.physicalOffset() + last.size() - 10, 10);
        for (int i = 0; i < tail.length; i++) {
            tail[i] ^= (byte) 0xFF;
        }
        writeLog(last.physicalOffset() + last.size() - 10, tail);
        markCrashed(crashed);

        try (MessageStore store = MessageStore.open(config())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.crashed()).as("report %s", report).isEqualTo(crashed);
            assertThat(report.end()).as("recovery end = start of the garbled record: %s", report).isEqualTo(last.physicalOffset());
            assertThat(report.truncatedBytes()).as("bytes zeroed: %s", report).isBetween(1L, (long) last.size());
            assertThat(report.truncateReason()).as("reason names the failed check").startsWith("crc");
            assertGood(store, 19);
            assertAppendContinuesAt(store, 19, last.physicalOffset());
        }
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().truncatedBytes()).as("second open after the repair: %s", store.recoveryReport())
                    .isZero();
            List<StoredMessage> all = readAll(store, "t", 0);
            assertThat(all).as("t/0 after the second open: 19 good records and the one appended after the cut").hasSize(20);
            assertThat(all.get(18).body()).as("body of record 18").isEqualTo(body(BODY, 18));
            assertThat(all.get(19).body()).as("body of the record appended after the cut").isEqualTo(APPENDED);
        }
    }

    /** {@code kept}: bytes of a copied record header written past the end; {@code check}: the check that fails. */
    @ParameterizedTest(name = "{0} bytes of a record after the last one: fails {1}")
    @CsvSource({"4, magic", "8, version", "40, crc", "300, crc"})
    void partialRecordAfterTheLastOneIsZeroed(int kept, String check) throws IOException {
        List<AppendResult> written;
        long end;
        try (MessageStore store = MessageStore.open(config())) {
            written = fill(store, 8);
            end = store.writtenOffset();
        }
        AppendResult last = written.get(7);
        ByteBuffer partial = ByteBuffer.wrap(readLog(last.physicalOffset(), last.size()));
        partial.putLong(RecordLayout.PHYSICAL_OFFSET_OFFSET, end);
        byte[] bytes = new byte[kept];
        partial.get(0, bytes);
        if (kept == 8) {
            bytes[RecordLayout.VERSION_OFFSET] = 0; // length and magic made it, the rest did not
        }
        writeLog(end, bytes);
        markCrashed(true);

        try (MessageStore store = MessageStore.open(config())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.end()).as("recovery end: %s", report).isEqualTo(end);
            assertThat(report.truncatedBytes()).as("bytes zeroed: %s", report).isPositive().isLessThanOrEqualTo(kept);
            assertThat(report.truncateReason()).as("reason names the failed check: %s", report).startsWith(check);
            assertGood(store, 8);
            assertAppendContinuesAt(store, 8, end);
        }
    }

    @Test
    void garbledLastIndexEntryIsRebuiltFromTheLog() throws IOException {
        try (MessageStore store = MessageStore.open(config())) {
            fill(store, 25);
        }
        // entry of offset 24 lies in index file 20, slot 4: point it somewhere wrong
        Path index = dir.resolve("index/t/0").resolve(FileNames.name(20));
        ByteBuffer entry = ByteBuffer.allocate(OffsetIndex.ENTRY_SIZE);
        entry.putLong(1234).putInt(777).putLong(42).flip();
        write(index, OffsetIndex.HEADER_SIZE + 4 * OffsetIndex.ENTRY_SIZE, entry.array());
        markCrashed(true);

        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().truncatedBytes()).as("the log is intact: %s", store.recoveryReport()).isZero();
            assertGood(store, 25);
            assertAppendContinuesAt(store, 25, store.writtenOffset());
        }
    }

    /**
     * The last index file was cut short ({@code keptBytes}: to nothing, into its header, or to three
     * of its ten entries) while the records it indexed lie in older segments than the last one,
     * below the checkpoint.
     */
    @ParameterizedTest(name = "index file cut to {0} bytes")
    @ValueSource(longs = {0, 7, OffsetIndex.HEADER_SIZE + 3L * OffsetIndex.ENTRY_SIZE})
    void truncatedIndexFileIsRebuiltFromTheLog(long keptBytes) throws IOException {
        try (MessageStore store = MessageStore.open(config())) {
            fill(store, 30);
            for (int i = 0; i < 20; i++) { // more segments of another queue after t/0's records
                store.append(LogMessage.builder("u", 0, body(BODY, 100 + i)).build());
            }
        }
        Path index = dir.resolve("index/t/0").resolve(FileNames.name(20));
        try (FileChannel ch = FileChannel.open(index, StandardOpenOption.WRITE)) {
            ch.truncate(keptBytes);
        }
        markCrashed(true);

        try (MessageStore store = MessageStore.open(config())) {
            assertGood(store, 30);
            assertAppendContinuesAt(store, 30, store.writtenOffset());
        }
        try (MessageStore store = MessageStore.open(config())) { // the rebuilt file (its header too) lasts
            assertThat(store.nextOffset("t", 0)).as("t/0 end after another reopen").isEqualTo(31);
            assertThat(readAll(store, "t", 0)).as("t/0 records after another reopen").hasSize(31);
        }
    }

    /**
     * A crash right after an index file was created and before its first entry was written: the
     * record it was for is whole in the log, past the checkpoint. The queue must keep its older
     * entries (not restart at 0 or at the re-indexed record).
     */
    @Test
    void emptyLastIndexFileKeepsTheQueuesEarlierEntries() throws IOException {
        List<AppendResult> written;
        try (MessageStore store = MessageStore.open(config())) {
            written = fill(store, 10); // fills index file 0 exactly
            for (int i = 0; i < 20; i++) {
                store.append(LogMessage.builder("u", 0, body(BODY, 100 + i)).build());
            }
            written.add(store.append(LogMessage.builder("t", 0, body(BODY, 10)).build())); // creates index file 10
        }
        Path index = dir.resolve("index/t/0").resolve(FileNames.name(10));
        write(index, OffsetIndex.HEADER_SIZE, new byte[OffsetIndex.ENTRY_SIZE]);
        // the last checkpoint before the crash was taken before that record
        long before = written.get(10).physicalOffset();
        new Checkpoint(before, before, 0, -1, java.util.Map.of(), false).write(dir); // records no index ends
        markCrashed(true);

        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset after recovery").isZero();
            assertGood(store, 11);
            assertAppendContinuesAt(store, 11, store.writtenOffset());
        }
    }

    /**
     * A batch that reserved its index entries across a file boundary and was then refused (a full
     * disk) leaves the next index file created but empty, after a file that is not full. At the next
     * open the queue must end where its last entry is, not at that file's base.
     */
    @Test
    void emptyNextIndexFileAfterAFileThatIsNotFullIsDropped() throws IOException {
        try (MessageStore store = MessageStore.open(config())) {
            fill(store, 7);
        }
        Path empty = dir.resolve("index/t/0").resolve(FileNames.name(10));
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(OffsetIndex.HEADER_SIZE + 10 * OffsetIndex.ENTRY_SIZE);
        header.putInt(OffsetIndex.MAGIC).putShort(OffsetIndex.VERSION).putShort((short) 0).putLong(10);
        Files.write(empty, header.array());

        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().truncatedBytes()).as("bytes truncated").isZero();
            assertThat(store.recoveryReport().scanFrom()).as("where the scan after a clean stop started: the last segment, "
                    + "not the start of the log (the empty file made the index look damaged)").isGreaterThan(0);
            assertGood(store, 7);
            assertAppendContinuesAt(store, 7, store.writtenOffset());
        }
        assertThat(empty).as("the empty index file").doesNotExist();
    }

    /** t/0 holds exactly the bodies 0..n-1, at offsets 0..n-1, each passing its CRC. */
    private static void assertGood(MessageStore store, int n) {
        assertThat(store.minOffset("t", 0)).as("t/0 minOffset").isZero();
        assertThat(store.nextOffset("t", 0)).as("t/0 nextOffset").isEqualTo(n);
        List<StoredMessage> all = readAll(store, "t", 0);
        assertThat(all).as("t/0 records").hasSize(n);
        for (int i = 0; i < n; i++) {
            StoredMessage m = all.get(i);
            assertThat(m.queueOffset()).as("queue offset of record %d", i).isEqualTo(i);
            assertThat(m.body()).as("body of record %d", i).isEqualTo(body(BODY, i));
            assertThat(store.readAt(m.physicalOffset())).as("record %d passes its checks", i).isPresent();
        }
    }

    private static void assertAppendContinuesAt(MessageStore store, long queueOffset, long physicalOffset) {
        byte[] b = APPENDED;
        AppendResult a = store.append(LogMessage.builder("t", 0, b).build());
        assertThat(a.queueOffset()).as("queue offset of the first append after recovery").isEqualTo(queueOffset);
        assertThat(a.physicalOffset()).as("position of the first append after recovery").isEqualTo(physicalOffset);
        List<StoredMessage> back = store.readMessages("t", 0, queueOffset, 10);
        assertThat(back).as("read back of the append").hasSize(1);
        assertThat(back.get(0).body()).as("body read back").isEqualTo(b);
    }

    private void markCrashed(boolean crashed) throws IOException {
        if (crashed) {
            Files.createFile(dir.resolve("abort"));
        }
    }

    private byte[] readLog(long physicalOffset, int length) throws IOException {
        Path segment = segmentOf(physicalOffset);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            ch.read(b, physicalOffset - Long.parseLong(segment.getFileName().toString()));
            return b.array();
        }
    }

    private void writeLog(long physicalOffset, byte[] bytes) throws IOException {
        Path segment = segmentOf(physicalOffset);
        write(segment, physicalOffset - Long.parseLong(segment.getFileName().toString()), bytes);
    }

    private Path segmentOf(long physicalOffset) {
        long base = StoreTestSupport.filesOnDisk(dir.resolve("commitlog")).floor(physicalOffset);
        return dir.resolve("commitlog").resolve(FileNames.name(base));
    }

    private static void write(Path file, long position, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), position);
        }
    }
}
