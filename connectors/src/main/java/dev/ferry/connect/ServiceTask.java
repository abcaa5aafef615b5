package dev.ferry.connect;

/**
 * A task that is neither source nor sink: the runtime starts it on its own thread and stops it
 * on shutdown. Segment shipping is one: it copies commit-log files, not messages.
 */
public interface ServiceTask extends AutoCloseable {
    /**
     * Reads and checks every setting of this task, without opening anything. The runtime calls
     * it for every connector before it starts any, then rejects keys no one read (usually
     * typos), so a bad configuration fails before anything runs. A task that does not override
     * it has its unknown keys reported only after {@code start}, as a failed task. Throws
     * {@link ConnectConfigException} (the {@link ConnectorConfig} getters do).
     */
    default void configure(ConnectorConfig config) {
    }

    /**
     * Runs until {@link #close} is called or the work is done; throwing fails the task. Must
     * return promptly after close.
     */
    void run(TaskContext context) throws Exception;

    /**
     * Progress for the status report: small names to numbers (e.g. bytesShipped). Called from
     * the runtime's status thread while {@link #run} runs: read only thread-safe fields here.
     */
    default java.util.Map<String, Long> progress() {
        return java.util.Map.of();
    }

    @Override
    void close() throws Exception;
}
