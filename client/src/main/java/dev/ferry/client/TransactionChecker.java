package dev.ferry.client;

import dev.ferry.protocol.Message;

/**
 * Answers the broker's check-back of a transaction left undecided (RocketMQ's
 * {@code checkLocalTransaction}): typically by looking the transaction up in the local database.
 * Called on the {@link TransactionProducer}'s checker thread, once per CHECK_TRANSACTION; may block.
 */
@FunctionalInterface
public interface TransactionChecker {
    /**
     * The state of the local transaction of {@code message} ({@code transactionId} is the id
     * {@link TransactionProducer#sendInTransaction} reported). {@link TransactionState#UNKNOWN} or an
     * exception leaves it undecided: the broker asks again after its check interval, up to its limit.
     */
    TransactionState check(Message message, String transactionId) throws Exception;
}
