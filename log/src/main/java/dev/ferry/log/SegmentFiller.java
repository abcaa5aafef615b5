package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Keeps a window of prepared commit-log space ahead of the appender, on its own thread, and
 * creates the next segment file as soon as a segment becomes the active one.
 *
 * <p>Why: the first write to a page of a segment costs the writer a page fault, a page-cache
 * page to allocate, and ext4's block reservation, several times the cost of copying a record
 * into a page that is already there. The filler pays that on the other core: it writes zeros
 * over each chunk of the window with {@code FileChannel.write}, which allocates the pages and
 * reserves their blocks, and with {@code preTouch} (the default) it then maps the chunk and writes
 * one zero byte per page, so the pages are mapped writable before the appender arrives. Preparing
 * only a window ahead (default 64 MiB), instead of a whole 1 GiB segment, keeps the prepared but
 * unwritten pages few and lets a fresh store start at once.
 *
 * <p><b>A full disk</b> shows up here, not in the appender: the zero write fails with ENOSPC, the
 * window is not published, and appends that need its space fail with that error (see
 * {@link #fill} for why the touch alone would not be safe).
 *
 * <p><b>SYNC flush</b> ({@code wholeSegments}): segments are created zero-filled through their
 * whole size before they are renamed into place, as the first one is at open, and only their
 * windows are mapped ahead. Measured here with 64 writers of 1 KiB, fsyncs complete about twice
 * as fast in a segment written that way (18.8-21.7 k records/s, 350-410 fsyncs/s) as in one filled
 * a window at a time (11.6-13.2 k, 195-220 fsyncs/s), even when the window was filled long before;
 * we have not established why (ext4 block allocation per fsync is the likely place).
 *
 * <p><b>Write windows.</b> The appender does not write through the segment's big mapping (the one
 * readers use) but through a short-lived mapping of each filled chunk, a {@link Window}, which it
 * unmaps as soon as it has moved past it. Why: when the kernel writes a page back (the ASYNC
 * flusher's msync, or its own writeback), it must write-protect every writable mapping of the page
 * and flush that entry from every CPU's TLB, one inter-processor interrupt per page — in a VM each
 * is an exit on both CPUs, and measured here they halved the append rate. A window unmapped before
 * its pages are written back costs one TLB flush for the whole window instead. Readers' faults map
 * pages read-only, which writeback need not touch. The appender hands each window it is done with
 * back to the filler, which unmaps it (an unmap of 16 MiB took ~1 ms of the appender's time).
 *
 * <p><b>The one rule that keeps data safe:</b> the appender writes only below
 * {@link #filledOffset()} ({@link #awaitFilled} waits for the filler if it must), and the filler
 * writes only at or above it. Zeros therefore never land on appended bytes, and the end-of-segment
 * marker of a full segment (written below the next segment's base) is never overwritten.
 *
 * <p><b>Staged writes</b> ({@code staged}, see {@link StagingRing}): the appender does not write
 * through mappings, so nothing is filled, touched or mapped; the filler only creates each next
 * segment (sparse) ahead of need, and its window moves on at once.
 *
 * <p>An I/O error (a full disk) fails the appends that need the space it could not prepare, with
 * that error, and the filler tries again every second: appends work again once it succeeds.
 *
 * <p><b>Thread safety.</b> {@link #awaitFilled}, {@link #takeNext}, {@link #windowFor} and
 * {@link #wake} are called by the appender (one at a time, under the store's append lock);
 * {@link #filledOffset} by anyone; the rest of the state belongs to the filler thread. Windows
 * pass between the two through concurrent queues ({@code windows} to the appender, {@code retired}
 * back to the filler, which unmaps them); other handover fields are volatile.
 */
final class SegmentFiller {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SegmentFiller.class);
    /** Bytes prepared per step, and the size of a write window. */
    static final int CHUNK = 16 << 20;
    private static final int PAGE = 4096;
    private static final long IDLE_PARK_NS = 100_000_000L;
    private static final long WAIT_PARK_NS = 50_000L;
    private static final long RETRY_PARK_NS = 1_000_000_000L;

    private final Path dir;
    private final int segmentBytes;
    private final long fillAhead;
    private final boolean preTouch;
    private final boolean wholeSegments;
    /** Staged writes: create segments ahead, fill nothing. */
    private final boolean staged;
    /** The appender's end of log. */
    private final LongSupplier writtenOffset;
    private final Thread thread;
    /** Windows over filled space, in log order; the filler adds, the appender takes. */
    private final ConcurrentLinkedQueue<Window> windows = new ConcurrentLinkedQueue<>();
    /** Windows the appender is done with; the filler unmaps them (an unmap is ~1 ms of the appender's time otherwise). */
    private final ConcurrentLinkedQueue<Window> retired = new ConcurrentLinkedQueue<>();

    /** Everything below is zero-filled (or appended); written by the filler only. */
    private volatile long filledOffset;
    /** The segment being filled; filler thread only (set before start). */
    private Segment filling;
    /** The segment after the appender's active one, once created; taken by {@link #takeNext}. */
    private volatile Segment next;
    /** The end of the appender's active segment (the filler creates only the segment starting there). */
    private volatile long activeEnd;
    private volatile Thread waiter;
    /** The end the appender last waited for: the window is kept ahead of it too (a record or batch larger than the window). */
    private volatile long demand;
    private volatile Throwable failure;
    /** Time appenders spent waiting in {@link #awaitFilled}; written under the append lock, read by anyone. */
    private volatile long waitNanos;
    private volatile boolean stopping;

    /**
     * A filler that starts at {@code end} of segment {@code active} (the log's end after
     * recovery: everything from there to the segment's end is zero, as a hole or as written
     * zeros).
     */
    SegmentFiller(Path dir, int segmentBytes, long fillAhead, boolean preTouch, boolean wholeSegments, boolean staged,
                  Segment active, long end, LongSupplier writtenOffset) {
        this.dir = dir;
        this.segmentBytes = segmentBytes;
        this.fillAhead = Math.max(CHUNK, fillAhead);
        this.preTouch = preTouch;
        this.wholeSegments = wholeSegments;
        this.staged = staged;
        this.writtenOffset = writtenOffset;
        this.filling = active;
        this.activeEnd = active.endOffset();
        this.filledOffset = end;
        this.thread = new Thread(this::run, "ferry-segment-filler");
        thread.setDaemon(true);
        thread.start();
    }

    long filledOffset() {
        return filledOffset;
    }

    /** Appender: it just wrote past {@code end}; lets the filler move its window on. */
    void wake() {
        LockSupport.unpark(thread);
    }

    /** Appender: returns once every byte below {@code upTo} may be written. */
    void awaitFilled(long upTo) {
        if (filledOffset >= upTo) {
            return;
        }
        waiter = Thread.currentThread();
        demand = upTo;
        long start = System.nanoTime();
        try {
            while (filledOffset < upTo) {
                checkAlive();
                LockSupport.unpark(thread);
                LockSupport.parkNanos(this, WAIT_PARK_NS);
            }
        } finally {
            waiter = null;
            waitNanos += System.nanoTime() - start;
        }
    }

    /** Total time appenders waited for prepared space, in nanoseconds. */
    long waitNanos() {
        return waitNanos;
    }

    /**
     * Appender, at a roll-over: the segment starting at {@code base} (the filler creates it when
     * its window reaches {@code base}); from now on it is the active one.
     */
    Segment takeNext(long base) {
        awaitFilled(base + 1);
        Segment n = next;
        if (n == null || n.baseOffset != base) {
            throw new LogException("segment filler: no segment at " + base + " (has " + n + ")");
        }
        next = null;
        activeEnd = n.endOffset();
        LockSupport.unpark(thread);
        return n;
    }

    /**
     * A writable mapping of bytes [{@code from}, {@code to}) of {@code segment}; {@code buffer}
     * index 0 is segment position {@code from}. Used by the appender only, unmapped once it is past.
     */
    record Window(Segment segment, int from, int to, MappedByteBuffer buffer) {
        boolean covers(Segment s, int pos, int length) {
            return segment == s && pos >= from && pos + length <= to;
        }
    }

    /**
     * Appender: the window to hold for a record at [{@code pos}, {@code pos + length}) of
     * {@code s}: {@code current} if it still reaches past {@code pos}, else the first window that
     * does (those before it are handed back to the filler thread to unmap), or null if none is left. The record goes through it if
     * it {@link Window#covers covers} the record; a record across two windows goes through the
     * segment's own mapping.
     */
    Window windowFor(Window current, Segment s, int pos) {
        long start = s.baseOffset + pos;
        Window w = current;
        while (w == null || w.segment.baseOffset + w.to <= start) {
            if (w != null) {
                retired.add(w);
            }
            w = windows.poll();
            if (w == null) {
                return null;
            }
        }
        return w;
    }

    /**
     * Stops the thread, which unmaps the windows not taken and closes a created but never used
     * next segment (its file stays, empty; the next open deletes it) as it exits.
     */
    void close() {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("segment filler did not stop within 10 s; its unused windows stay mapped until the process exits");
        } else {
            releaseUnused(); // again, in case the thread died of an Error before it could (idempotent)
        }
    }

    /** The filler thread, on its way out: nothing it made is left mapped or open. */
    private synchronized void releaseUnused() {
        unmapRetired();
        for (Window w; (w = windows.poll()) != null; ) {
            Unmapper.unmap(w.buffer);
        }
        Segment n = next;
        if (n != null) {
            next = null;
            n.close();
        }
    }

    private void checkAlive() {
        Throwable t = failure;
        if (t != null) {
            IOException full = diskFull(t);
            if (full != null) {
                throw new DiskFullException("cannot append: the disk is full (cannot prepare commit-log space at " + filledOffset + ": "
                        + full.getMessage() + "); appends resume once space is freed", t);
            }
            throw new LogException("cannot prepare commit-log space at " + filledOffset + ": " + t, t);
        }
        if (stopping) {
            throw new LogException("store is closing");
        }
    }

    private void run() {
        try {
            boolean failing = false;
            while (!stopping) {
                try {
                    step();
                    if (failing) {
                        failing = false;
                        LOG.info("commit-log space is prepared again at {}: appends resume", filledOffset);
                    }
                } catch (RuntimeException e) {
                    // disk full, I/O error: appends that need the space fail with it until a retry works. Logged
                    // here once, not by each refused append (a producer's every send, for as long as it lasts)
                    if (!failing) {
                        failing = true;
                        IOException full = diskFull(e);
                        if (full != null) {
                            LOG.error("cannot prepare commit-log space at {} ({}): appends that need it fail until space is freed;"
                                    + " retrying every second", filledOffset, full.getMessage());
                        } else {
                            LOG.error("cannot prepare commit-log space at {}; appends that need it fail; retrying every second",
                                    filledOffset, e);
                        }
                    }
                    failure = e;
                    wakeWaiter();
                    LockSupport.parkNanos(this, RETRY_PARK_NS);
                    failure = null;
                }
            }
        } catch (Throwable t) {
            failure = t;
            wakeWaiter();
        } finally {
            if (stopping) {
                releaseUnused();
            }
        }
    }

    /**
     * One unit of work: fill one chunk of the window (first, so an appender never waits behind a
     * segment creation), or else create the active segment's successor, or else wait.
     */
    private void step() {
        unmapRetired();
        long end = activeEnd;
        long target = Math.min(Math.max(writtenOffset.getAsLong(), demand) + fillAhead, end + segmentBytes);
        long at = filledOffset;
        Segment s = filling;
        if (at < target && at < s.endOffset() && staged) {
            filledOffset = Math.min(target, s.endOffset());
            wakeWaiter();
            return;
        }
        if (at < target && at < s.endOffset()) {
            int from = (int) (at - s.baseOffset);
            int to = (int) Math.min(s.size, (long) from + CHUNK - (from & (PAGE - 1)));
            windows.add(fill(s, from, to));
            filledOffset = s.baseOffset + to;
            wakeWaiter();
            return;
        }
        if (next == null && s.endOffset() == end) {
            // the active segment has no successor yet: create it now, ahead of need
            next = Segment.create(dir, end, segmentBytes, wholeSegments);
            return;
        }
        if (at < target) {
            filling = next; // the window reaches past the active segment: fill its successor
            return;
        }
        LockSupport.parkNanos(this, IDLE_PARK_NS);
    }

    /** The I/O error behind {@code t} if it says the disk is full (ENOSPC, EDQUOT), else null. */
    private IOException diskFull(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException io && OutOfSpace.is(io, dir, 0)) {
                return io;
            }
        }
        return null;
    }

    private void unmapRetired() {
        for (Window w; (w = retired.poll()) != null; ) {
            Unmapper.unmap(w.buffer);
        }
    }

    private void wakeWaiter() {
        Thread w = waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /**
     * Prepares bytes [from, to) of {@code s} for the appender and returns a write window over them:
     * writes zeros over them (unless the segment was created zero-filled), which makes ext4 reserve
     * their blocks and reports a full disk here, as an exception, before the window is published;
     * then, with {@code preTouch}, touches each page through the window, so the appender takes no
     * page fault ({@link Zeros}: one 1 MiB source that stays in cache, so the kernel mostly writes,
     * as it would when zeroing a page itself).
     *
     * <p>Why not just touch the holes (the kernel allocates and zeroes a page on the fault, a bit
     * faster here): on a full disk the fault fails with SIGBUS, and HotSpot skips the faulting store
     * and throws its {@link InternalError} "at a later point", after this method may have returned
     * and the window been published. A record copied into such a page is lost without an error: a
     * test that filled a real disk got an acknowledged record back with another body.
     */
    private Window fill(Segment s, int from, int to) {
        MappedByteBuffer map;
        try {
            if (!s.prefilled) {
                Zeros.write(s.channel, from, to);
            }
            map = s.channel.map(FileChannel.MapMode.READ_WRITE, from, to - from);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + s.path + " at " + from + ": " + e.getMessage(), e);
        }
        if (preTouch) {
            // the bytes are reserved (written above, or at creation): the touch cannot meet a full disk.
            // Nobody writes at or above filledOffset but this thread: a plain store of the zero is safe.
            for (int p = (PAGE - (from & (PAGE - 1))) & (PAGE - 1); p < to - from; p += PAGE) {
                map.put(p, (byte) 0);
            }
        }
        return new Window(s, from, to, map);
    }
}
