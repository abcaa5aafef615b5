package dev.ferry.broker;

/**
 * A live connection of a transactional producer, as the broker sees it: where it sends
 * check-backs. The gateway implements it over a socket and registers it with
 * {@link Transactions#registerProducer}.
 *
 * <p><b>Contract.</b> Called from the broker's transaction-check thread; implementations must be
 * thread-safe and must not block (queue the write and return).
 */
public interface ProducerChannel {
    /** False once the connection closed; the broker then forgets it. */
    boolean isActive();

    /** Queues {@code check} for the producer; false if it cannot be sent now (closed, or its writes back up). */
    boolean sendCheck(TransactionCheck check);
}
