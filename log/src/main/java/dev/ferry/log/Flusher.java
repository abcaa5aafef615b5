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
 * each fsync carries.
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
            requested.signal();
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
        while (!stopping) {
            List<Waiter> batch;
            lock.lock();
            try {
                if (waiters.isEmpty() && !stopping) {
                    requested.await(waitMs, TimeUnit.MILLISECONDS);
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
                for (Waiter w : batch) {
                    if (w.offset <= flushed) {
                        w.done.complete(null);
                    } else {
                        whenFlushed(w.offset).whenComplete((v, t) -> complete(w.done, t));
                    }
                }
            } catch (RuntimeException e) {
                LOG.error("flush failed; failing {} waiting appends", batch.size(), e);
                for (Waiter w : batch) {
                    w.done.completeExceptionally(e);
                }
            }
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
            fsyncNanos.addAndGet(System.nanoTime() - start);
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
