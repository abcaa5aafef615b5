package dev.ferry.log;

/**
 * A read asked for a queue offset the queue does not hold: deleted by retention (below
 * {@link #earliest()}) or not written yet (above {@link #next()}).
 */
public final class OffsetOutOfRangeException extends LogException {
    private static final long serialVersionUID = 1L;
    private final String topic;
    private final int queueId;
    private final long asked;
    private final long earliest;
    private final long next;

    public OffsetOutOfRangeException(String topic, int queueId, long asked, long earliest, long next) {
        super(topic + "/" + queueId + ": offset " + asked + (asked < earliest
                ? " was deleted by retention (earliest available: " + earliest + ")"
                : " is past the end (expected: " + earliest + " <= offset <= " + next + ")"));
        this.topic = topic;
        this.queueId = queueId;
        this.asked = asked;
        this.earliest = earliest;
        this.next = next;
    }

    public String topic() { return topic; }
    public int queueId() { return queueId; }
    public long asked() { return asked; }
    public long earliest() { return earliest; }
    public long next() { return next; }
}
