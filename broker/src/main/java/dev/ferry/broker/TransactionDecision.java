package dev.ferry.broker;

/** What a transaction ends with: its half message is stored into its topic, or discarded. */
public enum TransactionDecision {
    COMMIT,
    ROLLBACK
}
