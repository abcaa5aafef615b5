package dev.ferry.broker;

import dev.ferry.log.StoredMessage;

/**
 * A check-back the broker asks a producer group to answer: is this transaction committed or
 * rolled back? The producer answers with an end of the transaction ({@link Transactions#end}).
 *
 * @param transactionId the transaction, the id of its half message
 * @param producerGroup the group whose producer stored it
 * @param checkTimes    the number of this check, 1 for the first (counted across broker restarts)
 * @param message       the half message as the producer sent it: its real topic and queue, user
 *                      properties only; its physical offset (so its message id) is the half's
 */
public record TransactionCheck(String transactionId, String producerGroup, int checkTimes, StoredMessage message) {
}
