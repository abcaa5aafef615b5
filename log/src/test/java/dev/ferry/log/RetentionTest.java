package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.filesOnDisk;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.log.StoreTestSupport.MutableClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * Retention with an injected clock: which segment files it deletes (checked on disk), that the
 * active one survives, size-based deletion, the retention floor, how the offset indexes follow,
 * and what readers see.
 *
 * <p>Layout used throughout: 4 KiB segments and 1,000-byte bodies on topic "t", so each segment
 * holds exactly three records; segment k (base 4096 k) holds t/0 offsets 3k..3k+2, all appended at
 * time {@code T0 + k * STEP}. A segment's age is the store time of the next segment's first record.
 */
class RetentionTest {
    private static final int SEGMENT = 4096;
    private static final int BODY = 1_000;
    private static final long T0 = 1_700_000_000_000L;
    private static final long STEP = 10 * 60_000L;
    private static final long HOUR = 3_600_000L;

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(T0);

    private LogConfig.Builder config() {
        return smallConfig(dir).segmentBytes(SEGMENT).indexEntriesPerFile(4).retentionMs(HOUR)
                .retentionCheckIntervalMs(24 * HOUR) // only runRetention() deletes in these tests
                .clock(clock);
    }

    /** Appends {@code segments} full segments of t/0, segment k at T0 + k * STEP; then one record in a new active segment. */
    private List<AppendResult> fill(MessageStore store, int segments) {
        List<AppendResult> out = new ArrayList<>();
        for (int k = 0; k <= segments; k++) {
            clock.set(T0 + k * STEP);
            for (int i = 0; i < (k == segments ? 1 : 3); i++) {
                out.add(store.append(LogMessage.builder("t", 0, body(BODY, out.size())).build()));
            }
        }
        for (int i = 0; i < out.size(); i++) {
            assertThat(out.get(i).physicalOffset() / SEGMENT).as("segment of record %d (layout assumption)", i).isEqualTo(i / 3);
        }
        store.flush(); // retention only deletes flushed bytes
        return out;
    }

    /**
     * Fills segments 0-3 with t/0's offsets 0-9 (9 alone in segment 3, with other/0's first
     * record), then lets retention delete segments 0-2: t/0 keeps only offset 9.
     */
    private void expireAllButT0sLastRecord(MessageStore store) {
        fill(store, 3);
        clock.set(T0 + 3 * STEP);
        store.append(LogMessage.builder("other", 0, body(BODY, 99)).build());
        store.flush();
        clock.set(T0 + 1000 * HOUR);
        store.runRetention();
        assertThat(store.minOffset("t", 0)).isEqualTo(9);
    }

    private TreeSet<Long> segmentFiles() {
        return filesOnDisk(dir.resolve("commitlog"));
    }

    @Test
    void deletesExactlyTheExpiredSegmentsAndNeverTheActiveOne() {
        try (MessageStore store = MessageStore.open(config().build())) {
            fill(store, 4); // segments 0..3 full, segment 4 active with offset 12

            clock.set(T0 + STEP + HOUR); // segment 0 is exactly an hour old: not yet
            assertThat(store.runRetention()).as("segments deleted at exactly the limit").isZero();
            assertThat(segmentFiles()).as("segment files on disk").contains(0L, 4096L, 8192L, 12288L, 16384L);

            clock.set(T0 + STEP + HOUR + 1);
            assertThat(store.runRetention()).as("segments deleted 1 ms past the limit of segment 0").isEqualTo(1);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(0L).contains(4096L, 8192L, 12288L, 16384L);
            assertThat(store.minPhysicalOffset()).isEqualTo(4096);
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset after segment 0 went").isEqualTo(3);

            clock.set(T0 + 3 * STEP + HOUR + 1); // segments 1 and 2 expired, 3 not
            assertThat(store.runRetention()).as("segments deleted").isEqualTo(2);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(4096L, 8192L).contains(12288L, 16384L);

            clock.set(T0 + 1000 * HOUR); // everything expired: all but the active segment go
            assertThat(store.runRetention()).as("segments deleted").isEqualTo(1);
            assertThat(store.runRetention()).as("segments deleted on a second run").isZero();
            assertThat(segmentFiles()).as("segment files on disk: the active one stays").doesNotContain(12288L).contains(16384L);
            assertThat(store.minOffset("t", 0)).isEqualTo(12);
            assertThat(readAll(store, "t", 0)).as("what is left of t/0").hasSize(1)
                    .allSatisfy(m -> assertThat(m.body()).isEqualTo(body(BODY, 12)));
        }
    }

    @Test
    void sizeLimitDeletesOldestFirstUntilUnderIt() {
        try (MessageStore store = MessageStore.open(config().retentionMs(Long.MAX_VALUE).retentionBytes(3L * SEGMENT).build())) {
            fill(store, 5); // 6 segments in the log, the limit is 3
            assertThat(store.runRetention()).as("segments deleted to get under 3 segments").isEqualTo(3);
            assertThat(store.commitLogBytes()).as("commit log bytes").isLessThanOrEqualTo(3L * SEGMENT);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(0L, 4096L, 8192L)
                    .contains(12288L, 16384L, 20480L);
            assertThat(store.minOffset("t", 0)).isEqualTo(9);
            assertThat(store.runRetention()).as("second run under the limit").isZero();
        }
    }

    /**
     * A retention floor (the lowest commit-log position the store's user still needs, as the
     * broker's oldest undelivered delayed message): retention by age deletes only segments wholly
     * below it, and the rest once it moves. Floor inside segment 2, then at segment 3's first
     * byte, then none.
     */
    @Test
    void deletesByAgeOnlySegmentsWhollyBelowTheFloor() {
        AtomicLong floor = new AtomicLong(Long.MAX_VALUE);
        try (MessageStore store = MessageStore.open(config().build(), floor::get, "the test")) {
            List<AppendResult> written = fill(store, 5); // segments 0..4 full, 5 active: every limit asks for 0..3 at least
            clock.set(T0 + 1000 * HOUR);
            floor.set(written.get(7).physicalOffset()); // t/0 offset 7, in segment 2
            assertThat(store.runRetention()).as("segments deleted below a floor inside segment 2").isEqualTo(2);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(0L, 4096L).contains(8192L, 12288L, 16384L, 20480L);
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset").isEqualTo(6);
            assertThat(store.readMessage("t", 0, 7)).as("the record at the floor").get().extracting(StoredMessage::body)
                    .isEqualTo(body(BODY, 7));
            assertThat(store.runRetention()).as("segments deleted by a second pass, the floor unmoved").isZero();

            floor.set(3L * SEGMENT); // segment 3's first byte: segment 2 ends there, wholly below
            assertThat(store.runRetention()).as("segments deleted below a floor at segment 3's start").isEqualTo(1);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(8192L).contains(12288L, 16384L, 20480L);

            floor.set(Long.MAX_VALUE); // nothing needed any more: the limit alone decides
            assertThat(store.runRetention()).as("segments deleted without a floor").isEqualTo(2);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(12288L).contains(20480L);
        }
    }

    /**
     * Retention by size wins over the floor, with an ERROR: it is what keeps the disk from
     * filling, and on a full disk nothing is appended, so what holds the floor could never let go.
     */
    @Test
    void deletesBySizeEvenBelowTheFloorAndSaysWhatIsLost() {
        Logger logger = (Logger) LoggerFactory.getLogger(Retention.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        AtomicLong floor = new AtomicLong(Long.MAX_VALUE);
        try (MessageStore store = MessageStore.open(config().retentionMs(Long.MAX_VALUE).retentionBytes(2L * SEGMENT).build(),
                floor::get, "the test's oldest record")) {
            List<AppendResult> written = fill(store, 5); // segments 0..4 full, 5 active
            floor.set(written.get(7).physicalOffset()); // in segment 2
            assertThat(store.runRetention()).as("segments deleted over the size limit, the floor inside segment 2").isEqualTo(4);
            assertThat(store.commitLogBytes()).isLessThanOrEqualTo(2L * SEGMENT);
            assertThat(lines.list).filteredOn(e -> e.getLevel() == Level.ERROR).extracting(ILoggingEvent::getFormattedMessage)
                    .as("one error per segment deleted at or past the floor").hasSize(2)
                    .allSatisfy(m -> assertThat(m).contains("over retentionBytes although the test's oldest record needs commit-log"
                            + " position " + written.get(7).physicalOffset()));
        } finally {
            logger.detachAppender(lines);
        }
    }

    /**
     * While the floor holds back segments the limits ask to delete, one WARN says so, not one a
     * pass (the broker checks every 10 s, for up to the 30 days a delayed message may wait); one
     * INFO line when it no longer does.
     */
    @Test
    void warnsOnceWhileTheFloorHoldsBackSegments() {
        Logger logger = (Logger) LoggerFactory.getLogger(Retention.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        Level level = logger.getLevel();
        logger.setLevel(Level.INFO);
        AtomicLong floor = new AtomicLong(Long.MAX_VALUE);
        AtomicReference<String> holder = new AtomicReference<>("the test's start");
        try (MessageStore store = MessageStore.open(config().build(), floor::get, holder::get)) {
            List<AppendResult> written = fill(store, 4); // segments 0..3 full, 4 active
            long position = written.get(4).physicalOffset(); // t/0 offset 4, in segment 1
            floor.set(position);
            holder.set("the test's oldest record"); // asked when the warning is logged, not at open
            clock.set(T0 + 1000 * HOUR);
            for (int pass = 0; pass < 3; pass++) {
                assertThat(store.runRetention()).as("segments deleted by pass %d", pass).isEqualTo(pass == 0 ? 1 : 0);
            }
            assertThat(lines.list).filteredOn(e -> e.getLevel() == Level.WARN).extracting(ILoggingEvent::getFormattedMessage)
                    .as("warnings of three passes held back by the floor").containsExactly("retention: keeping 3 segment(s), 12288 bytes"
                            + " from segment 00000000000000004096 on, that retentionMs asks to delete: the test's oldest record needs"
                            + " commit-log position " + position + " and on (the retention floor); they are deleted once the floor moves"
                            + " past them");

            floor.set(Long.MAX_VALUE);
            assertThat(store.runRetention()).as("segments deleted once the floor is gone").isEqualTo(3);
            assertThat(lines.list).filteredOn(e -> e.getLevel() == Level.WARN).as("warnings in all").hasSize(1);
            assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).as("lines logged").contains("retention: the retention"
                    + " floor no longer holds back segments that the limits ask to delete (3 segment(s) deleted now)");
        } finally {
            logger.detachAppender(lines);
            logger.setLevel(level);
        }
    }

    @Test
    void readingBelowTheNewMinimumSaysItWasDeletedAndNamesTheEarliest() {
        try (MessageStore store = MessageStore.open(config().build())) {
            fill(store, 3);
            clock.set(T0 + 2 * STEP + HOUR + 1); // segments 0 and 1
            assertThat(store.runRetention()).isEqualTo(2);

            assertThat(filesOnDisk(dir.resolve("index/t/0"))).as("t/0 index files (4 entries each): 0 held offsets 0..3 only")
                    .doesNotContain(0L).contains(4L);
            assertThatThrownBy(() -> store.read("t", 0, 2, 10, Integer.MAX_VALUE))
                    .isInstanceOf(OffsetOutOfRangeException.class)
                    .hasMessageContaining("offset 2")
                    .hasMessageContaining("was deleted by retention")
                    .hasMessageContaining("earliest available: 6");
            long[] physical = new long[10];
            assertThatThrownBy(() -> store.readIndex("t", 0, 2, 10, physical, new int[10], new long[10]))
                    .as("index entries below the minimum").isInstanceOf(OffsetOutOfRangeException.class)
                    .extracting(e -> ((OffsetOutOfRangeException) e).earliest()).isEqualTo(6L);
            assertThat(store.readMessage("t", 0, 2)).as("one message below the minimum").isEmpty();
            try (ReadResult r = store.read("t", 0, 6, 10, Integer.MAX_VALUE)) {
                assertThat(r.minOffset()).isEqualTo(6);
                assertThat(r.messageCount()).isEqualTo(4);
                assertThat(r.message(0).body()).isEqualTo(body(BODY, 6));
                assertThat(store.readIndex("t", 0, 6, 10, physical, new int[10], new long[10])).isEqualTo(4);
                assertThat(physical[0]).as("the first entry is offset 6's").isEqualTo(r.message(0).physicalOffset());
            }
            assertThat(store.readMessage("t", 0, 6)).get().extracting(StoredMessage::body).isEqualTo(body(BODY, 6));
        }
    }

    @Test
    void aReaderKeepsItsRegionsUntilItClosesThemEvenAfterRetentionDeletedTheSegment() throws IOException {
        try (MessageStore store = MessageStore.open(config().build())) {
            List<AppendResult> written = fill(store, 3);
            ReadResult held = store.read("t", 0, 0, 3, Integer.MAX_VALUE);
            try {
                clock.set(T0 + STEP + HOUR + 1);
                assertThat(store.runRetention()).as("segments deleted under the reader").isEqualTo(1);
                assertThat(segmentFiles()).as("the file is unlinked at once").doesNotContain(0L);

                // still readable through the held regions: decoded, as a buffer and with transferTo
                assertThat(held.messageCount()).isEqualTo(3);
                for (int i = 0; i < 3; i++) {
                    assertThat(held.message(i).body()).as("held message %d", i).isEqualTo(body(BODY, i));
                }
                assertThat(held.regions()).as("three adjacent records: one region").hasSize(1);
                ByteBuffer region = held.regions().get(0).buffer();
                assertThat(region.remaining()).isEqualTo(3 * (BODY + StoreTestSupport.HEADER_FOR_TOPIC_T));
                Path copy = dir.resolve("copy");
                try (FileChannel out = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    held.regions().get(0).transferTo(out);
                }
                byte[] bytes = new byte[region.remaining()];
                region.get(bytes);
                assertThat(Files.readAllBytes(copy)).as("transferTo of a deleted segment's region").isEqualTo(bytes);
                assertThat(ByteBuffer.wrap(bytes).getInt(RecordLayout.PHYSICAL_OFFSET_OFFSET))
                        .isEqualTo((int) written.get(0).physicalOffset());
            } finally {
                held.close();
            }
            assertThatThrownBy(() -> store.read("t", 0, 0, 3, Integer.MAX_VALUE))
                    .as("a new read of the deleted range")
                    .isInstanceOf(OffsetOutOfRangeException.class)
                    .hasMessageContaining("deleted")
                    .hasMessageContaining("earliest available: 3");
            assertThat(store.readAt(written.get(0).physicalOffset())).as("readAt in the deleted segment").isEmpty();
        }
    }

    /**
     * Retention deleted the segments holding t/0's offsets 0..8, then the operator deleted the
     * offset index to rebuild it. The rebuilt queue starts at offset 9, in the middle of an index
     * file (4 entries per file: file 8 holds 8 and 9). What a user relies on: the rebuild brings
     * back 9 and the queue's end, and the next open finds the index whole (no second rebuild, which
     * an index file with empty leading slots once looked like: the queue's end was read as 8).
     */
    @Test
    void aRebuildAfterRetentionIsNotRepeatedAtTheNextOpen() throws IOException {
        try (MessageStore store = MessageStore.open(config().build())) {
            expireAllButT0sLastRecord(store);
        }
        StoreTestSupport.deleteTree(dir.resolve("index"));
        clock.set(T0 + 1001 * HOUR);
        for (int open = 0; open < 2; open++) {
            try (MessageStore store = MessageStore.open(config().build())) {
                String rebuilt = store.recoveryReport().indexesRebuilt();
                if (open == 0) {
                    assertThat(rebuilt).as("why the first open rebuilt").startsWith("queue other/0 has index entries up to offset 0");
                } else {
                    assertThat(rebuilt).as("the second open rebuilds nothing").isNull();
                }
                assertThat(store.minOffset("t", 0)).isEqualTo(9);
                assertThat(store.nextOffset("t", 0)).isEqualTo(10);
                assertThat(readAll(store, "t", 0)).extracting(StoredMessage::queueOffset).containsExactly(9L);
            }
        }
    }

    /**
     * A queue whose every record was deleted keeps its end across a reopen: the next append gets
     * the next offset, not 0 (consumers committed offsets past the deleted ones).
     */
    @Test
    void aQueueEmptiedByRetentionKeepsItsOffsetsAfterReopen() {
        try (MessageStore store = MessageStore.open(config().build())) {
            expireAllButT0sLastRecord(store);
            assertThat(store.nextOffset("t", 0)).isEqualTo(10);
        }
        clock.set(T0 + 1001 * HOUR);
        try (MessageStore store = MessageStore.open(config().build())) {
            assertThat(store.nextOffset("t", 0)).as("t/0 end after reopen").isEqualTo(10);
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset after reopen").isEqualTo(9);
            clock.set(T0 + 2000 * HOUR);
            store.append(LogMessage.builder("other", 0, body(BODY, 100)).build());
            store.append(LogMessage.builder("other", 0, body(BODY, 101)).build());
            store.append(LogMessage.builder("other", 0, body(BODY, 102)).build());
            store.flush();
            clock.set(T0 + 3000 * HOUR);
            assertThat(store.runRetention()).as("segments deleted: segment 3, t/0's last record").isEqualTo(1);
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset once all its records are gone").isEqualTo(10);
        }
        try (MessageStore store = MessageStore.open(config().build())) {
            assertThat(store.nextOffset("t", 0)).as("t/0 end after the second reopen").isEqualTo(10);
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset after the second reopen").isEqualTo(10);
            AppendResult a = store.append(LogMessage.builder("t", 0, body(BODY, 10)).build());
            assertThat(a.queueOffset()).as("queue offset of the next t/0 append").isEqualTo(10);
            assertThat(readAll(store, "t", 0)).hasSize(1);
        }
    }

    /**
     * Retention deleted t/0's offsets 0-5 (segments 0 and 1; 4 entries per index file: files 4, 8
     * and 12 remain), then a middle index file was damaged (file 8: offsets 8-11, all still in the
     * log): deleted, with the checkpoint or without one, or left with its last two entries empty,
     * as a rebuild that a crash cut short while it wrote the file again leaves it. The open notices
     * and indexes the log again; before, its retention trim took the missing or empty entries for
     * expired ones and deleted file 4 (and 8) too, so offsets 6-11 read as deleted.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"deleted", "deleted, no checkpoint", "last entries empty"})
    void aDamagedMiddleIndexFileAfterRetentionIsRebuilt(String damage) throws IOException {
        List<AppendResult> acked;
        try (MessageStore store = MessageStore.open(config().build())) {
            acked = fill(store, 5); // t/0 offsets 0..15, three per segment, 15 alone in segment 5
            clock.set(T0 + 2 * STEP + HOUR + 1);
            assertThat(store.runRetention()).as("segments deleted").isEqualTo(2);
            assertThat(store.minOffset("t", 0)).isEqualTo(6);
        }
        assertThat(FileNames.list(dir.resolve("index/t/0"))).as("t/0's index files").containsExactly(4L, 8L, 12L);
        Path file8 = dir.resolve("index/t/0/00000000000000000008");
        String expected;
        if (damage.startsWith("deleted")) {
            Files.delete(file8);
            expected = "queue t/0 had no index file 00000000000000000008 between two others (index files deleted?)";
        } else {
            try (FileChannel ch = FileChannel.open(file8, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(2 * OffsetIndex.ENTRY_SIZE), OffsetIndex.HEADER_SIZE + 2L * OffsetIndex.ENTRY_SIZE);
            }
            expected = "queue t/0 had index file 00000000000000000008 not full, before a later one (a rebuild cut short, or index "
                    + "files damaged?)";
        }
        if (damage.endsWith("no checkpoint")) {
            Files.delete(dir.resolve(Checkpoint.FILE));
        }
        for (int open = 0; open < 2; open++) {
            try (MessageStore store = MessageStore.open(config().build())) {
                String rebuilt = store.recoveryReport().indexesRebuilt();
                if (open == 0) {
                    assertThat(rebuilt).as("why the first open rebuilt").isEqualTo(expected);
                } else {
                    assertThat(rebuilt).as("the second open rebuilds nothing").isNull();
                }
                assertThat(store.minOffset("t", 0)).as("t/0 minOffset at open %d", open).isEqualTo(6);
                assertThat(store.nextOffset("t", 0)).as("t/0 end at open %d", open).isEqualTo(16);
                List<StoredMessage> read = readAll(store, "t", 0);
                assertThat(read).extracting(StoredMessage::queueOffset).containsExactly(6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L);
                for (StoredMessage m : read) {
                    assertThat(m.physicalOffset()).as("offset %d", m.queueOffset()).isEqualTo(acked.get((int) m.queueOffset()).physicalOffset());
                    assertThat(m.body()).as("offset %d", m.queueOffset()).isEqualTo(body(BODY, (int) m.queueOffset()));
                }
            }
        }
        assertThat(FileNames.list(dir.resolve("index/t/0"))).as("t/0's index files after the rebuild").containsExactly(4L, 8L, 12L);
    }

    /**
     * Retention deleted every record of t/0 (offsets 0..9), then the operator deleted index files
     * to rebuild them: the commit log holds nothing of t/0 to index, and the queue used to start
     * again at offset 0, under consumers that had committed offsets up to 10. The checkpoint
     * recorded t/0's end, and the rebuild continues the queue there: reads below 10 say they were
     * deleted, later opens keep that without rebuilding again (the second while the queue is still
     * empty), and the next append gets 10.
     */
    @ParameterizedTest(name = "deleted: {0}")
    @ValueSource(strings = {"index", "index/t", "index/t/0", "index/t/0/00000000000000000008"})
    void aQueueRetentionEmptiedContinuesAtItsEndAfterARebuild(String deleted) throws IOException {
        try (MessageStore store = MessageStore.open(config().build())) {
            fill(store, 3); // t/0 offsets 0..9; segment 3 holds 9
            clock.set(T0 + 4 * STEP);
            for (int i = 0; i < 3; i++) { // two fill segment 3, the third starts segment 4
                store.append(LogMessage.builder("other", 0, body(BODY, 100 + i)).build());
            }
            store.flush();
            clock.set(T0 + 1000 * HOUR);
            assertThat(store.runRetention()).as("segments deleted").isEqualTo(4);
            assertThat(store.minOffset("t", 0)).as("t/0 minOffset with all its records gone").isEqualTo(10);
        }
        assertThat(Files.exists(dir.resolve(deleted))).as("%s exists before it is deleted", deleted).isTrue();
        StoreTestSupport.deleteTree(dir.resolve(deleted));
        for (int open = 0; open < 3; open++) {
            try (MessageStore store = MessageStore.open(config().build())) {
                if (open == 0) {
                    assertThat(store.recoveryReport().indexesRebuilt()).as("why the first open rebuilt").isNotNull();
                } else {
                    assertThat(store.recoveryReport().indexesRebuilt()).as("open %d rebuilds nothing", open).isNull();
                }
                assertThat(store.nextOffset("t", 0)).as("t/0 end at open %d", open).isEqualTo(open < 2 ? 10 : 11);
                assertThat(store.minOffset("t", 0)).as("t/0 minOffset at open %d", open).isEqualTo(10);
                assertThatThrownBy(() -> store.read("t", 0, 9, 1, Integer.MAX_VALUE)).as("a read of offset 9")
                        .isInstanceOf(OffsetOutOfRangeException.class).hasMessageContaining("deleted");
                assertThat(readAll(store, "other", 0)).as("other/0, which kept its last record")
                        .extracting(StoredMessage::queueOffset).containsExactly(2L);
                if (open == 1) {
                    assertThat(store.append(LogMessage.builder("t", 0, body(BODY, 10)).build()).queueOffset())
                            .as("queue offset of t/0's next append").isEqualTo(10);
                }
                assertThat(readAll(store, "t", 0)).extracting(StoredMessage::queueOffset)
                        .containsExactly(open < 1 ? new Long[0] : new Long[] {10L});
            }
        }
    }

    /**
     * The queue's last index file still holds entries of deleted records, below an offset the
     * rebuild must continue at in the same file (4 entries per file: 0 and 1 deleted, continue at
     * 4): those entries are cleared, or the next open would read the queue's end as 2, at the
     * first empty slot after them.
     */
    @Test
    void aQueueContinuedInTheFileOfItsOldEntriesKeepsItsEndAtTheNextOpen() {
        Path queueDir = dir.resolve("q");
        OffsetIndex index = new OffsetIndex(queueDir, "t", 0, 4);
        try {
            index.put(0, 4096, 100, 0);
            index.put(1, 4196, 100, 0);
            index.trimBefore(8192);
            assertThat(index.minOffset()).as("min offset once both records are gone").isEqualTo(2);
            index.continueAt(4, 8192);
            assertThat(index.indexedOffset()).isEqualTo(4);
            assertThat(index.minOffset()).isEqualTo(4);
            index.force();
        } finally {
            index.close(true);
        }
        OffsetIndex reopened = new OffsetIndex(queueDir, "t", 0, 4);
        try {
            assertThat(reopened.indexedOffset()).as("end read from the file at the next open").isEqualTo(4);
            reopened.trimBefore(8192);
            assertThat(reopened.minOffset()).as("min offset at the next open, trimmed as the store does").isEqualTo(4);
        } finally {
            reopened.close(true);
        }
    }
}
