package dev.ferry.connect;

import dev.ferry.protocol.Message;
import java.util.List;
import java.util.Map;

/**
 * Writes messages of topics outside Ferry. The runtime consumes the connector's
 * {@code topics} in consumer group {@code connect-NAME}, calls {@link #put} with each fetched
 * batch in queue order, then {@link #flush} before it commits the group's offsets, on one
 * thread.
 *
 * <p>At-least-once: after a crash the messages after the last committed offset are put again.
 * A sink that writes its own positions atomically with the data (the JDBC sink) returns them
 * from {@link #storedPositions} and the runtime starts there instead: exactly-once.
 *
 * <p>Not called concurrently.
 */
public interface SinkTask extends AutoCloseable {
    /**
     * Reads and checks every setting of this task, without opening anything. The runtime calls
     * it for every connector before it starts any, then rejects keys no one read (usually
     * typos), so a bad configuration fails before anything runs. A task that does not override
     * it has its unknown keys reported only after {@code start}, as a failed task. Throws
     * {@link ConnectConfigException} (the {@link ConnectorConfig} getters do).
     */
    default void configure(ConnectorConfig config) {
    }

    void start(TaskContext context) throws Exception;

    /**
     * Next offset to read per queue of {@code topic}, as the sink itself stored them; an empty
     * map means "use the consumer group's committed offsets". Called after {@link #start}.
     */
    default Map<Integer, Long> storedPositions(String topic) throws Exception {
        return Map.of();
    }

    /**
     * Writes (or buffers) messages; each carries its topic, queueId and queueOffset. A message
     * that cannot be written is reported by throwing {@link BadRecordException} for it after
     * every earlier message of the list was written; the runtime handles it (error topic or
     * stop) and calls {@code put} again with the rest.
     */
    void put(List<Message> messages) throws Exception;

    /**
     * Makes everything put so far durable outside; the runtime commits offsets after it. A
     * record the target rejects only when it is written (a database constraint) may be reported
     * here by throwing {@link BadRecordException} for it, after everything else was made
     * durable: the runtime handles it (error topic or stop) and calls {@code flush} again, and
     * the sink moves past it.
     */
    void flush() throws Exception;

    @Override
    void close() throws Exception;
}
