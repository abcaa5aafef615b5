package dev.ferry.gateway;

import dev.ferry.broker.Broker;
import dev.ferry.broker.TransactionDecision;
import dev.ferry.broker.TransactionOutcome;
import dev.ferry.broker.Transactions;
import dev.ferry.log.AppendResult;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The transaction request codes (docs/PROTOCOL.md, "Transactions"): SEND_HALF stores a half
 * message, END_TRANSACTION commits or rolls it back, REGISTER_PRODUCER makes the connection a
 * member of a producer group so the broker can send it CHECK_TRANSACTION; a CHECK_TRANSACTION
 * from a client is refused (only the broker sends it).
 *
 * <p><b>Thread safety.</b> Stateless apart from the shared load gate; the broker's
 * {@link Transactions} synchronizes.
 */
final class TransactionRequests {
    private final Broker broker;
    private final Transactions transactions;
    private final LoadGate load;
    private final GatewayMetrics metrics;

    TransactionRequests(Broker broker, LoadGate load, GatewayMetrics metrics) {
        this.broker = broker;
        this.transactions = broker.transactions();
        this.load = load;
        this.metrics = metrics;
    }

    CompletableFuture<Reply> handle(Command req, InetSocketAddress client, ProducerConnection producer) {
        return switch (req.code()) {
            case SEND_HALF -> sendHalf(req, client, producer);
            case END_TRANSACTION -> end(req);
            case REGISTER_PRODUCER -> {
                producer.register(Requests.required(req, Headers.PRODUCER_GROUP));
                yield plain(Command.response(req, Status.OK).build());
            }
            case CHECK_TRANSACTION -> throw new Requests.RequestException(Status.BAD_REQUEST,
                    "code: CHECK_TRANSACTION (expected: sent by the broker only; answer one with END_TRANSACTION)");
            default -> throw new IllegalArgumentException(req.code().toString());
        };
    }

    private static CompletableFuture<Reply> plain(Command c) {
        return CompletableFuture.completedFuture(new Reply.Plain(c));
    }

    private CompletableFuture<Reply> sendHalf(Command req, InetSocketAddress client, ProducerConnection producer) {
        String group = Requests.required(req, Headers.PRODUCER_GROUP);
        if (req.messages().size() != 1) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "messages: " + req.messages().size() + " (expected: exactly 1 for SEND_HALF)");
        }
        Message m = req.messages().get(0);
        if (m.deliverAt() > 0) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "deliverAt: " + m.deliverAt()
                    + " (expected: 0; a transactional message cannot be delayed)");
        }
        producer.register(group);
        String busy = load.admitSend(broker.store());
        if (busy != null) {
            throw new Requests.RequestException(Status.BUSY, busy);
        }
        try {
            int queueId = broker.chooseQueue(m.topic(), m.queueId());
            return transactions.prepare(MessageMapping.toLog(m, queueId, client, broker.config().log().maxPropertiesBytes()), group).handle((r, t) -> {
                load.sendDone();
                if (t != null) {
                    throw t instanceof CompletionException ce ? ce : new CompletionException(t);
                }
                metrics.messagesIn(Transactions.HALF_TOPIC, 1, r.size());
                return new Reply.Plain(Command.response(req, Status.OK).header(Headers.TRANSACTION_ID, r.messageId())
                        .header(Headers.MSG_ID, r.messageId()).header(Headers.QUEUE_ID, queueId).build());
            });
        } catch (RuntimeException e) {
            load.sendDone();
            throw e;
        }
    }

    private CompletableFuture<Reply> end(Command req) {
        String group = Requests.required(req, Headers.PRODUCER_GROUP);
        String id = Requests.required(req, Headers.TRANSACTION_ID);
        String d = Requests.required(req, Headers.DECISION);
        TransactionDecision decision = switch (d) {
            case "COMMIT" -> TransactionDecision.COMMIT;
            case "ROLLBACK" -> TransactionDecision.ROLLBACK;
            default -> throw new Requests.RequestException(Status.BAD_REQUEST, "header decision: '" + d
                    + "' (expected: COMMIT or ROLLBACK; a producer that does not know yet sends nothing)");
        };
        return transactions.end(id, group, decision).thenApply(o -> new Reply.Plain(endResponse(req, o)));
    }

    private Command endResponse(Command req, TransactionOutcome o) {
        Command.Builder b = Command.response(req, Status.OK).header(Headers.TRANSACTION_ID, o.transactionId())
                .header(Headers.DECISION, o.decision().name()).header(Headers.APPLIED, Boolean.toString(o.applied()));
        if (o.committed().isPresent()) {
            AppendResult r = o.committed().get();
            metrics.messagesIn(r.topic(), 1, r.size());
            b.header(Headers.TOPIC, r.topic()).header(Headers.MSG_ID, r.messageId()).header(Headers.QUEUE_ID, r.queueId()).header(Headers.QUEUE_OFFSET, r.queueOffset());
        }
        return b.build();
    }
}
