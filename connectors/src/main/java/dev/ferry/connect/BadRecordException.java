package dev.ferry.connect;

/**
 * One record cannot be handled (a line too long for a message, a row that violates the target
 * table's constraints, a body that is not the expected text). The runtime sends the record to
 * the connector's error topic with this message as the reason, or stops the task, as
 * {@code errors.tolerance} says; it never drops the record silently.
 *
 * <p>A task throws it for a record it has <em>not</em> written; anything else it throws fails
 * the task.
 */
public final class BadRecordException extends Exception {
    private final transient Object record;

    /** @param record the rejected record: a {@link dev.ferry.protocol.Message} for sinks, a {@link SourceRecord} for sources */
    public BadRecordException(Object record, String reason) {
        super(reason);
        this.record = record;
    }

    public BadRecordException(Object record, String reason, Throwable cause) {
        super(reason, cause);
        this.record = record;
    }

    public Object record() {
        return record;
    }
}
