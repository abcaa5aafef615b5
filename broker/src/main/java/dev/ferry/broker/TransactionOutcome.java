package dev.ferry.broker;

import dev.ferry.log.AppendResult;
import java.util.Optional;

/**
 * The answer to an end of a transaction.
 *
 * @param transactionId the transaction (its half message's id)
 * @param decision      the decision in force
 * @param applied       true if this call applied it; false if the transaction had already been decided the same way
 * @param committed     where the committed message was stored, when this call committed it; empty otherwise
 */
public record TransactionOutcome(String transactionId, TransactionDecision decision, boolean applied, Optional<AppendResult> committed) {
}
