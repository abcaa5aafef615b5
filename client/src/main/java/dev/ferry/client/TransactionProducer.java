package dev.ferry.client;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends transactional messages, RocketMQ style (docs/PROTOCOL.md, "Transactions"):
 *
 * <pre>{@code
 * try (TransactionProducer p = client.transactionProducer("orders-tx", (msg, txId) -> db.stateOf(txId))) {
 *     TransactionResult r = p.sendInTransaction(message, (msg, txId) -> {
 *         db.insertOrder(order, txId);        // the local transaction
 *         return TransactionState.COMMIT;
 *     });
 * }
 * }</pre>
 *
 * <p>{@link #sendInTransaction} stores the message as a <em>half message</em> (durable, invisible to
 * consumers), runs the local transaction on the calling thread, then commits (the message appears
 * in its topic, once) or rolls back (it never does). When the local transaction answers
 * {@link TransactionState#UNKNOWN}, throws, or the producer dies before ending it, the broker later
 * asks the producer group: a {@link TransactionChecker} of any live producer of the group answers.
 * {@link #sendHalf}, {@link #commit} and {@link #rollback} are the same steps one by one.
 *
 * <p>The producer has its own connection, registered with the broker as a member of its producer
 * group, and re-opens it by itself after it is lost (so check-backs reach it after a broker
 * restart). An end lost with its connection is sent again ({@link TransactionProducerConfig#endRetries()}):
 * ends are idempotent on the broker.
 *
 * <p><b>Thread safety.</b> Safe for any number of threads; each call blocks its thread until the
 * broker answered. Checks run one at a time on the producer's checker thread.
 */
public final class TransactionProducer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionProducer.class);
    private static final int MAX_QUEUED_CHECKS = 10_000;

    private final FerryClient client;
    private final ClientConfig clientConfig;
    private final TransactionProducerConfig config;
    private final TransactionChecker checker;
    private final Codec codec;
    private final EventLoop loop;
    private final ThreadPoolExecutor checks;
    /** The current connection (being opened, open or lost); replaced under {@code this}. */
    private CompletableFuture<Connection> conn;
    /** Set by {@link #close()}; volatile so the reconnect task and senders see it. */
    private volatile boolean closed;

    TransactionProducer(FerryClient client, TransactionProducerConfig config, TransactionChecker checker) {
        this.client = client;
        this.clientConfig = client.config();
        this.config = config;
        this.checker = Objects.requireNonNull(checker, "checker");
        this.codec = client.codecInstance();
        this.loop = client.transport().nextLoop();
        this.checks = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(MAX_QUEUED_CHECKS), r -> {
            Thread t = new Thread(r, "ferry-tx-checker-" + config.producerGroup());
            t.setDaemon(true);
            return t;
        }, (r, e) -> LOG.warn("producer group {}: {} checks queued; dropping one (the broker asks again)", config.producerGroup(),
                MAX_QUEUED_CHECKS));
        // fail fast when the broker is unreachable or refuses the group
        client.await(connection(), clientConfig.connectTimeoutMs() * 2, "connect to " + clientConfig.host() + ":" + clientConfig.port());
    }

    public TransactionProducerConfig config() {
        return config;
    }

    /**
     * Stores {@code message} as a half message, runs {@code local}, and commits or rolls back as it
     * says; UNKNOWN (or an exception of {@code local}) leaves the decision to the check-back.
     *
     * @throws FerryException if the half message was not stored ({@code local} did not run; but if
     *                        the answer was lost after the broker stored it, the broker will check
     *                        back a transaction id this producer never saw: the checker should
     *                        answer ROLLBACK for ids it does not know), or the end cannot be
     *                        delivered after its retries (the check-back will decide)
     */
    public TransactionResult sendInTransaction(Message message, LocalTransaction local) {
        Objects.requireNonNull(local, "local");
        Half half = half(message);
        TransactionState state;
        Throwable failure = null;
        try {
            state = Objects.requireNonNullElse(local.execute(half.message, half.transactionId), TransactionState.UNKNOWN);
        } catch (Exception | AssertionError e) {
            LOG.warn("transaction {}: local transaction failed; left to the check-back", half.transactionId, e);
            state = TransactionState.UNKNOWN;
            failure = e;
        }
        Optional<SendResult> committed = Optional.empty();
        switch (state) {
            case COMMIT -> committed = commit(half.transactionId);
            case ROLLBACK -> rollback(half.transactionId);
            case UNKNOWN -> { }
        }
        return new TransactionResult(half.transactionId, state, committed, Optional.ofNullable(failure));
    }

    /** Stores {@code message} as a half message (invisible until committed); returns the transaction id. */
    public String sendHalf(Message message) {
        return half(message).transactionId;
    }

    /**
     * Commits the transaction: its message is stored into its topic. Returns where, or empty if the
     * transaction was already committed (by an earlier call or a check-back answer).
     *
     * @throws FerryException with status BAD_REQUEST if it was rolled back, NOT_FOUND if no such transaction
     */
    public Optional<SendResult> commit(String transactionId) {
        Command r = end(transactionId, TransactionState.COMMIT, false);
        String msgId = r.header(Headers.MSG_ID);
        if (msgId == null) {
            return Optional.empty();
        }
        return Optional.of(new SendResult(r.header(Headers.TOPIC), (int) FerryClient.number(r, Headers.QUEUE_ID),
                FerryClient.number(r, Headers.QUEUE_OFFSET), BatchIds.single(msgId), 0));
    }

    /**
     * Rolls the transaction back: its message is never visible. Doing it twice is harmless.
     *
     * @throws FerryException with status BAD_REQUEST if it was committed, NOT_FOUND if no such transaction
     */
    public void rollback(String transactionId) {
        end(transactionId, TransactionState.ROLLBACK, false);
    }

    private record Half(String transactionId, Message message) {}

    private Half half(Message message) {
        checkOpen();
        Checks.topic(message.topic());
        Message m = message.bornTimestamp() != 0 ? message : message.toBuilder().bornTimestamp(System.currentTimeMillis()).build();
        Command r = call(Command.builder().code(RequestCode.SEND_HALF).header(Headers.PRODUCER_GROUP, config.producerGroup())
                .messages(List.of(m)), "SEND_HALF " + m.topic());
        String id = r.header(Headers.TRANSACTION_ID);
        if (id == null) {
            throw FerryException.broker(dev.ferry.protocol.Status.INTERNAL_ERROR, "SEND_HALF " + m.topic(), "no transactionId in the response");
        }
        return new Half(id, m.toBuilder().queueId((int) FerryClient.number(r, Headers.QUEUE_ID)).msgId(id).build());
    }

    private Command end(String transactionId, TransactionState state, boolean fromCheck) {
        checkOpen();
        Checks.nonEmpty("transactionId", transactionId);
        Command.Builder b = Command.builder().code(RequestCode.END_TRANSACTION).header(Headers.PRODUCER_GROUP, config.producerGroup())
                .header(Headers.TRANSACTION_ID, transactionId).header(Headers.DECISION, state.name());
        if (fromCheck) {
            b.header(Headers.FROM_CHECK, "true");
        }
        String what = "END_TRANSACTION " + transactionId + " " + state;
        for (int attempt = 0; ; attempt++) {
            try {
                return call(b, what);
            } catch (FerryException e) {
                if (!e.retryable() || attempt >= config.endRetries() || closed) {
                    throw e;
                }
                LOG.debug("{}: {}; sending it again", what, e.getMessage());
                sleep(config.reconnectBackoffMs());
            }
        }
    }

    private Command call(Command.Builder b, String what) {
        Command r = client.await(connection().thenCompose(c -> c.request(b, clientConfig.requestTimeoutMs(), what)),
                clientConfig.requestTimeoutMs() * 2, what);
        FerryClient.check(r, what);
        return r;
    }

    // ---- connection and check-backs --------------------------------------------------------------

    /** The open connection, or one being opened (and registered) now if it was lost. */
    private synchronized CompletableFuture<Connection> connection() {
        CompletableFuture<Connection> c = conn;
        if (c == null || (c.isDone() && (c.isCompletedExceptionally() || !c.join().isOpen()))) {
            c = Connection.open(client.transport(), loop, clientConfig, codec).thenCompose(this::register);
            conn = c;
        }
        return c;
    }

    /** Joins the producer group on {@code c}: from then on the broker may send it CHECK_TRANSACTION. */
    private CompletableFuture<Connection> register(Connection c) {
        c.onOneway(this::onOneway);
        c.onClose(this::reconnectLater);
        return c.request(Command.builder().code(RequestCode.REGISTER_PRODUCER).header(Headers.PRODUCER_GROUP, config.producerGroup())
                .header(Headers.CLIENT_ID, clientConfig.clientId()), clientConfig.requestTimeoutMs(), "REGISTER_PRODUCER").thenApply(r -> {
                    if (r.status() != dev.ferry.protocol.Status.OK) {
                        c.close();
                        throw FerryException.broker(r.status(), "REGISTER_PRODUCER " + config.producerGroup(), r.message());
                    }
                    return c;
                });
    }

    /** After a lost connection: reconnect (and re-register) until it works or the producer is closed. */
    private void reconnectLater() {
        if (closed) {
            return;
        }
        loop.schedule(() -> {
            if (!closed) {
                connection().whenComplete((c, t) -> {
                    if (t != null) {
                        reconnectLater();
                    }
                });
            }
        }, config.reconnectBackoffMs(), TimeUnit.MILLISECONDS);
    }

    /** A one-way command from the broker, on the event loop: a check goes to the checker thread. */
    private void onOneway(Command c) {
        if (c.code() != RequestCode.CHECK_TRANSACTION || closed) {
            return;
        }
        String id = c.header(Headers.TRANSACTION_ID);
        if (id == null || c.messages().size() != 1) {
            LOG.warn("ignoring a malformed CHECK_TRANSACTION: transactionId {}, {} messages", id, c.messages().size());
            return;
        }
        checks.execute(() -> answer(id, c.messages().get(0), c.header(Headers.CHECK_TIMES)));
    }

    private void answer(String transactionId, Message message, String checkTimes) {
        TransactionState state;
        try {
            state = Objects.requireNonNullElse(checker.check(message, transactionId), TransactionState.UNKNOWN);
        } catch (Exception | AssertionError e) {
            LOG.warn("transaction {}: checker failed (check {}); left undecided", transactionId, checkTimes, e);
            return;
        }
        if (state == TransactionState.UNKNOWN || closed) {
            return;
        }
        try {
            end(transactionId, state, true);
        } catch (FerryException e) {
            LOG.warn("transaction {}: cannot answer check {} with {}: {}", transactionId, checkTimes, state, e.getMessage());
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("transaction producer closed");
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw FerryException.client("interrupted");
        }
    }

    /** Stops answering checks and closes the connection; transactions left undecided are checked with other members of the group. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        checks.shutdown();
        CompletableFuture<Connection> c;
        synchronized (this) {
            c = conn;
        }
        if (c != null) {
            c.thenAccept(Connection::close);
        }
        client.forget(this);
    }
}
