package dev.ferry.connect;

/**
 * A task that is neither source nor sink: the runtime starts it on its own thread and stops it
 * on shutdown. Segment shipping is one: it copies commit-log files, not messages.
 */
public interface ServiceTask extends AutoCloseable {
    /**
     * Runs until {@link #close} is called or the work is done; throwing fails the task. Must
     * return promptly after close.
     */
    void run(TaskContext context) throws Exception;

    /** Progress for the status report: small names to numbers (e.g. bytesShipped). */
    default java.util.Map<String, Long> progress() {
        return java.util.Map.of();
    }

    @Override
    void close() throws Exception;
}
