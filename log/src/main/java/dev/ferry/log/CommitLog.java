package dev.ferry.log;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The sequence of commit-log segments: where the next record goes, which segment holds a
 * position, what has been forced to disk. A {@link SegmentFiller} thread keeps a window of
 * zero-filled (and, with preTouch, mapped) space ahead of the appender and creates the next
 * segment before the appender needs it, so neither a roll-over nor a page fault stalls writers.
 * With staged writes (ASYNC flush, the default) records go through a {@link StagingRing} instead
 * of the mappings: {@link #writtenOffset} is then the end of what was appended, and
 * {@link #ensureWritten} puts what a reader needs into the segment files first.
 *
 * <p><b>Thread safety.</b> {@link #segmentForAppend}, {@link #publish} and {@link #setEnd}
 * are called by one writer at a time (the store's append lock). {@link #flush} is called by
 * the flusher thread only. Readers use {@link #segmentFor} and {@link #writtenOffset}.
 * {@code writtenOffset} and {@code flushedOffset} are volatile: the first publishes appended
 * bytes to readers and the flusher, the second tells writers and retention what is durable.
 */
final class CommitLog {
    private final Path dir;
    private final int segmentBytes;
    private final boolean preTouch;
    private final long fillAheadBytes;
    /** Create segments zero-filled through their whole size (see {@link SegmentFiller}); SYNC flush. */
    private final boolean wholeSegments;
    /** Staged writes: the ring's size (0: records are written through the segments' mappings). */
    private final int stagingRingBytes;
    private final int commitIntervalMs;
    private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
    private SegmentFiller filler;
    private Segment active;
    /** The appender wakes the filler when its end passes this; appender only. */
    private long fillWakeAt;
    /** The appender's current write window; appender only. */
    private SegmentFiller.Window window;
    private int writeBase;
    /** Staged writes: the ring; set by {@link #setEnd}. */
    private StagingRing staging;
    /** Staged writes: where a record that wraps around the ring's end is written first; appender only. */
    private java.nio.ByteBuffer wrapBuffer;
    /** Staged writes: the last {@link #writeBuffer} was {@link #wrapBuffer}; appender only. */
    private boolean wrapped;
    private volatile long writtenOffset;
    private volatile long flushedOffset;

    CommitLog(Path dir, int segmentBytes, boolean preTouch, long fillAheadBytes, boolean wholeSegments, int stagingRingBytes,
              int commitIntervalMs) {
        this.dir = dir;
        this.stagingRingBytes = stagingRingBytes;
        this.commitIntervalMs = commitIntervalMs;
        this.segmentBytes = segmentBytes;
        this.preTouch = preTouch;
        this.fillAheadBytes = fillAheadBytes;
        this.wholeSegments = wholeSegments;
        try {
            for (long base : FileNames.list(dir)) {
                segments.put(base, Segment.open(dir.resolve(FileNames.name(base))));
            }
        } catch (RuntimeException | Error e) {
            segments.values().forEach(Segment::close); // a damaged segment: the ones opened before it are not left open
            throw e;
        }
    }

    List<Segment> segments() {
        return new ArrayList<>(segments.values());
    }

    /** The segment holding {@code physicalOffset}, or null if none does (deleted or never written). */
    Segment segmentFor(long physicalOffset) {
        Map.Entry<Long, Segment> e = segments.floorEntry(physicalOffset);
        if (e == null || physicalOffset >= e.getValue().endOffset()) {
            return null;
        }
        return e.getValue();
    }

    Segment first() {
        Map.Entry<Long, Segment> e = segments.firstEntry();
        return e == null ? null : e.getValue();
    }

    Segment next(Segment s) {
        Map.Entry<Long, Segment> e = segments.higherEntry(s.baseOffset);
        return e == null ? null : e.getValue();
    }

    long minOffset() {
        Map.Entry<Long, Segment> e = segments.firstEntry();
        return e == null ? 0 : e.getKey();
    }

    long writtenOffset() {
        return writtenOffset;
    }

    long flushedOffset() {
        return flushedOffset;
    }

    /**
     * Time the appender waited for space, in nanoseconds: for the filler to prepare it, or with
     * staged writes to commit the ring when it was full.
     */
    long spaceWaitNanos() {
        StagingRing r = staging;
        return (filler == null ? 0 : filler.waitNanos()) + (r == null ? 0 : r.waitNanos());
    }

    long totalBytes() {
        long n = 0;
        for (Segment s : segments.values()) {
            n += s.size;
        }
        return n;
    }

    /**
     * Recovery's verdict: the log ends at {@code end}. Segments past it are deleted, the bytes
     * after it in its segment are expected to be zero (recovery zeroes a torn tail first).
     */
    void setEnd(long end) {
        for (Segment s : new ArrayList<>(segments.tailMap(end, true).values())) {
            Map.Entry<Long, Segment> lower = segments.lowerEntry(s.baseOffset);
            boolean previousEndsHere = lower != null && lower.getValue().endOffset() == end;
            if (s.baseOffset > end || previousEndsHere) {
                segments.remove(s.baseOffset);
                s.delete();
            }
        }
        Segment s = segmentFor(end);
        if (s == null) {
            Map.Entry<Long, Segment> prev = segments.lowerEntry(end);
            if (prev != null && prev.getValue().endOffset() == end) {
                s = prev.getValue();
            } else {
                s = Segment.create(dir, end, segmentBytes, wholeSegments); // else the filler fills it ahead of the appender
                segments.put(end, s);
            }
        }
        s.writePosition = (int) (end - s.baseOffset);
        s.flushedPosition = s.writePosition;
        active = s;
        writtenOffset = end;
        flushedOffset = end;
        if (filler != null) {
            filler.close();
            if (window != null) {
                Unmapper.unmap(window.buffer());
                window = null;
            }
        }
        filler = new SegmentFiller(dir, segmentBytes, fillAheadBytes, preTouch, wholeSegments, stagingRingBytes > 0, s, end,
                this::writtenOffset);
        fillWakeAt = 0;
        if (staging != null) {
            staging.close(end);
            staging = null;
        }
        if (stagingRingBytes > 0) {
            staging = StagingRing.create(dir.getParent(), stagingRingBytes, end, this::segmentFor, this::writtenOffset,
                    commitIntervalMs);
        } else {
            StagingRing.delete(dir.getParent()); // recovery has written back what a ring of an earlier run held
        }
    }

    /**
     * Makes every appended byte below {@code upTo} readable through the segment files: with staged
     * writes, commits what was published if the ring has not reached {@code upTo} yet (a failure, a
     * full disk, throws {@link LogException}); with mapped writes there is nothing to do.
     */
    void ensureWritten(long upTo) {
        StagingRing r = staging;
        if (r != null && r.committedOffset() < upTo) {
            r.commit(writtenOffset);
        }
    }

    /**
     * The segment the next record of {@code length} bytes goes to: the active one if it fits,
     * else the next one (leaving an end-of-segment marker in the old one).
     */
    Segment segmentForAppend(int length) {
        Segment s = active;
        if (s.remaining() < length) {
            if (staging != null) {
                staging.awaitSpace(s.endOffset() + length); // before anything is written: a full disk fails the append here
            }
            // taking the next segment waits until the old one is filled to its end: the marker is then safe from the filler
            Segment n = filler.takeNext(s.endOffset());
            if (staging != null) {
                stageEndOfSegment(s);
            } else {
                RecordCodec.writeEndOfSegment(s.map, s.writePosition, s.remaining());
            }
            s.writePosition = s.size;
            segments.put(n.baseOffset, n);
            active = n;
            s = n;
        }
        long end = s.baseOffset + s.writePosition + length;
        if (staging != null) {
            staging.awaitSpace(end);
            return s;
        }
        if (end > fillWakeAt) {
            filler.wake();
            fillWakeAt = end + fillAheadBytes / 4;
        }
        filler.awaitFilled(end);
        return s;
    }

    /**
     * Before a batch: waits until the space the whole batch will take is prepared (staged writes:
     * room in the ring, and the next segment created if the batch rolls over), so that a failure to
     * prepare it (a full disk) fails the batch before its first record is written, not halfway (the
     * records written would be published by the next append). Records of
     * {@code lengths[0..n)}; done only when the batch spans at most one roll-over (the filler
     * prepares one segment ahead; smaller segments than a batch are for tests).
     */
    void reserve(int[] lengths, int n) {
        Segment s = active;
        long base = s.baseOffset;
        long size = s.size;
        long pos = s.writePosition;
        int rolls = 0;
        for (int i = 0; i < n; i++) {
            if (size - pos < lengths[i]) {
                rolls++;
                base += size;
                size = segmentBytes;
                pos = 0;
            }
            pos += lengths[i];
        }
        if (rolls <= 1) {
            if (staging != null) {
                staging.awaitSpace(base + pos);
                if (rolls == 1) {
                    filler.awaitFilled(base + 1); // the next segment exists: the roll-over cannot fail halfway through
                }
            } else {
                filler.awaitFilled(base + pos);
            }
        }
    }

    /** Before an append or a batch writes anything: fails it if staged writes found the disk full. */
    void checkWritable() {
        if (staging != null) {
            staging.checkWritable();
        }
    }

    /**
     * Staged writes, at a roll-over: the rest of {@code s} (an end-of-segment marker, then zeros)
     * goes into the ring like any appended bytes, so commits copy the log's bytes as they are.
     */
    private void stageEndOfSegment(Segment s) {
        // smaller than a record; once per segment
        staging.put(s.baseOffset + s.writePosition, RecordCodec.endOfSegment(s.remaining()));
        staging.staged(s.endOffset());
    }

    /**
     * Where the appender writes {@code length} bytes at {@code pos} of {@code s} (as returned by
     * {@link #segmentForAppend}): a write window (see {@link SegmentFiller}), or, for a record across
     * two windows, a view of the segment's own mapping. The bytes go at buffer index
     * {@code pos - writeBase()}. The buffer is the appender's own: it may move its position and limit.
     */
    java.nio.ByteBuffer writeBuffer(Segment s, int pos, int length) {
        if (staging != null) {
            long phys = s.baseOffset + pos;
            java.nio.ByteBuffer ring = staging.target(phys, length);
            if (ring != null) {
                writeBase = pos - staging.index(phys);
                return ring;
            }
            if (wrapBuffer == null || wrapBuffer.capacity() < length) {
                wrapBuffer = java.nio.ByteBuffer.allocate(length);
            }
            wrapped = true;
            writeBase = pos;
            return wrapBuffer;
        }
        SegmentFiller.Window w = filler.windowFor(window, s, pos);
        window = w;
        if (w != null && w.covers(s, pos, length)) {
            writeBase = w.from();
            return w.buffer();
        }
        writeBase = 0;
        return s.map.duplicate(); // readers share s.map: its limit must not move

    }

    /** The segment position at index 0 of the last {@link #writeBuffer}. */
    int writeBase() {
        return writeBase;
    }

    /**
     * The appender wrote {@code length} bytes at {@code pos} of {@code s} into the last
     * {@link #writeBuffer}: with staged writes, a record that wraps around the ring goes into it now,
     * and the committer is woken every {@link StagingRing#COMMIT_STEP} bytes.
     */
    void wrote(Segment s, int pos, int length) {
        if (staging == null) {
            return;
        }
        long phys = s.baseOffset + pos;
        if (wrapped) {
            wrapped = false;
            wrapBuffer.limit(length).position(0);
            staging.put(phys, wrapBuffer);
            wrapBuffer.clear();
        }
        staging.staged(phys + length);
    }

    /** Publishes the bytes appended so far to readers and the flusher. */
    void publish(long end) {
        writtenOffset = end;
    }

    /**
     * Forces the bytes between the flushed offset and {@code upTo} (a record boundary) to disk.
     * Flusher thread only.
     */
    void flush(long upTo) {
        long from = flushedOffset;
        if (upTo <= from) {
            return;
        }
        ensureWritten(upTo);
        Map.Entry<Long, Segment> e = segments.floorEntry(from);
        Segment s = e == null ? first() : e.getValue();
        while (s != null && s.baseOffset < upTo) {
            if (s.retain()) {
                try {
                    int start = (int) Math.max(0, from - s.baseOffset);
                    int end = (int) Math.min(s.size, upTo - s.baseOffset);
                    s.force(start, end);
                    s.flushedPosition = end;
                } finally {
                    s.release();
                }
            }
            s = next(s);
        }
        flushedOffset = upTo;
    }

    /** Retention: removes the oldest segment from the log (the caller decided it may go). */
    void deleteOldest(Segment s) {
        segments.remove(s.baseOffset);
        s.delete();
    }

    void close() {
        try {
            StagingRing r = staging;
            staging = null;
            if (r != null) {
                r.close(writtenOffset); // commits what is left; if that fails (a full disk) it stays in the ring for the next open
            }
        } finally {
            if (filler != null) {
                filler.close();
                if (window != null) {
                    Unmapper.unmap(window.buffer());
                    window = null;
                }
            }
            for (Segment s : segments.values()) {
                s.close();
            }
        }
    }
}
