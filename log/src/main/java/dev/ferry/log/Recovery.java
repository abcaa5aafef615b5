package dev.ferry.log;

import static dev.ferry.log.RecordLayout.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the store to a consistent state when it opens: finds where the whole records end,
 * zeroes a torn tail, rewrites the offset-index and key-index entries of the records it
 * verified, and drops index entries that point at nothing whole. Runs single-threaded before
 * the store accepts appends or reads.
 *
 * <p>Where the scan starts: the lowest of the checkpoint's two offsets and the start of the last
 * segment that holds data (so a torn tail is found even after a clean stop), lowered further
 * for any queue whose tail entries do not point at their records (a damaged index), and down to
 * the first segment for a queue with an index file found cut short. Without a checkpoint, or
 * when the checkpoint shows index data missing (files deleted by hand, see
 * {@link Checkpoint#missingIndexData}), it starts at the first segment. From there every record must pass
 * {@link RecordCodec#check}; the first that does not ends the log. A segment file missing before
 * one that holds records does not: no crash leaves one so, and ending the log there would delete
 * every later segment; the open fails naming the missing file instead.
 *
 * <p>Keys are indexed for the records past the key index's end, once the key files from the first
 * place one may have lost entries on are deleted ({@link KeyIndex#dropAfterFirstGap}): a power loss
 * can keep a new key file and lose the last entries of the one before. That place is at or past the
 * checkpoint's indexFlushedOffset (key files are forced before a checkpoint is written), so the scan,
 * which starts at or below it, reaches every record whose keys may be missing.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private final CommitLog log;
    private final QueueTable queues;
    private final KeyIndex keys;
    /** The staging ring the last run left (staged writes), or null; closed by {@link #run}. */
    private final StagingRing staged;
    /** What index data the checkpoint says is missing (index files deleted by hand), or null: see {@link Checkpoint#missingIndexData}. */
    private final String missingIndexData;

    Recovery(CommitLog log, QueueTable queues, KeyIndex keys, StagingRing staged, String missingIndexData) {
        this.log = log;
        this.queues = queues;
        this.keys = keys;
        this.staged = staged;
        this.missingIndexData = missingIndexData;
    }

    /** Returns the report; {@code lastStoreTimestamp[0]} receives the last record's store time. */
    RecoveryReport run(boolean crashed, Optional<Checkpoint> checkpoint, long[] lastStoreTimestamp) {
        try {
            return scan(crashed, checkpoint, lastStoreTimestamp);
        } finally {
            if (staged != null) {
                staged.close(0);
            }
        }
    }

    private RecoveryReport scan(boolean crashed, Optional<Checkpoint> checkpoint, long[] lastStoreTimestamp) {
        long t0 = System.nanoTime();
        List<Segment> segments = log.segments();
        checkNoGap(segments);
        long start = checkpoint.map(c -> Math.min(c.logFlushedOffset(), c.indexFlushedOffset())).orElse(0L);
        Segment lastWithData = null;
        for (Segment s : segments) {
            if (!(RecordCodec.check(s.map, 0, s.size, s.baseOffset) instanceof RecordCodec.EndOfData)) {
                lastWithData = s;
            }
        }
        if (lastWithData != null) {
            start = Math.min(start, lastWithData.baseOffset);
        }
        for (OffsetIndex q : queues.all()) {
            start = Math.min(start, firstDoubtfulPosition(q, start));
        }
        if (missingIndexData != null) {
            // puts are idempotent, and keys are added only past the key index's end: a rebuild cut short by a crash resumes
            LOG.warn("recovery: {}: indexing the whole commit log again", missingIndexData);
            start = 0;
        }
        start = Math.max(start, log.minOffset());

        long end = start;
        long scanned = 0;
        java.util.Set<Segment> replayed = new java.util.LinkedHashSet<>();
        long lastWrittenBack = -1;
        String reason = "";
        // a power loss can keep a new key file and lose the last entries of the one before: the files from
        // there on go, and keys are indexed again from there (the scan starts at or below the checkpoint's index offset)
        long keysIndexedEnd = keys.dropAfterFirstGap(
                missingIndexData != null ? 0 : checkpoint.map(Checkpoint::indexFlushedOffset).orElse(0L));
        // where the open append batch began (records flagged "batch continues"), or -1; scan
        // starts are batch boundaries (checkpoint offsets are published ends, see MessageStore)
        long batchStart = -1;
        Segment batchSegment = null;
        Segment s = log.segmentFor(start);
        while (s != null) {
            int pos = (int) (end - s.baseOffset);
            RecordCodec.Check c = RecordCodec.check(s.map, pos, s.size, s.baseOffset);
            if (c instanceof RecordCodec.Whole w) {
                boolean continues = (s.map.getInt(pos + FLAGS_OFFSET) & FLAG_BATCH_CONTINUES) != 0;
                if (continues && batchStart < 0) {
                    batchStart = end;
                    batchSegment = s;
                } else if (!continues) {
                    batchStart = -1;
                    batchSegment = null;
                }
                dispatch(s.map, pos, end, w.length(), keysIndexedEnd, lastStoreTimestamp);
                end += w.length();
                scanned++;
            } else if (c instanceof RecordCodec.EndOfSegment) {
                Segment n = log.next(s);
                if (n == null || n.baseOffset != s.endOffset()) {
                    end = s.endOffset();
                    break;
                }
                end = n.baseOffset;
                s = n;
            } else if (end != lastWrittenBack && writeBack(s, pos)) {
                lastWrittenBack = end;
                replayed.add(s); // the loop reads it again, from the segment
            } else {
                if (c instanceof RecordCodec.Torn t) {
                    reason = t.reason();
                }
                break;
            }
        }
        for (Segment w : replayed) {
            w.force(0, w.size); // before the new run zeroes the ring that held them
            w.closeCommitChannel();
        }
        if (staged != null) {
            staged.close(0); // setEnd below makes the new run's ring in its place
        }
        if (!replayed.isEmpty()) {
            LOG.warn("recovery: wrote back {} records ({} bytes) from the staging ring that were appended but not yet in the "
                    + "segment files", replayedRecords, replayedBytes);
        }
        if (missingIndexData != null && checkpoint.isPresent() && end < checkpoint.get().logFlushedOffset()) {
            // a rebuild reads parts of the log no crash can have torn: what fails there is damage, and truncating would
            // delete every segment after it
            throw new LogException("recovery: the commit log ends at " + end + (reason.isEmpty() ? " (zeros)" : " (" + reason + ")")
                    + ", below " + checkpoint.get().logFlushedOffset() + ", which the last checkpoint had on disk: the log is"
                    + " damaged there, not torn by a crash, and an index rebuild does not truncate it. Restore "
                    + (s == null ? "the segment" : s.path.toString()) + " from a copy; or, to give up everything from " + end
                    + " on, delete " + Checkpoint.FILE + " and open again");
        }
        long truncated = s == null || reason.isEmpty() ? 0 : zeroTail(s, (int) (end - s.baseOffset));
        if (batchStart >= 0) {
            // a crash in the middle of an append batch: drop the whole batch, not just its torn tail
            LOG.warn("recovery: append batch from {} to {} has no last record; dropping it whole", batchStart, end);
            truncated += zeroTail(batchSegment, (int) (batchStart - batchSegment.baseOffset));
            // segments after batchSegment lie past the new end: setEnd deletes them
            reason = (reason.isEmpty() ? "" : reason + "; ") + "incomplete append batch from " + batchStart;
            end = batchStart;
        }
        long logEnd = end;
        // the log ends below where the last checkpoint had it on disk: a crash cannot do that (damage: a block that reads
        // as zeros, a file cut short); or no checkpoint says where it ended
        boolean endsShort = checkpoint.map(c -> logEnd < c.logFlushedOffset()).orElse(true);
        if (endsShort && reason.isEmpty() && checkpoint.isPresent()) {
            reason = "records missing from " + end + " to " + checkpoint.get().logFlushedOffset()
                    + ", which the last checkpoint had on disk";
        }
        // a clean stop forced everything and left nothing after its end, unless the log ends short: then what follows
        // the end may be whole records of the lost stretch, which appends that came to end exactly where one begins
        // would bring back at the next open (staged writes do not zero ahead of the appender)
        if (crashed || endsShort) {
            // the segments past the end go first: a crash in the discard below then leaves its segment short, and last,
            // not short before segments it no longer reaches (a gap, which the next open would take for a deleted file)
            log.deleteAfter(end);
            discardAfter(end);
        }
        if (crashed || checkpoint.isEmpty()) {
            // no checkpoint says what is on disk: the files may have been copied in (an archive restored), their pages
            // still only in the page cache, as a killed process leaves them
            forceRecovered(start, end);
        }
        log.setEnd(end);
        long dropped = 0;
        for (OffsetIndex q : queues.all()) {
            dropped += dropInvalidTail(q, end);
        }
        RecoveryReport report = new RecoveryReport(crashed, checkpoint.isPresent(), start, end, scanned, truncated, reason,
                dropped, (System.nanoTime() - t0) / 1_000_000, replayedRecords, missingIndexData);
        if (crashed || truncated > 0 || dropped > 0) {
            LOG.warn("recovery after {}: scanned {} records from {} to {}; truncated {} bytes{}; dropped {} index entries; {} ms",
                    crashed ? "a crash" : "a clean stop", scanned, start, end, truncated,
                    reason.isEmpty() ? "" : " (" + reason + ")", dropped, report.durationMs());
        } else {
            LOG.info("opened cleanly: verified {} records from {} to {} in {} ms", scanned, start, end, report.durationMs());
        }
        return report;
    }

    /**
     * Fails the open if a segment file is missing before one that holds records. No crash leaves
     * one so (segments are made at the end, deleted from the front by retention and past the end
     * from the last one down, see {@link CommitLog#deleteAfter}): it was deleted by hand, lost
     * with a disk, or left out of an archive (retention deleted it before it was shipped). The
     * error offers both ways on: without the segments after the gap, or without those before it.
     * Crossing the gap, the scan would end the log there and delete every later segment; below the
     * scan, its records would be read as deleted by retention.
     */
    private static void checkNoGap(List<Segment> segments) {
        Segment previous = null;
        for (Segment x : segments) {
            if (previous != null && x.baseOffset > previous.endOffset()
                    && !(RecordCodec.check(x.map, 0, x.size, x.baseOffset) instanceof RecordCodec.EndOfData)) {
                long gapFrom = previous.endOffset();
                throw new LogException("recovery: the commit log has no segment file from " + gapFrom + " to " + x.baseOffset
                        + " (" + x.path.resolveSibling(FileNames.name(gapFrom)) + " deleted or lost?), and the segments from "
                        + x.path.getFileName() + " on hold records that opening would delete. Restore the missing segment"
                        + " file from a copy; or, to give up every record from " + gapFrom + " on, delete the segment files from "
                        + x.path.getFileName() + " on and open again; or, to keep the records after the gap and give up those"
                        + " before it, delete the segment files before " + x.path.getFileName() + " and open again (an archive"
                        + " lacks a segment that retention deleted before it was shipped)");
            }
            previous = x;
        }
    }

    private long replayedRecords;
    private long replayedBytes;

    /**
     * Forces the log's bytes from {@code from} (the scan start: below it the checkpoint had the
     * log on disk; without a checkpoint, the log's start) to {@code end}, after a crash or when no
     * checkpoint says what is on disk (segment files copied in, an archive restored). The log is declared flushed up to its end once it opens, so the
     * next SYNC group commit forces only what comes after; the records a killed process left in
     * the page cache, unforced, were acknowledged to no one yet, but a power loss before the
     * kernel wrote them back would have cut the log there and taken every SYNC-acknowledged record
     * after them with it.
     */
    private void forceRecovered(long from, long end) {
        for (Segment s : log.segments()) {
            long a = Math.max(from, s.baseOffset);
            long b = Math.min(end, s.endOffset());
            if (a < b) {
                s.force((int) (a - s.baseOffset), (int) (b - s.baseOffset));
            }
        }
    }

    /**
     * After a crash: the end segment's bytes past {@code end} are given back, whatever they held
     * ({@link Segment#discardAfter}). The segments past {@code end} are deleted before ({@link
     * CommitLog#deleteAfter}, which also deletes one that starts at {@code end} after one that ends
     * there): a crash between the discard's truncation and its re-extension leaves the end segment
     * short, and the last one, not short before segments it no longer reaches.
     */
    private void discardAfter(long end) {
        Segment s = log.segmentFor(end);
        Segment previous = end == 0 ? null : log.segmentFor(end - 1);
        if (s == null || end == s.baseOffset && previous != null && previous.endOffset() == end) {
            return;
        }
        s.discardAfter((int) (end - s.baseOffset));
    }

    /**
     * Where the segment's data ends (or is torn) at {@code pos}: if the staging ring holds the
     * record for that position, or this segment's end-of-segment marker there and the first record
     * of the next segment, writes the record or the marker there and returns true. The ring holds
     * records of the last run only, each verified whole with its position ({@link StagingRing#recordAt}).
     */
    private boolean writeBack(Segment s, int pos) {
        if (staged == null) {
            return false;
        }
        long phys = s.baseOffset + pos;
        ByteBuffer record = staged.recordAt(phys, s.size - pos);
        if (record == null) {
            Segment n = log.next(s);
            if (n == null || n.baseOffset != s.endOffset() || pos == s.size || !staged.endOfSegmentAt(phys, s.size - pos)
                    || staged.recordAt(n.baseOffset, n.size) == null) {
                return false;
            }
            record = RecordCodec.endOfSegment(s.size - pos); // zeros over whatever the tail held
        } else {
            replayedRecords++;
        }
        replayedBytes += record.remaining();
        try {
            java.nio.channels.FileChannel ch = s.commitChannel(); // not the channel readers will share
            for (long at = pos; record.hasRemaining(); ) {
                at += ch.write(record, at);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("recovery: cannot write back staged record at " + phys + " into " + s.path + ": "
                    + e.getMessage(), e);
        }
        return true;
    }

    private void dispatch(MappedByteBuffer map, int pos, long phys, int length, long keysIndexedEnd, long[] lastStoreTimestamp) {
        String topic = RecordCodec.topic(map, pos);
        int queueId = map.getInt(pos + QUEUE_ID_OFFSET);
        long queueOffset = map.getLong(pos + QUEUE_OFFSET_OFFSET);
        long storeTimestamp = map.getLong(pos + STORE_TIMESTAMP_OFFSET);
        queues.getOrCreate(topic, queueId).put(queueOffset, phys, length, map.getLong(pos + TAG_HASH_OFFSET));
        if (phys >= keysIndexedEnd) {
            String k = RecordCodec.keys(map, pos);
            if (k != null) {
                keys.add(topic, List.of(k.split(" ")), phys, length, storeTimestamp);
            }
        }
        lastStoreTimestamp[0] = Math.max(lastStoreTimestamp[0], storeTimestamp);
    }

    /**
     * Walks back from the queue's last entry past every entry that does not point at its record,
     * and returns where the record after the last good one can start (or {@code start} if the
     * entries are good down to below it).
     */
    private long firstDoubtfulPosition(OffsetIndex q, long start) {
        if (q.wasCut()) {
            return log.minOffset(); // entries anywhere in the cut file may be gone: re-index everything
        }
        long lowest = start;
        for (long off = q.indexedOffset() - 1; off >= q.minOffset(); off--) {
            long phys = q.physicalOffset(off);
            int size = q.size(off);
            if (pointsAtRecord(q, off, phys, size)) {
                if (phys < start) {
                    return lowest;
                }
            } else if (!inStagingRing(q, off, phys, size)) { // a record the scan restores is no damage
                lowest = off > q.minOffset() ? Math.min(lowest, positionAfter(q, off - 1)) : log.minOffset();
            }
        }
        return lowest;
    }

    private long positionAfter(OffsetIndex q, long off) {
        long phys = q.physicalOffset(off);
        int size = q.size(off);
        return pointsAtRecord(q, off, phys, size) ? phys + size : log.minOffset();
    }

    /** Removes tail entries at or past {@code end} or not pointing at their records; returns how many. */
    private long dropInvalidTail(OffsetIndex q, long end) {
        long next = q.indexedOffset();
        long keep = next;
        while (keep > q.minOffset()) {
            long off = keep - 1;
            long phys = q.physicalOffset(off);
            int size = q.size(off);
            if (phys + size <= end && pointsAtRecord(q, off, phys, size)) {
                break;
            }
            keep--;
        }
        if (keep < next) {
            q.truncateFrom(keep);
        }
        return next - keep;
    }

    /** True if the index entry (phys, size) for {@code off} is a record of this queue with this offset. */
    private boolean pointsAtRecord(OffsetIndex q, long off, long phys, int size) {
        if (size < MIN_RECORD_SIZE || phys < 0) {
            return false;
        }
        Segment s = log.segmentFor(phys);
        if (s == null || phys + size > s.endOffset()) {
            return false;
        }
        return isRecordOf(s.map, (int) (phys - s.baseOffset), q, off, phys, size);
    }

    /**
     * True if the staging ring the last run left holds, whole, the record the index entry (phys,
     * size) for {@code off} points at: appended and indexed, but not yet in the segment files when
     * the process died. The scan writes it back when it gets there.
     */
    private boolean inStagingRing(OffsetIndex q, long off, long phys, int size) {
        Segment s = staged == null || size < MIN_RECORD_SIZE || phys < 0 ? null : log.segmentFor(phys);
        if (s == null || phys + size > s.endOffset()) {
            return false;
        }
        ByteBuffer r = staged.recordAt(phys, (int) (s.endOffset() - phys));
        return r != null && isRecordOf(r, 0, q, off, phys, size);
    }

    private static boolean isRecordOf(ByteBuffer m, int pos, OffsetIndex q, long off, long phys, int size) {
        return m.getInt(pos + LENGTH_OFFSET) == size
                && m.getShort(pos + MAGIC_OFFSET) == MAGIC
                && m.getLong(pos + PHYSICAL_OFFSET_OFFSET) == phys
                && m.getInt(pos + QUEUE_ID_OFFSET) == q.queueId
                && m.getLong(pos + QUEUE_OFFSET_OFFSET) == off
                && RecordCodec.topic(m, pos).equals(q.topic);
    }

    /**
     * Zeroes every non-zero byte of the segment after {@code pos} (a torn tail), so no later scan
     * can mistake old bytes for records; returns the distance to the last non-zero byte.
     */
    private static long zeroTail(Segment s, int pos) {
        MappedByteBuffer m = s.map;
        int last = pos;
        int i = pos;
        for (; i + 8 <= s.size; i += 8) {
            long v = m.getLong(i);
            if (v != 0) {
                m.putLong(i, 0);
                last = i + 8 - Long.numberOfTrailingZeros(v) / 8; // big-endian: trailing zero bits are the last bytes
            }
        }
        for (; i < s.size; i++) {
            if (m.get(i) != 0) {
                m.put(i, (byte) 0);
                last = i + 1;
            }
        }
        return last - pos;
    }
}
