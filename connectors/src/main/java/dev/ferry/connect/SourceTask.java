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
    /** Opens the source at {@code context.committedPosition()} (or its configured start). */
    void start(TaskContext context) throws Exception;

    /**
     * The next records, in order, or an empty list when there are none after waiting up to
     * {@code maxWait}. Throwing fails the task.
     */
    List<SourceRecord> poll(Duration maxWait) throws Exception;

    /**
     * Called after a position was committed (every record up to it is stored in the broker),
     * for sources that can release something then. Default: nothing.
     */
    default void committed(java.util.Map<String, String> position) throws Exception {
    }

    @Override
    void close() throws Exception;
}
