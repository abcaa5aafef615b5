package dev.ferry.log;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forces the commit log to disk on one background thread, and writes the checkpoint.
 *
 * <p>{@link FlushMode#ASYNC}: every {@code flushIntervalMs} it forces what was appended if at
 * least {@code flushMinDirtyPages} pages are dirty (every 10th interval: whatever is dirty).
 *
 * <p>{@link FlushMode#SYNC}, group commit: an appender asks {@link #whenFlushed} for a future
 * that completes once its record's end is on disk. The thread takes every request waiting at
 * that moment, forces up to the end of everything appended so far (which covers them all), and
 * completes them together: one fsync serves all waiters, and the more writers wait, the more
 * each fsync carries. Before the next fsync it lingers briefly for the writers it just released
 * ({@link #linger}).
 *
 * <p>It does nothing else, so a group commit never waits behind slower work (the indexes and the
 * checkpoint are forced on another thread, see {@link MessageStore}).
 *
 * <p><b>Thread safety.</b> {@link #whenFlushed} may be called by any thread; the waiter list is
 * guarded by {@code lock}. Everything else runs on the flusher thread.
 */
final class Flusher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Flusher.class);
    private static final int PAGE = 4096;

    private record Waiter(long offset, CompletableFuture<Void> done) {}

    private final LogConfig config;
    private final CommitLog log;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition requested = lock.newCondition();
    private List<Waiter> waiters = new ArrayList<>();
    private final AtomicLong fsyncs = new AtomicLong();
    /** Time spent in those fsyncs, for metrics; written by whichever thread flushed, read by any. */
    private final AtomicLong fsyncNanos = new AtomicLong();
    private final Thread thread;
    /** Set by close() under the lock; volatile so the loop condition sees it without the lock. */
    private volatile boolean stopping;
    /** SYNC: waiters the thread lingers for before the next fsync (see {@link #linger}); guarded by the lock. */
    private int lingerTarget = 1;
    /** SYNC: how long the last fsync took; the linger is at most half of it. Volatile: close() may flush on its own thread. */
    private volatile long lastFsyncNanos;

    Flusher(LogConfig config, CommitLog log) {
        this.config = config;
        this.log = log;
        this.thread = new Thread(this::run, "ferry-flusher");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Completes when everything below {@code offset} is on disk. */
    CompletableFuture<Void> whenFlushed(long offset) {
        if (offset <= log.flushedOffset()) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        lock.lock();
        try {
            if (stopping) {
                f.completeExceptionally(new LogException("store is closing"));
                return f;
            }
            waiters.add(new Waiter(offset, f));
            if (waiters.size() >= lingerTarget) {
                requested.signal();
            }
        } finally {
            lock.unlock();
        }
        return f;
    }

    /** fsync calls made on the commit log so far. */
    long fsyncCount() {
        return fsyncs.get();
    }

    /** Total time those fsync calls took, in nanoseconds. */
    long fsyncNanos() {
        return fsyncNanos.get();
    }

    private void run() {
        boolean sync = config.flushMode() == FlushMode.SYNC;
        long waitMs = config.flushIntervalMs();
        int tick = 0;
        int released = 0;
        int arrivedMeanwhile = 0;
        while (!stopping) {
            List<Waiter> batch;
            lock.lock();
            try {
                if (waiters.isEmpty() && !stopping) {
                    requested.await(waitMs, TimeUnit.MILLISECONDS);
                }
                if (sync && released > 1) {
                    linger(arrivedMeanwhile + released);
                }
                batch = waiters;
                waiters = new ArrayList<>();
            } catch (InterruptedException e) {
                break;
            } finally {
                lock.unlock();
            }
            try {
                long dirty = log.writtenOffset() - log.flushedOffset();
                boolean due = !sync && (dirty >= (long) config.flushMinDirtyPages() * PAGE || (dirty > 0 && ++tick % 10 == 0));
                if (!batch.isEmpty() || due) {
                    flushNow();
                }
                long flushed = log.flushedOffset();
                released = batch.size();
                // the appends that arrived during the fsync: writers other than the ones about to be released
                arrivedMeanwhile = waiting();
                for (Waiter w : batch) {
                    if (w.offset <= flushed) {
                        w.done.complete(null);
                    } else {
                        whenFlushed(w.offset).whenComplete((v, t) -> complete(w.done, t));
                    }
                }
            } catch (RuntimeException e) {
                released = 0; // their writers get an error: none to linger for
                LOG.error("flush failed; failing {} waiting appends", batch.size(), e);
                for (Waiter w : batch) {
                    w.done.completeExceptionally(e);
                }
            }
        }
    }

    /**
     * SYNC group commit, under the lock: the appends the last fsync released come back as a wave
     * (their writers wake one after another on a busy machine); starting the next fsync at the
     * first of them would split the writers into two groups that take turns, each fsync carrying
     * half of them. So the thread waits until {@code target} appends are waiting (as many as arrived
     * during the last fsync and as many as it released), at most half as long as that fsync took (and at
     * most 1 ms). A lone writer that waits for each append before the next never lingers (it released
     * one); where released writers do not come back at once (sends that arrive independently, a burst
     * that ended) the linger runs out, and an fsync after one that released two or more appends
     * starts that much later, even for a single append.
     * Measured with 64 writers it lingered out more often than not and still carried more per fsync.
     */
    private void linger(int target) throws InterruptedException {
        long left = Math.min(lastFsyncNanos / 2, TimeUnit.MILLISECONDS.toNanos(1));
        lingerTarget = target;
        try {
            while (waiters.size() < target && left > 0 && !stopping) {
                left = requested.awaitNanos(left);
            }
        } finally {
            lingerTarget = 1;
        }
    }

    private int waiting() {
        lock.lock();
        try {
            return waiters.size();
        } finally {
            lock.unlock();
        }
    }

    private static void complete(CompletableFuture<Void> f, Throwable t) {
        if (t == null) {
            f.complete(null);
        } else {
            f.completeExceptionally(t);
        }
    }

    private void flushNow() {
        long target = log.writtenOffset();
        if (target > log.flushedOffset()) {
            long start = System.nanoTime();
            log.flush(target);
            lastFsyncNanos = System.nanoTime() - start;
            fsyncNanos.addAndGet(lastFsyncNanos);
            fsyncs.incrementAndGet();
        }
    }

    /** Stops the thread, then flushes everything and fails nothing that was appended. */
    @Override
    public void close() {
        lock.lock();
        try {
            stopping = true;
            requested.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flushNow();
        List<Waiter> rest;
        lock.lock();
        try {
            rest = waiters;
            waiters = new ArrayList<>();
        } finally {
            lock.unlock();
        }
        for (Waiter w : rest) {
            w.done.complete(null);
        }
    }
}
