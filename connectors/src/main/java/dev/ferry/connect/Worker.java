package dev.ferry.connect;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connector's task on its own thread: the life cycle (running, paused, failed, stopped,
 * restarted after a broker or I/O error),
 * the counters the status reports, and the pause and stop requests. {@link SourceWorker},
 * {@link SinkWorker} and {@link ServiceWorker} add what their kind of task needs.
 *
 * <p><b>Thread safety.</b> {@link #loop()} and everything it calls run on the worker's thread
 * only. Other threads (the runtime, its status thread) call {@link #status()},
 * {@link #setPaused}, {@link #requestStop}, {@link #interrupt} and {@link #join}; the fields they touch are
 * volatile or atomic, and the pause/stop waits use {@code signal}'s monitor.
 */
abstract class Worker {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    static final long PAUSED_TICK_MS = 500;
    /** First wait before a task that failed on a broker or I/O error is restarted; doubles up to {@link #RESTART_MAX_MS}. */
    static final long RESTART_MIN_MS = 1_000;
    static final long RESTART_MAX_MS = 30_000;

    final String name;
    final ConnectorTypes.Type type;
    final ConnectorConfig config;
    final RuntimeServices services;
    /** The task's unknown keys were checked before start (it implements configure); else checked after start. */
    final boolean keysChecked;

    /** Counters written by the worker thread, read by the status thread. */
    final AtomicLong recordsIn = new AtomicLong();
    final AtomicLong recordsOut = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    /** Written by the worker thread, read by the status thread; volatile for visibility only. */
    volatile long lag = -1;
    private volatile TaskState state = TaskState.RUNNING;
    private volatile String reason = "";
    /** While waiting to restart after a failure: when ({@link System#nanoTime()}); else 0. */
    private volatile long restartAtNanos;
    /** Set by the runtime's control handling; volatile so the worker sees it without locking. */
    volatile boolean pauseRequested;
    /** Set once by {@link #requestStop}; volatile so the worker's loop sees it. */
    volatile boolean stopRequested;
    /** Set by {@link #requestStop} before {@code stopRequested}: until when ({@link System#nanoTime()}) a stopping task may wait. */
    volatile long settleByNanos;
    private final Object signal = new Object();
    private Thread thread;

    Worker(String name, ConnectorTypes.Type type, ConnectorConfig config, RuntimeServices services, boolean keysChecked) {
        this.name = name;
        this.type = type;
        this.config = config;
        this.services = services;
        this.keysChecked = keysChecked;
    }

    /** The task's work until stop is requested; throws to fail the task. */
    abstract void loop() throws Exception;

    /** Called on the worker thread about every {@link #PAUSED_TICK_MS} while paused (the sink measures its lag). */
    void whilePaused() {
    }

    /** Called on the stopping thread after the stop flag is set; a task blocked in its own call can be woken here. */
    void onStopRequested() {
    }

    /** Whether a failure on a broker or I/O error restarts the task (sources and sinks); services handle their own errors. */
    boolean restartable() {
        return false;
    }

    /** Before {@link #loop()} runs again after a failure: a fresh task instance and a clean worker state. */
    void prepareRestart() {
    }

    /** A daemon: a task that does not stop in time (see {@link ConnectRuntime#close()}) must not keep the JVM alive. */
    final void start() {
        thread = new Thread(this::runSafely, "connect-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** After the runtime's stop deadline: interrupts a task still blocked somewhere. */
    final void interrupt() {
        thread.interrupt();
    }

    /**
     * Runs {@link #loop()}; a failure on a broker or I/O error (the broker unreachable, a send
     * that failed after the producer's retries, a database connection lost: {@link Retriable})
     * restarts it after {@link #RESTART_MIN_MS}, doubling up to {@link #RESTART_MAX_MS} (back to
     * the minimum once an attempt ran that long): meanwhile the state is FAILED with the reason and
     * the time left. A bad record (errors.tolerance=none), a configuration error, a request the
     * broker refuses (BAD_REQUEST, LIMIT_EXCEEDED), a database error other than an unreachable
     * database, or any other exception fails the task for good.
     */
    private void runSafely() {
        long backoffMs = RESTART_MIN_MS;
        while (true) {
            long started = System.nanoTime();
            try {
                loop();
                state = TaskState.STOPPED;
                return;
            } catch (Throwable t) {
                reason = describe(t);
                if (stopRequested || !restartable() || !Retriable.failure(t)) {
                    state = TaskState.FAILED;
                    LOG.error("connector {}: failed: {}", name, reason, t);
                    return;
                }
                if (System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(RESTART_MAX_MS)) {
                    backoffMs = RESTART_MIN_MS;
                }
                restartAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMs);
                state = TaskState.FAILED;
                LOG.error("connector {}: failed: {}; restarting in {} ms", name, reason, backoffMs, t);
            }
            try {
                if (!awaitRestart()) {
                    restartAtNanos = 0;
                    return; // stopped while waiting: stays FAILED with the reason
                }
                prepareRestart();
            } catch (Throwable t) {
                restartAtNanos = 0;
                reason = describe(t);
                LOG.error("connector {}: restart failed: {}", name, reason, t);
                return;
            }
            backoffMs = Math.min(backoffMs * 2, RESTART_MAX_MS);
            state = TaskState.RUNNING;
            reason = "";
            restartAtNanos = 0;
            LOG.info("connector {}: restarting", name);
        }
    }

    /** Waits until {@code restartAtNanos}; false if stop was requested first. */
    private boolean awaitRestart() throws InterruptedException {
        synchronized (signal) {
            long left;
            while (!stopRequested && (left = restartAtNanos - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(signal, left);
            }
        }
        return !stopRequested;
    }

    static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }

    /** For tasks that do not implement configure: their unknown keys are an error now. */
    final void checkKeysAfterStart() {
        if (!keysChecked) {
            Set<String> unread = config.unreadKeys();
            if (!unread.isEmpty()) {
                throw ConnectRuntime.unknownKey(config, type, unread.iterator().next());
            }
        }
    }

    final TaskContext context(Map<String, String> committed) {
        return new TaskContextImpl(config, committed, services.options().taskDir(name), services.options().clock(),
                services.options().server());
    }

    final void setPaused(boolean paused) {
        pauseRequested = paused;
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    /** Asks the task to stop; what it still has to settle (a source's acknowledgements) it waits for until {@code settleByNanos}. */
    final void requestStop(long settleByNanos) {
        this.settleByNanos = settleByNanos;
        stopRequested = true;
        synchronized (signal) {
            signal.notifyAll();
        }
        onStopRequested();
    }

    /** Marks the task paused and waits until resumed or stopped. The caller has committed what it had. */
    final void pauseUntilResumed() throws InterruptedException {
        state = TaskState.PAUSED;
        LOG.info("connector {}: paused", name);
        while (pauseRequested && !stopRequested) {
            synchronized (signal) {
                if (pauseRequested && !stopRequested) {
                    signal.wait(PAUSED_TICK_MS);
                }
            }
            whilePaused();
        }
        if (!stopRequested) {
            state = TaskState.RUNNING;
            LOG.info("connector {}: resumed", name);
        }
    }

    /** Waits up to {@code ms} unless stop (or pause) is requested first. */
    final void idle(long ms) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        synchronized (signal) {
            long left;
            while (!stopRequested && !pauseRequested && (left = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(signal, left);
            }
        }
    }

    final boolean join(long ms) throws InterruptedException {
        thread.join(ms);
        return !thread.isAlive();
    }

    final TaskState state() {
        return state;
    }

    Map<String, Long> progress() {
        return Map.of();
    }

    final ConnectorStatus status() {
        TaskState s = state;
        String why = "";
        if (s == TaskState.FAILED) {
            long restartAt = restartAtNanos;
            long left = Math.max(0, restartAt - System.nanoTime());
            why = restartAt == 0 ? reason : reason + " (restarting in " + (left + 999_999_999L) / 1_000_000_000L + " s)";
        }
        return new ConnectorStatus(name, type.name(), type.kind(), s, why, recordsIn.get(),
                recordsOut.get(), errors.get(), lag, progress());
    }

    /** The task's context. Immutable. */
    private record TaskContextImpl(ConnectorConfig config, Map<String, String> committedPosition, java.nio.file.Path stateDir,
                                   java.time.Clock clock, String server) implements TaskContext {
    }
}
