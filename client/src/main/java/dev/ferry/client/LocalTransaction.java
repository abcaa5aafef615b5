package dev.ferry.client;

import dev.ferry.protocol.Message;

/**
 * The producer's local transaction, run by {@link TransactionProducer#sendInTransaction} after the
 * half message is stored and before it is committed or rolled back (RocketMQ's
 * {@code executeLocalTransaction}). It runs on the calling thread.
 */
@FunctionalInterface
public interface LocalTransaction {
    /**
     * Runs the local transaction for {@code message} (stored as half message
     * {@code transactionId}) and says how it ended. An exception counts as {@link TransactionState#UNKNOWN}:
     * the broker will ask the {@link TransactionChecker}.
     */
    TransactionState execute(Message message, String transactionId) throws Exception;
}
