package dev.ferry.connect;

/** The life of a connector's task, as {@link ConnectorStatus} reports it. */
public enum TaskState {
    /** Moving records (or waiting for some). */
    RUNNING,
    /** Paused by a control request: not polling, positions committed; resumes where it stopped. */
    PAUSED,
    /**
     * Stopped by an error; {@link ConnectorStatus#reason()} says which. Positions committed up to the last good record.
     * After a broker or I/O error the reason ends in {@code (restarting in N s)} and the task runs again after that.
     */
    FAILED,
    /** Stopped cleanly (runtime shut down, or a service task finished). */
    STOPPED
}
