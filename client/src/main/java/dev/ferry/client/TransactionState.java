package dev.ferry.client;

/** What a local transaction (or a check of one) says about a transactional message. */
public enum TransactionState {
    /** Store the message into its topic: consumers see it. */
    COMMIT,
    /** Discard the message: no consumer ever sees it. */
    ROLLBACK,
    /** Not known yet: the broker asks again later ({@link TransactionChecker}). */
    UNKNOWN
}
