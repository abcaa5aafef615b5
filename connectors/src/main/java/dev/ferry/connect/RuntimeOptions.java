package dev.ferry.connect;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;

/**
 * Where a {@link ConnectRuntime} runs: the broker it talks to and its state directory.
 * Immutable; validated when built.
 *
 * <p>The state directory holds {@code status.json} (written every {@code statusIntervalMs}),
 * {@code positions/NAME.json} (source positions, {@link PositionStore}),
 * {@code control/NAME.paused} (a pause request: the connector pauses while the file exists)
 * and {@code tasks/NAME/} (each task's own files, {@link TaskContext#stateDir()}).
 *
 * @param server           broker address {@code host:port}
 * @param stateDir         the state directory; created if missing
 * @param clock            time for the tasks and the status file
 * @param statusIntervalMs how often status.json is written and control files are looked at (default 1,000)
 * @param stopTimeoutMs    how long {@link ConnectRuntime#close()} waits in all for the tasks to stop (default 30,000):
 *                         sources wait for their acknowledgements until three quarters of it, then commit
 */
public record RuntimeOptions(String server, Path stateDir, Clock clock, long statusIntervalMs, long stopTimeoutMs) {
    public RuntimeOptions {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(clock, "clock");
        if (statusIntervalMs < 10 || statusIntervalMs > 3_600_000) {
            throw new IllegalArgumentException("statusIntervalMs: " + statusIntervalMs + " (expected: 10..3600000)");
        }
        if (stopTimeoutMs < 100 || stopTimeoutMs > 3_600_000) {
            throw new IllegalArgumentException("stopTimeoutMs: " + stopTimeoutMs + " (expected: 100..3600000)");
        }
    }

    public RuntimeOptions(String server, Path stateDir, Clock clock, long statusIntervalMs) {
        this(server, stateDir, clock, statusIntervalMs, 30_000);
    }

    public static RuntimeOptions of(String server, Path stateDir) {
        return new RuntimeOptions(server, stateDir, Clock.systemUTC(), 1_000);
    }

    public RuntimeOptions withStatusIntervalMs(long ms) {
        return new RuntimeOptions(server, stateDir, clock, ms, stopTimeoutMs);
    }

    public RuntimeOptions withStopTimeoutMs(long ms) {
        return new RuntimeOptions(server, stateDir, clock, statusIntervalMs, ms);
    }

    Path statusFile() {
        return stateDir.resolve("status.json");
    }

    Path positionsDir() {
        return stateDir.resolve("positions");
    }

    Path controlDir() {
        return stateDir.resolve("control");
    }

    Path taskDir(String connector) {
        return stateDir.resolve("tasks").resolve(connector);
    }
}
