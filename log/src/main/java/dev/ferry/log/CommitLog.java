package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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
 * How the appended bytes reach the segment files is the {@link WritePath}'s business: through
 * the mappings, or (ASYNC flush, the default) through a {@link StagingRing}, where
 * {@link #writtenOffset} is the end of what was appended and {@link #ensureWritten} puts what a
 * reader needs into the segment files first.
 *
 * <p><b>Thread safety.</b> {@link #segmentForAppend}, {@link #publish} and {@link #setEnd}
 * are called by one writer at a time (the store's append lock). {@link #flush} is called by
 * the flusher thread only. Readers use {@link #segmentFor} and {@link #writtenOffset}.
 * {@code writtenOffset} and {@code flushedOffset} are volatile: the first publishes appended
 * bytes to readers and the flusher, the second tells writers and retention what is durable.
 */
final class CommitLog {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CommitLog.class);
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
    /** How appended bytes reach the segment files; set by {@link #setEnd} (before the store is shared), null once closed. */
    private WritePath writes;
    private Segment active;
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
            List<Long> bases = new ArrayList<>(FileNames.list(dir));
            // Empty files at the end: the next segment, created ahead of the appender, that a power loss soon after
            // left with 0 bytes (its size reaches the disk with its blocks), or one a crash left so while recovery
            // gave back its blocks (Segment.discardAfter). They hold no record, so they go; the filler makes them again.
            while (!bases.isEmpty() && Files.size(dir.resolve(FileNames.name(bases.get(bases.size() - 1)))) == 0) {
                Path path = dir.resolve(FileNames.name(bases.remove(bases.size() - 1)));
                LOG.warn("commit log segment {} is empty (a power loss or crash soon after it was created); deleting it", path);
                Files.delete(path);
            }
            for (long base : bases) {
                segments.put(base, Segment.open(dir.resolve(FileNames.name(base))));
            }
        } catch (IOException e) {
            segments.values().forEach(Segment::close);
            throw new UncheckedIOException("cannot open commit log " + dir + ": " + e.getMessage(), e);
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
        WritePath w = writes;
        return (filler == null ? 0 : filler.waitNanos()) + (w == null ? 0 : w.waitNanos());
    }

    long totalBytes() {
        long n = 0;
        for (Segment s : segments.values()) {
            n += s.size;
        }
        return n;
    }

    /**
     * Deletes the segments that lie past {@code end}: those that start after it, and one that starts
     * at it after a segment that ends there.
     */
    void deleteAfter(long end) {
        // the last first: a crash meanwhile leaves the segments before it, never a gap between two segments (which the
        // next open takes for a file deleted by hand, see Recovery)
        for (Segment s : new ArrayList<>(segments.tailMap(end, true).descendingMap().values())) {
            Map.Entry<Long, Segment> lower = segments.lowerEntry(s.baseOffset);
            boolean previousEndsHere = lower != null && lower.getValue().endOffset() == end;
            if (s.baseOffset > end || previousEndsHere) {
                segments.remove(s.baseOffset);
                s.delete();
            }
        }
    }

    /**
     * Recovery's verdict: the log ends at {@code end}. Segments past it are deleted, the bytes
     * after it in its segment are expected to be zero (recovery zeroes a torn tail first).
     */
    void setEnd(long end) {
        deleteAfter(end);
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
        closeWrites(end);
        filler = new SegmentFiller(dir, segmentBytes, fillAheadBytes, preTouch, wholeSegments, stagingRingBytes > 0, s, end,
                this::writtenOffset);
        if (stagingRingBytes > 0) {
            writes = new StagedWritePath(StagingRing.create(dir.getParent(), stagingRingBytes, end, this::segmentFor,
                    this::writtenOffset, commitIntervalMs), filler);
        } else {
            StagingRing.delete(dir.getParent()); // recovery has written back what a ring of an earlier run held
            writes = new MappedWritePath(filler, fillAheadBytes);
        }
    }

    /** Closes the filler and then the write path (which writes what it staged up to {@code end}). */
    private void closeWrites(long end) {
        try {
            if (filler != null) {
                filler.close();
            }
        } finally {
            WritePath w = writes;
            writes = null;
            if (w != null) {
                w.close(end);
            }
        }
    }

    /**
     * Makes every appended byte below {@code upTo} readable through the segment files (see
     * {@link WritePath#ensureWritten}): staged writes commit what the ring holds; mapped writes
     * have nothing to do.
     */
    void ensureWritten(long upTo) {
        WritePath w = writes;
        if (w != null) { // null once closed
            w.ensureWritten(upTo);
        }
    }

    /**
     * The segment the next record of {@code length} bytes goes to: the active one if it fits,
     * else the next one (leaving an end-of-segment marker in the old one).
     */
    Segment segmentForAppend(int length) {
        Segment s = active;
        if (s.remaining() < length) {
            writes.beforeRollOver(s, s.endOffset() + length);
            // taking the next segment waits until the old one is filled to its end: the marker is then safe from the filler
            Segment n = filler.takeNext(s.endOffset());
            writes.endSegment(s);
            s.writePosition = s.size;
            segments.put(n.baseOffset, n);
            active = n;
            s = n;
        }
        writes.awaitSpace(s.baseOffset + s.writePosition + length);
        return s;
    }

    /**
     * Before a batch of records of {@code lengths[0..n)}: {@link WritePath#reserve}; done only when
     * the batch spans at most one roll-over (the filler prepares one segment ahead; smaller segments
     * than a batch are for tests).
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
            writes.reserve(base + pos, rolls == 1 ? base : -1);
        }
    }

    /** Before an append or a batch writes anything: fails it if the write path cannot take bytes now (a full disk). */
    void checkWritable() {
        writes.checkWritable();
    }

    /**
     * Where the appender writes {@code length} bytes at {@code pos} of {@code s} (as returned by
     * {@link #segmentForAppend}): see {@link WritePath#writeBuffer}.
     */
    java.nio.ByteBuffer writeBuffer(Segment s, int pos, int length) {
        return writes.writeBuffer(s, pos, length);
    }

    /** The segment position at index 0 of the last {@link #writeBuffer}. */
    int writeBase() {
        return writes.writeBase();
    }

    /** The appender wrote {@code length} bytes at {@code pos} of {@code s} into the last {@link #writeBuffer}. */
    void wrote(Segment s, int pos, int length) {
        writes.wrote(s, pos, length);
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
            closeWrites(writtenOffset);
        } finally {
            for (Segment s : segments.values()) {
                s.close();
            }
        }
    }
}
