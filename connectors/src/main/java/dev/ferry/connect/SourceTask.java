package dev.ferry.connect;

import java.time.Duration;
import java.util.List;

/**
 * Reads records from outside Ferry. The runtime calls {@link #start}, then {@link #poll} in a
 * loop on one thread, sends what it returns, and commits positions as the broker acknowledges
 * them; {@link #close} is called on the same thread when the task stops.
 *
 * <p>Not called concurrently: an implementation needs no locking of its own.
 */
public interface SourceTask extends AutoCloseable {
    /**
     * Reads and checks every setting of this task, without opening anything. The runtime calls
     * it for every connector before it starts any, then rejects keys no one read (usually
     * typos), so a bad configuration fails before anything runs. A task that does not override
     * it has its unknown keys reported only after {@code start}, as a failed task. Throws
     * {@link ConnectConfigException} (the {@link ConnectorConfig} getters do).
     */
    default void configure(ConnectorConfig config) {
    }

    /** Opens the source at {@code context.committedPosition()} (or its configured start). */
    void start(TaskContext context) throws Exception;

    /**
     * The next records, in order, or an empty list when there are none after waiting up to
     * {@code maxWait}. Throwing fails the task.
     */
    List<SourceRecord> poll(Duration maxWait) throws Exception;

    /**
     * The position the task opened the source at when it started without a committed position,
     * if that is not the source's beginning (the file source with {@code start=end}): the runtime
     * commits it at once, before any record, so the next start resumes there rather than applying
     * the configured start again and skipping what came in between. Called after {@link #start};
     * empty (the default) when there is nothing to commit.
     */
    default java.util.Map<String, String> startPosition() {
        return java.util.Map.of();
    }

    /**
     * Called after a position was committed (every record up to it is stored in the broker),
     * for sources that can release something then. Default: nothing.
     */
    default void committed(java.util.Map<String, String> position) throws Exception {
    }

    /**
     * Whether this task's records carry sharding keys. A send with a sharding key needs the
     * topic's queue count, so it fails (NOT_FOUND, for good) while the topic does not exist,
     * where a send without one creates it on a broker that auto-creates topics; so the runtime
     * waits at start for the connector's {@code topic} to exist when this says yes, and the
     * missing topic shows in the log at start rather than as a failure at the first record.
     * Called after {@link #start}. Default: no.
     */
    default boolean sendsShardingKeys() {
        return false;
    }

    /**
     * How far behind the source this task is, in the task's own unit (the file source: bytes
     * not read yet), or -1 when it cannot say. Called on the task's thread after each poll.
     */
    default long lag() {
        return -1;
    }

    @Override
    void close() throws Exception;
}
