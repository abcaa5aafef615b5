package dev.ferry.log;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The sequence of commit-log segments: where the next record goes, which segment holds a
 * position, what has been forced to disk. Allocates the next segment on a background thread as
 * soon as a segment becomes active, so a roll-over finds it ready, and (with preTouch) faults in
 * the pages of the active and the next segment ahead of the appender on another ({@link PageWarmer}).
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
    private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
    private final ExecutorService allocator;
    private final ExecutorService warmer;
    private Segment active;
    private Future<Segment> nextSegment;
    private volatile long writtenOffset;
    private volatile long flushedOffset;

    CommitLog(Path dir, int segmentBytes, boolean preTouch) {
        this.dir = dir;
        this.segmentBytes = segmentBytes;
        this.preTouch = preTouch;
        this.allocator = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ferry-segment-allocator");
            t.setDaemon(true);
            return t;
        });
        this.warmer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ferry-page-warmer");
            t.setDaemon(true);
            return t;
        });
        for (long base : FileNames.list(dir)) {
            segments.put(base, Segment.open(dir.resolve(FileNames.name(base))));
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
                s = Segment.create(dir, end, segmentBytes, true);
                segments.put(end, s);
            }
        }
        s.writePosition = (int) (end - s.baseOffset);
        s.flushedPosition = s.writePosition;
        active = s;
        writtenOffset = end;
        flushedOffset = end;
        prepareNext();
    }

    /**
     * The segment the next record of {@code length} bytes goes to: the active one if it fits,
     * else the next one (leaving an end-of-segment marker in the old one).
     */
    Segment segmentForAppend(int length) {
        Segment s = active;
        if (s.remaining() >= length) {
            return s;
        }
        RecordCodec.writeEndOfSegment(s.map, s.writePosition, s.remaining());
        s.writePosition = s.size;
        Segment n = takeNext(s.endOffset());
        segments.put(n.baseOffset, n);
        active = n;
        prepareNext();
        return n;
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
        allocator.shutdownNow();
        warmer.shutdownNow();
        // a preallocation still queued never runs after shutdownNow: cancel it rather than wait on it
        if (nextSegment != null && !nextSegment.cancel(true)) {
            try {
                Segment n = nextSegment.get();
                if (!segments.containsKey(n.baseOffset)) {
                    n.close();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                // nothing was allocated
            }
        }
        try {
            allocator.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Segment s : segments.values()) {
            s.close();
        }
    }

    private void prepareNext() {
        long base = active.endOffset();
        if (preTouch) {
            Segment current = active;
            int from = current.writePosition;
            warmer.submit(() -> PageWarmer.warm(current, from, this::writtenOffset));
        }
        nextSegment = allocator.submit(() -> {
            Segment n = Segment.create(dir, base, segmentBytes);
            if (preTouch) {
                warmer.submit(() -> PageWarmer.warm(n, 0, this::writtenOffset));
            }
            return n;
        });
    }

    private Segment takeNext(long base) {
        try {
            Segment n = nextSegment.get();
            if (n.baseOffset == base) {
                return n;
            }
            n.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LogException("interrupted while waiting for segment " + base, e);
        } catch (ExecutionException e) {
            throw new LogException("cannot allocate segment " + base, e.getCause());
        }
        return Segment.create(dir, base, segmentBytes);
    }
}
