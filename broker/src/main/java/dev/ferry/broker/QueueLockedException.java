package dev.ferry.broker;

/** LOCK_QUEUE of a queue whose lock another member holds; retry after it is released or expires. */
public final class QueueLockedException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public QueueLockedException(String message) {
        super(message);
    }
}
