package dev.ferry.client;

/** Where a {@link Consumer} starts reading each of its queues. */
public enum StartPosition {
    /** The group's committed offset; the earliest stored offset for a queue it never committed. */
    COMMITTED_ELSE_EARLIEST,
    /** The group's committed offset; the queue's end (only new messages) for a queue it never committed. */
    COMMITTED_ELSE_LATEST,
    /** The earliest stored offset, whatever the group committed. */
    EARLIEST,
    /** The queue's end: only messages stored after the consumer started. */
    LATEST
}
