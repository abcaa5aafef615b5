package dev.ferry.connect.ship;

import java.io.Closeable;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A deadline for blocking writes, which no socket option can bound: when a watched write makes
 * no progress for {@code timeout}, a timer thread runs the write's {@code onStall} action (for
 * a socket: shut it, which makes the blocked call fail), and {@link Watch#end} then tells the
 * writer so, so that it reports a timeout rather than the "Broken pipe" the cut produces.
 *
 * <p><b>Rule.</b> A {@link Watch} stalls when, while it is open and not
 * {@linkplain Watch#pause() paused}, {@code timeout} passed (on the injected clock) since the
 * latest of its start, its last {@link Watch#progress} and its last {@link Watch#resume}. So
 * every bit of progress moves the deadline: a slow writer that keeps moving is never cut off.
 * Progress is only as fine-grained as the writer reports it; a blocking call reports once it
 * returned, so the writer keeps each call short enough (see {@link SocketTarget}).
 *
 * <p><b>Timer.</b> One check is scheduled for when the deadline would fall; finding progress
 * since, it schedules itself again for the new deadline. So a long write costs one wake-up per
 * {@code timeout} at most, and nothing is scheduled while no write is watched. The timer's
 * thread is a daemon, started on demand and ended after 30 s idle, like {@link Overlap}'s.
 * The clock is the task's ({@code TaskContext.clock()}); a wall clock stepped forward by more
 * than {@code timeout} during a write cuts it, and the attempt is retried like any other.
 *
 * <p><b>Thread safety.</b> Thread-safe. One write is watched at a time; the writing thread
 * calls {@link #watch} and the {@link Watch}'s methods, the timer thread {@link #check}. All
 * state is guarded by this object's monitor; {@code onStall} runs on the timer thread outside
 * it (it may block briefly: shutting a socket).
 */
final class WriteWatchdog implements Closeable {
    private final long timeoutMs;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor timer;
    /** The open watch, or null; guarded by this. */
    private Watch current;
    /** Whether a check is scheduled; guarded by this. */
    private boolean checkScheduled;

    WriteWatchdog(Duration timeout, Clock clock, String name) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: positive)");
        }
        this.timeoutMs = timeout.toMillis();
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "ferry-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        timer.setKeepAliveTime(30, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true); // a pending check keeps the thread: the pool never times out with a task queued
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * Starts watching a write; its deadline is {@code timeout} from now.
     *
     * @param onStall run once, on the timer thread, if the write stalls; it must make the write fail
     * @throws IllegalStateException another write is watched (its {@link Watch#end} was not called)
     */
    synchronized Watch watch(Runnable onStall) {
        if (current != null) {
            throw new IllegalStateException("a write is already watched (expected: end() before the next watch())");
        }
        current = new Watch(onStall, clock.millis());
        scheduleCheck(timeoutMs);
        return current;
    }

    /** The timer's check; package-private so a test with a hand-moved clock can run it at will. */
    void check() {
        Runnable stall;
        synchronized (this) {
            checkScheduled = false;
            Watch w = current;
            if (w == null) {
                return; // nothing watched: the next watch() schedules again
            }
            long idle = w.paused ? 0 : clock.millis() - w.since;
            if (idle < timeoutMs) {
                scheduleCheck(timeoutMs - idle);
                return;
            }
            w.stalled = true;
            current = null;
            stall = w.onStall;
        }
        stall.run();
    }

    /** Guarded by this. */
    private void scheduleCheck(long delayMs) {
        if (!checkScheduled && !timer.isShutdown()) {
            checkScheduled = true;
            timer.schedule(this::check, delayMs, TimeUnit.MILLISECONDS);
        }
    }

    /** Drops a pending check and lets the thread end; a watch still open is no longer checked. */
    @Override
    public void close() {
        timer.shutdown();
    }

    /** One watched write. Its methods are the writing thread's. */
    final class Watch {
        private final Runnable onStall;
        /** When the deadline started: the watch's start, its last progress or resume; guarded by the watchdog. */
        private long since;
        /** Guarded by the watchdog. */
        private boolean paused;
        /** Set by the check that ran onStall; guarded by the watchdog. */
        private boolean stalled;

        private Watch(Runnable onStall, long since) {
            this.onStall = onStall;
            this.since = since;
        }

        /** Some bytes were written: the deadline is {@code timeout} from now. */
        void progress() {
            synchronized (WriteWatchdog.this) {
                since = clock.millis();
            }
        }

        /** The writer waits on purpose (a rate limit): the time until {@link #resume} does not count. */
        void pause() {
            synchronized (WriteWatchdog.this) {
                paused = true;
            }
        }

        /** The writer goes on after a {@link #pause}: the deadline is {@code timeout} from now. */
        void resume() {
            synchronized (WriteWatchdog.this) {
                paused = false;
                since = clock.millis();
            }
        }

        /**
         * Ends the watch; idempotent.
         *
         * @return whether it stalled: {@code onStall} ran, or is running on the timer thread
         */
        boolean end() {
            synchronized (WriteWatchdog.this) {
                if (current == this) {
                    current = null;
                }
                return stalled;
            }
        }
    }
}
