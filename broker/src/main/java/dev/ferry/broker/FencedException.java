package dev.ferry.broker;

/**
 * A group member asked to consume, ack or commit on a queue it does not own (any more), or
 * with a generation older than the queue's assignment, or (orderly) without holding the queue's
 * lock. The member should heartbeat and follow the assignment it gets back.
 */
public final class FencedException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public FencedException(String message) {
        super(message);
    }
}
