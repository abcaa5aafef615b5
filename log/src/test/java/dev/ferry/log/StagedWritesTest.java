package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Staged writes ({@link StagingRing}): what is appended sits in the ring until a commit copies it
 * into the segment files. What a user relies on: an append that returned survives a kill -9 of the
 * process even if nothing was committed yet, byte-equal and in order, across the ring's end and a
 * segment's end; a damaged ring never brings back anything but whole records of the last run;
 * every read sees what was appended before it, wherever the record lies in the ring.
 */
class StagedWritesTest {
    @TempDir
    Path tmp;

    /** A killed writer's records were only in the ring (the segment files hold zeros there): recovery restores all of them. */
    @Test
    void everythingAppendedSurvivesAKillBeforeAnyCommit() throws Exception {
        Path dir = tmp.resolve("store");
        long before = appendUntil(dir, 0, 900_000);
        Held held = runAndKill(dir, before, 1_120_000);
        assertThat(held.offsets).as("records the killed writer acknowledged").hasSizeGreaterThan(50);
        long firstHeld = held.positions.get(0);
        assertThat(firstHeld).as("the held records start before a segment's end and the ring's end (1 MiB)")
                .isLessThan(1_000_000);
        assertThat(held.positions.get(held.positions.size() - 1)).as("and end past both").isGreaterThan(1L << 20);
        assertThat(segmentBytes(dir, firstHeld, 64)).as("segment file where the first held record goes: nothing committed")
                .containsOnly((byte) 0);

        try (MessageStore store = MessageStore.open(HoldingWriter.config(dir))) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.crashed()).as("%s", report).isTrue();
            assertThat(report.recordsRestored()).as("records restored from the ring: %s", report).isEqualTo(held.offsets.size());
            assertThat(report.truncatedBytes()).as("%s", report).isZero();
            assertThat(report.scanFrom()).as("scan start: the last segment holding data, not the log's start (index entries"
                    + " of records only in the ring are no damage): %s", report).isEqualTo(9L * HoldingWriter.SEGMENT);
            assertRecords(store, before + held.offsets.size(), held);
            // appends go on after the restored records
            AppendResult next = store.append(HoldingWriter.message(before + held.offsets.size()));
            assertThat(next.queueOffset()).isEqualTo(before + held.offsets.size());
        }
        try (MessageStore store = MessageStore.open(HoldingWriter.config(dir))) {
            assertThat(store.recoveryReport().recordsRestored()).as("second open: nothing left to restore").isZero();
            assertRecords(store, before + held.offsets.size() + 1, held);
        }
    }

    /**
     * A ring damaged at rest (a machine crash can leave it so): recovery restores the whole records
     * before the damage and nothing from there on, though later records in the ring are whole.
     */
    @Test
    void aDamagedRingRestoresOnlyTheWholeRecordsBeforeTheDamage() throws Exception {
        Path dir = tmp.resolve("store");
        long before = appendUntil(dir, 0, 900_000);
        Held held = runAndKill(dir, before, 1_120_000);
        int damaged = held.offsets.size() / 2;
        long at = held.positions.get(damaged) + 200; // inside the record's body
        try (FileChannel ring = FileChannel.open(dir.resolve(StagingRing.FILE), StandardOpenOption.WRITE)) {
            int ringBytes = HoldingWriter.config(dir).stagingRingBytes();
            ring.write(ByteBuffer.wrap(new byte[] {0x55, 0x55, 0x55}), StagingRing.HEADER + (at & (ringBytes - 1)));
        }
        try (MessageStore store = MessageStore.open(HoldingWriter.config(dir))) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.recordsRestored()).as("restored: those before the damaged one: %s", report).isEqualTo(damaged);
            assertThat(report.end()).as("the log ends where the damaged record began: %s", report)
                    .isEqualTo(held.positions.get(damaged));
            List<StoredMessage> all = readAll(store, HoldingWriter.TOPIC, 0);
            assertThat(all).as("records served").hasSize((int) before + damaged);
            for (int i = 0; i < all.size(); i++) {
                assertThat(all.get(i).body()).as("body of record %d", i).isEqualTo(bytes(HoldingWriter.message(i)));
            }
        }
    }

    /** A segment's tail damaged at rest after a clean stop, while the ring still holds it: recovery writes it back. */
    @Test
    void aDamagedSegmentTailIsWrittenBackFromTheRing() throws IOException {
        Path dir = tmp.resolve("store");
        List<AppendResult> written = new ArrayList<>();
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            for (int i = 0; i < 40; i++) {
                written.add(store.append(HoldingWriter.message(i)));
            }
        }
        AppendResult last = written.get(written.size() - 1);
        Path segment = dir.resolve("commitlog").resolve(FileNames.name(last.physicalOffset() / (64 * 1024) * (64 * 1024)));
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[20]), last.physicalOffset() - (last.physicalOffset() / (64 * 1024) * (64 * 1024)) + 100);
        }
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.recordsRestored()).as("%s", report).isEqualTo(1);
            assertThat(report.end()).as("%s", report).isEqualTo(last.physicalOffset() + last.size());
            List<StoredMessage> all = readAll(store, HoldingWriter.TOPIC, 0);
            assertThat(all).hasSize(40);
            assertThat(all.get(39).body()).isEqualTo(bytes(HoldingWriter.message(39)));
        }
    }

    /**
     * A block in the middle of the last segment reads as zeros after a clean stop (a disk fault),
     * and the ring, zeroed at the open since, no longer holds it: the log ends there, the records
     * after it go too, and the report says records are missing. Staged writes do not zero ahead of
     * the appender, so those records stayed in the segment file: an append that ended exactly where
     * one of them began made the next open scan on into them, and a queue got its old record back
     * in place of the one just acknowledged at the same offset.
     */
    @Test
    void recordsAfterAZeroedBlockDoNotComeBackAfterTheNextAppend() throws IOException {
        Path dir = tmp.resolve("store");
        LogConfig config = smallConfig(dir).build();
        List<AppendResult> written = new ArrayList<>();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 25; i++) {
                written.add(store.append(LogMessage.builder("t", i % 2, StoreTestSupport.body(500, i)).build()));
            }
        }
        MessageStore.open(config).close(); // the ring is zeroed at an open: it no longer holds the records
        AppendResult zeroed = written.get(20); // t/0 offset 10; t/1 offset 10 follows it
        try (FileChannel ch = FileChannel.open(dir.resolve("commitlog").resolve(FileNames.name(0)), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(zeroed.size()), zeroed.physicalOffset());
        }
        byte[] acknowledged = StoreTestSupport.body(500, 1_000);
        try (MessageStore store = MessageStore.open(config)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.end()).as("%s", report).isEqualTo(zeroed.physicalOffset());
            assertThat(report.truncateReason()).as("%s", report).startsWith("records missing from " + zeroed.physicalOffset());
            AppendResult a = store.append(LogMessage.builder("t", 1, acknowledged).build());
            assertThat(a.queueOffset()).as("t/1 offset of the append").isEqualTo(10);
            assertThat(a.physicalOffset() + a.size()).as("the append ends where the old t/1 offset 10 began")
                    .isEqualTo(written.get(21).physicalOffset());
        }
        try (MessageStore store = MessageStore.open(config)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.end()).as("%s", report).isEqualTo(written.get(21).physicalOffset());
            assertThat(store.nextOffset("t", 0)).as("t/0 end").isEqualTo(10);
            assertThat(store.nextOffset("t", 1)).as("t/1 end").isEqualTo(11);
            assertThat(store.readMessages("t", 1, 10, 5)).as("t/1 from offset 10").hasSize(1)
                    .extracting(StoredMessage::body).containsExactly(acknowledged);
        }
    }

    /**
     * Four laps of a 1 MiB ring, records of 700 B to 2.7 KB, some across the ring's end and some
     * rolled over to a next segment: each is read back right after its append (the read commits
     * it), then all of them, and again after a reopen.
     */
    @Test
    void everyRecordReadsBackRightAfterItsAppendAcrossTheRingsEnd() {
        Path dir = tmp.resolve("store");
        LogConfig config = smallConfig(dir).segmentBytes(HoldingWriter.SEGMENT).build();
        assertThat(config.stagingRingBytes()).as("ring of this configuration").isEqualTo(1 << 20);
        int n = 0;
        int acrossTheEnd = 0;
        try (MessageStore store = MessageStore.open(config)) {
            while (store.writtenOffset() < 4L << 20) {
                AppendResult r = store.append(HoldingWriter.message(n));
                if ((r.physicalOffset() >>> 20) != ((r.physicalOffset() + r.size() - 1) >>> 20)) {
                    acrossTheEnd++;
                }
                List<StoredMessage> got = store.readMessages(HoldingWriter.TOPIC, 0, n, 1);
                assertThat(got).as("record %d read right after its append", n).hasSize(1);
                assertThat(got.get(0).body()).as("body of record %d", n).isEqualTo(bytes(HoldingWriter.message(n)));
                n++;
            }
            assertThat(acrossTheEnd).as("records that wrapped around the ring's end").isPositive();
            assertAll(store, n);
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertAll(store, n);
        }
    }

    /**
     * A segment filled to its last byte and flushed, then one record into the next that is still
     * only in the ring: retention reads that record's store time to date the full segment, so it
     * must see the record, not the zeros of the segment file (it would take the segment for 56
     * years old and delete it).
     */
    @Test
    void retentionDatesASegmentByARecordStillInTheRing() {
        long t0 = 1_700_000_000_000L;
        StoreTestSupport.MutableClock clock = new StoreTestSupport.MutableClock(t0);
        int record = StoreTestSupport.HEADER_FOR_TOPIC_T + 1_000;
        LogConfig config = smallConfig(tmp.resolve("store")).segmentBytes(4 * record).retentionMs(3_600_000L)
                .retentionCheckIntervalMs(24 * 3_600_000L).commitIntervalMs(3_600_000).clock(clock).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 4; i++) {
                store.append(LogMessage.builder("t", 0, StoreTestSupport.body(1_000, i)).build());
            }
            store.flush(); // the first segment, to its last byte
            clock.set(t0 + 2 * 3_600_000L);
            AppendResult fifth = store.append(LogMessage.builder("t", 0, StoreTestSupport.body(1_000, 4)).build());
            assertThat(fifth.physicalOffset()).as("the fifth record opens the second segment").isEqualTo(4L * record);
            clock.set(t0 + 2 * 3_600_000L + 1_000);
            assertThat(store.runRetention()).as("segments deleted: the first is 1 s old by the second's first record")
                    .isZero();
            assertThat(store.readMessages("t", 0, 0, 10)).as("t/0 after retention").hasSize(5);
        }
    }

    /**
     * A thread with its interrupt flag set reads what is only in the ring, and sends it with
     * sendfile: the read commits it and works, the flag stays set, and the store goes on working (a
     * channel operation on an interrupted thread closes that channel, so commits must not use the one
     * readers share, and neither they nor a transfer may let the flag through).
     */
    @Test
    void aReadOnAnInterruptedThreadCommitsAndLeavesTheStoreWorking() {
        LogConfig config = smallConfig(tmp.resolve("store")).commitIntervalMs(3_600_000).build();
        try (MessageStore store = MessageStore.open(config)) {
            store.append(HoldingWriter.message(0));
            Thread.currentThread().interrupt();
            java.io.ByteArrayOutputStream sent = new java.io.ByteArrayOutputStream();
            try {
                assertThat(store.readMessages(HoldingWriter.TOPIC, 0, 0, 1)).as("read on an interrupted thread").hasSize(1);
                assertThat(Thread.currentThread().isInterrupted()).as("interrupt flag after the read").isTrue();
                try (ReadResult r = store.read(HoldingWriter.TOPIC, 0, 0, 1, Integer.MAX_VALUE)) {
                    // sendfile of the region, as a server does, still on the interrupted thread
                    r.regions().get(0).transferTo(java.nio.channels.Channels.newChannel(sent));
                }
                assertThat(Thread.currentThread().isInterrupted()).as("interrupt flag after the transfer").isTrue();
            } finally {
                Thread.interrupted();
            }
            assertThat(sent.size()).as("bytes transferred").isEqualTo(store.readMessages(HoldingWriter.TOPIC, 0, 0, 1).get(0).size());
            store.append(HoldingWriter.message(1));
            assertAll(store, 2);
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).as("the close was clean").isFalse();
            assertAll(store, 2);
        }
    }

    private static void assertAll(MessageStore store, int n) {
        List<StoredMessage> all = readAll(store, HoldingWriter.TOPIC, 0);
        assertThat(all).hasSize(n);
        for (int i = 0; i < n; i++) {
            assertThat(all.get(i).body()).as("body of record %d", i).isEqualTo(bytes(HoldingWriter.message(i)));
        }
    }

    /** What the killed writer acknowledged: queue offsets and positions, in order. */
    private record Held(List<Long> offsets, List<Long> positions) {}

    /** Appends records {@code from}.. until the log reaches {@code until} and closes cleanly; returns the queue's end. */
    private static long appendUntil(Path dir, long from, long until) {
        try (MessageStore store = MessageStore.open(HoldingWriter.config(dir))) {
            long seed = from;
            while (store.writtenOffset() < until) {
                store.append(HoldingWriter.message(seed++));
            }
            return seed;
        }
    }

    private Held runAndKill(Path dir, long firstSeed, long until) throws Exception {
        Path stderr = tmp.resolve("child.err");
        Process child = StoreTestSupport.childJvm(HoldingWriter.class, dir.toString(), Long.toString(firstSeed),
                Long.toString(until)).redirectError(stderr.toFile()).start();
        List<Long> offsets = new ArrayList<>();
        List<Long> positions = new ArrayList<>();
        try {
            if (!HoldingWriter.readAcks(child, offsets, positions)) {
                fail("child ended before DONE (exit %s); stderr:%n%s", child.isAlive() ? "none" : child.exitValue(),
                        Files.readString(stderr));
            }
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).as("child gone 10 s after SIGKILL").isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).as("exit status of the child (137: SIGKILL)").isEqualTo(128 + 9);
        for (int i = 0; i < offsets.size(); i++) {
            assertThat(offsets.get(i)).as("queue offset of held record %d", i).isEqualTo(firstSeed + i);
        }
        return new Held(offsets, positions);
    }

    private static void assertRecords(MessageStore store, long expected, Held held) {
        List<StoredMessage> all = readAll(store, HoldingWriter.TOPIC, 0);
        assertThat(all).as("records in the queue").hasSize((int) expected);
        for (int i = 0; i < all.size(); i++) {
            StoredMessage m = all.get(i);
            assertThat(m.queueOffset()).as("queue offset of record %d", i).isEqualTo(i);
            assertThat(m.body()).as("body of record %d", i).isEqualTo(bytes(HoldingWriter.message(i)));
            assertThat(store.readAt(m.physicalOffset())).as("record %d passes its checks", i).isPresent();
        }
        long firstHeld = held.offsets.get(0);
        for (int i = 0; i < held.offsets.size(); i++) {
            assertThat(all.get((int) (firstHeld + i)).physicalOffset()).as("position of held record %d", i)
                    .isEqualTo(held.positions.get(i));
        }
    }

    private static byte[] segmentBytes(Path dir, long phys, int length) throws IOException {
        long base = phys / HoldingWriter.SEGMENT * HoldingWriter.SEGMENT;
        try (FileChannel ch = FileChannel.open(dir.resolve("commitlog").resolve(FileNames.name(base)), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            ch.read(b, phys - base);
            return b.array();
        }
    }

    private static byte[] bytes(LogMessage m) {
        ByteBuffer b = m.body();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
