package dev.ferry.client;

import java.util.Optional;

/**
 * How {@link TransactionProducer#sendInTransaction} ended.
 *
 * @param transactionId the transaction's id (its half message's id); what a {@link TransactionChecker} is asked about
 * @param state         what the local transaction returned: COMMIT and ROLLBACK were applied on the broker; UNKNOWN leaves the
 *                      decision to the check-back
 * @param committed     where the committed message was stored, when this call committed it
 * @param localFailure  the local transaction's exception, when it threw (the state is then UNKNOWN)
 */
public record TransactionResult(String transactionId, TransactionState state, Optional<SendResult> committed,
                                Optional<Throwable> localFailure) {
}
