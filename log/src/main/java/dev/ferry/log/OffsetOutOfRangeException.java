package dev.ferry.log;

/**
 * A read asked for a queue offset the queue does not hold: below {@link #earliest()}, deleted by
 * retention or left behind when the topic was deleted and created again (its first offset is the
 * queue's end at the creation), or not written yet (above {@link #next()}).
 */
public final class OffsetOutOfRangeException extends LogException {
    private static final long serialVersionUID = 1L;
    private final String topic;
    private final int queueId;
    private final long asked;
    private final long earliest;
    private final long next;

    public OffsetOutOfRangeException(String topic, int queueId, long asked, long earliest, long next) {
        this(topic, queueId, asked, earliest, next, false);
    }

    /** {@code recreated}: the queue starts at {@code earliest} because its topic was created again, not because of retention. */
    OffsetOutOfRangeException(String topic, int queueId, long asked, long earliest, long next, boolean recreated) {
        super(topic + "/" + queueId + ": offset " + asked + (asked >= earliest
                ? " is past the end (expected: " + earliest + " <= offset <= " + next + ")"
                : recreated ? " is from before the topic was deleted and created again (earliest available: " + earliest + ")"
                : " was deleted by retention (earliest available: " + earliest + ")"));
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
