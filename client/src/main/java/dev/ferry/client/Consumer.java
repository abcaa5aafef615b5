package dev.ferry.client;

import dev.ferry.log.StoredRecords;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.binary.BinaryCodec;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads messages of some or all queues of one topic for one consumer group, {@link #poll}
 * style, as Kafka's consumer with {@code assign}: the group only names the committed offsets, the
 * broker does not share the queues among consumers of one group (a {@link GroupConsumer} is a
 * member that it does share them with).
 *
 * <p><b>Fetching.</b> Each queue has at most one FETCH in flight, a long poll of up to
 * {@link ConsumerConfig#maxWaitMs()}; as soon as one returns, the next is sent from its
 * {@code nextOffset}, until {@link ConsumerConfig#maxBufferedBytesPerQueue()} bytes wait unpolled
 * for that queue. So a queue's messages arrive in order, and fetching overlaps with the
 * application's work. Responses are decoded on the polling thread, not the event loop: with the
 * binary codec the response body holds the stored records, decoded (and CRC-checked) by
 * {@link StoredRecords}; the other codecs carry decoded messages.
 *
 * <p><b>Positions and commits.</b> A queue's position is the offset after the last message
 * {@link #poll} returned. {@link #commitSync()} stores the positions as the group's committed
 * offsets; with {@code autoCommit}, {@link #poll} does so every {@code autoCommitIntervalMs}
 * (committing what earlier polls returned, so processing before the next poll gives
 * at-least-once), and {@link #close()} once more. A FETCH answered OFFSET_OUT_OF_RANGE (retention
 * removed the data, or a seek went past the queue's end) moves the queue, and its position, to the
 * nearest stored offset.
 *
 * <p><b>Thread safety.</b> Not thread-safe: one thread polls, seeks, commits and closes, as with
 * Kafka's consumer. Internally the event loop owns the fetch state of each queue; polled
 * batches cross to the polling thread through a blocking queue.
 */
public final class Consumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Consumer.class);

    /** One queue's state: fetch side on the event loop, poll side on the polling thread. */
    private static final class QueueState {
        final int queueId;
        final String label;
        /** Fetched, unpolled bytes; both threads. */
        final AtomicLong buffered = new AtomicLong();
        /**
         * An error of this queue waits in {@code ready}: set by the event loop when it queues one,
         * cleared by the polling thread when poll reports it. One is enough: poll reports one per
         * call, and a queue failing every second (a deleted topic) must not leave a backlog of
         * stale errors for its messages to wait behind once it is back.
         */
        final AtomicBoolean errorQueued = new AtomicBoolean();
        // event loop
        long fetchOffset;
        boolean fetchInFlight;
        boolean paused;
        int epoch;
        // polling thread
        long position;
        int pollEpoch;
        /** Last committed offset; written by whichever thread saw the commit succeed. */
        volatile long committed = -1;

        QueueState(int queueId, String topic) {
            this.queueId = queueId;
            this.label = "FETCH " + topic + "/" + queueId;
        }
    }

    /**
     * A FETCH response waiting to be polled, or an error to report from poll. {@code outOfRange}:
     * an OFFSET_OUT_OF_RANGE answer moved the queue to {@code nextOffset}, down too (the offset was
     * past the queue's end), so the polling position goes there, not only up.
     */
    private record Fetched(QueueState queue, int epoch, Command response, long nextOffset, long bytes, FerryException error,
                           boolean outOfRange) {
    }

    private final FerryClient client;
    private final ConsumerConfig config;
    private final ClientConfig clientConfig;
    private final Codec codec;
    private final boolean storedRecords;
    private final EventLoop loop;
    private final Map<Integer, QueueState> queues = new LinkedHashMap<>();
    private final LinkedBlockingQueue<Fetched> ready = new LinkedBlockingQueue<>();

    // polling thread
    private List<Message> current = List.of();
    private int currentIndex;
    private Fetched currentFetched;
    private long lastCommitNanos = System.nanoTime();
    private boolean closed;

    // event loop
    private Connection conn;
    private boolean connecting;
    private long reconnectBackoffMs;
    /** Set by close so the event loop stops fetching; volatile because close runs on the polling thread. */
    private volatile boolean stopping;

    Consumer(FerryClient client, ConsumerConfig config) {
        this.client = client;
        this.config = config;
        this.clientConfig = client.config();
        this.codec = client.codecInstance();
        this.storedRecords = codec instanceof BinaryCodec;
        this.loop = client.transport().nextLoop();
        this.reconnectBackoffMs = config.retryBackoffMs();
        List<Integer> ids = config.queues();
        if (ids.isEmpty()) {
            TopicDescription d = client.describeTopic(config.topic()).orElseThrow(() -> FerryException.broker(Status.NOT_FOUND,
                    "DESCRIBE_TOPIC " + config.topic(), "topic does not exist"));
            ids = new ArrayList<>();
            for (int q = 0; q < d.queues(); q++) {
                ids.add(q);
            }
        }
        Connection c = client.await(Connection.open(client.transport(), loop, clientConfig, codec), clientConfig.connectTimeoutMs() * 2,
                "connect to " + clientConfig.host() + ":" + clientConfig.port());
        try {
            if ((!config.sql().isEmpty() || !config.tags().isEmpty()) && !ids.isEmpty()) {
                checkFilter(c, ids.get(0));
            }
            for (int q : ids) {
                QueueState s = new QueueState(q, config.topic());
                s.position = startOffset(c, s);
                s.fetchOffset = s.position;
                queues.put(q, s);
            }
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        loop.execute(() -> {
            conn = c;
            c.onClose(this::reconnect);
            queues.values().forEach(this::fetch);
        });
    }

    /**
     * Subscribe-time check of the filter: a FETCH of one message that does not wait, so a malformed
     * SQL or tag expression (BAD_REQUEST), or one past the broker's limits (LIMIT_EXCEEDED: operands,
     * nesting, LIKE characters, tags), fails here with the broker's message rather than in every later
     * poll. LIMIT_EXCEEDED, and tag expressions, passed this check before.
     */
    private void checkFilter(Connection c, int queueId) {
        Command.Builder b = Command.builder().code(RequestCode.FETCH).header(Headers.TOPIC, config.topic())
                .header(Headers.QUEUE_ID, queueId).header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 1)
                .header(Headers.MAX_BYTES, 1).header(Headers.MAX_WAIT_MS, 0);
        if (!config.sql().isEmpty()) {
            b.header(Headers.SQL, config.sql());
        }
        if (!config.tags().isEmpty()) {
            b.header(Headers.TAGS, config.tags());
        }
        String what = "FETCH " + config.topic() + "/" + queueId + " (filter check)";
        Command r = client.await(c.request(b, clientConfig.requestTimeoutMs(), what), clientConfig.requestTimeoutMs() * 2, what);
        if (r.status() == Status.BAD_REQUEST || r.status() == Status.LIMIT_EXCEEDED) {
            String filter = (config.sql().isEmpty() ? "" : " sql '" + config.sql() + "'") + (config.tags().isEmpty() ? "" : " tags '" + config.tags() + "'");
            throw FerryException.broker(r.status(), "subscribe " + config.topic() + " with" + filter, r.message());
        }
    }

    private long startOffset(Connection c, QueueState s) {
        Command.Builder b = Command.builder().code(RequestCode.GET_OFFSET).header(Headers.TOPIC, config.topic())
                .header(Headers.QUEUE_ID, s.queueId);
        boolean useCommitted = config.startFrom() == StartPosition.COMMITTED_ELSE_EARLIEST
                || config.startFrom() == StartPosition.COMMITTED_ELSE_LATEST;
        b.header(Headers.GROUP, config.group());
        String what = "GET_OFFSET " + config.topic() + "/" + s.queueId;
        Command r = client.await(c.request(b, clientConfig.requestTimeoutMs(), what), clientConfig.requestTimeoutMs() * 2, what);
        FerryClient.check(r, what);
        long committed = FerryClient.number(r, Headers.OFFSET);
        long min = FerryClient.number(r, Headers.MIN_OFFSET);
        long max = FerryClient.number(r, Headers.MAX_OFFSET);
        if (committed >= 0) {
            s.committed = committed;
        }
        if (useCommitted && committed >= 0) {
            return fromCommitted(LOG, "consumer " + config.topic() + "/" + config.group(), config.topic() + "/" + s.queueId,
                    committed, min, max);
        }
        return switch (config.startFrom()) {
            case COMMITTED_ELSE_EARLIEST, EARLIEST -> min;
            case COMMITTED_ELSE_LATEST, LATEST -> max;
        };
    }

    /**
     * Where a queue is read from when its group committed {@code committed}: there, brought into
     * [{@code min}, {@code max}], as Kafka's auto.offset.reset=earliest does for an offset out of
     * range. Brought in, it is logged at WARN: below {@code min} retention (or the topic's deletion
     * and re-creation) took messages the group never read, and above {@code max} the queue lost its
     * end (a machine crash under async flush). Before, both were silent, and a group that had lost
     * messages to retention could not tell. Shared with {@link GroupConsumer}.
     */
    static long fromCommitted(Logger log, String who, String queue, long committed, long min, long max) {
        if (committed < min) {
            log.warn("{}: {}: committed offset {} is below the queue's first offset {}: the {} message(s) between were deleted"
                    + " (retention, or the topic deleted and created again) before the group read them; reading from {}", who,
                    queue, committed, min, min - committed, min);
            return min;
        }
        if (committed > max) {
            log.warn("{}: {}: committed offset {} is past the queue's end {} (messages lost from the end, e.g. by a machine"
                    + " crash under async flush); reading from {}", who, queue, committed, max, max);
            return max;
        }
        return committed;
    }

    /** The queue ids this consumer reads. */
    public List<Integer> queues() {
        return List.copyOf(queues.keySet());
    }

    /**
     * Returns the messages fetched so far, waiting up to {@code timeout} for the first; empty if
     * none came. Messages of one queue come in offset order.
     *
     * @throws FerryException if fetching a queue failed for a reason other than load or a lost
     *     connection (for example the topic was deleted); the consumer keeps retrying it. Or if the
     *     broker refused the last auto-commit for good (BAD_REQUEST, NOT_FOUND, ...): the positions
     *     polled stay uncommitted; every auto-commit failure is also logged at WARN

     * @throws DamagedRecordException if the next record of a queue fails its check (damaged on
     *     the broker's disk); the records before it were returned, and it is reported again at
     *     every poll until a seek past it
     */
    public List<Message> poll(Duration timeout) {
        checkOpen();
        FerryException refused = autoCommitRefused.getAndSet(null);
        if (refused != null) {
            throw refused;
        }
        if (config.autoCommit() && System.nanoTime() - lastCommitNanos >= TimeUnit.MILLISECONDS.toNanos(config.autoCommitIntervalMs())) {
            autoCommit();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Message> out = new ArrayList<>();
        while (out.size() < config.maxPollMessages()) {
            if (currentIndex >= current.size()) {
                finishCurrent();
                Fetched f;
                try {
                    long left = deadline - System.nanoTime();
                    if (deferred != null) {
                        f = deferred;
                        deferred = null;
                    } else {
                        f = out.isEmpty() && left > 0 ? ready.poll(left, TimeUnit.NANOSECONDS) : ready.poll();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                if (f == null) {
                    break;
                }
                if (f.error() != null) {
                    if (out.isEmpty()) {
                        f.queue().errorQueued.set(false);
                        throw f.error();
                    }
                    ready.add(f); // report it on the next poll
                    break;
                }
                if (f.epoch() != f.queue().pollEpoch) {
                    release(f);
                    continue;
                }
                List<Message> decoded = FetchedMessages.listFor(f.response());
                try {
                    FetchedMessages.of(f.response(), storedRecords, decoded);
                } catch (RuntimeException e) { // a record that fails its check (or cannot be decoded at all)
                    QueueState q = f.queue();
                    if (decoded.isEmpty() && !out.isEmpty()) {
                        deferred = f; // the messages taken so far are returned first; the next poll reports this
                        break;
                    }
                    release(f);
                    if (!decoded.isEmpty()) {
                        // the records before the bad one are handed out; the queue is read again from the first not taken,
                        // so that the bad record comes first in a fetch of its own and is reported with its offset
                        for (Message m : decoded) {
                            if (out.size() < config.maxPollMessages() && m.queueOffset() >= q.position) {
                                out.add(m);
                                q.position = m.queueOffset() + 1;
                            }
                        }
                        seek(q.queueId, q.position);
                        continue;
                    }
                    // not skipped: the queue is read again from its position, and every poll reports it until a seek past it
                    seek(q.queueId, q.position);
                    throw new DamagedRecordException(config.topic(), q.queueId, q.position, "the record at offset " + q.position
                            + " cannot be decoded: " + e.getMessage() + " (seek past it to go on)");
                }
                currentFetched = f;
                current = decoded;
                currentIndex = 0;
                continue;
            }
            QueueState q = currentFetched.queue();
            int take = Math.min(current.size() - currentIndex, config.maxPollMessages() - out.size());
            for (int i = 0; i < take; i++) {
                Message m = current.get(currentIndex++);
                if (m.queueOffset() < q.position) {
                    continue; // before a seek target or already delivered
                }
                out.add(m);
                q.position = m.queueOffset() + 1;
            }
        }
        return out;
    }

    /** A fetch whose records proved corrupt after this poll had taken others: reported by the next poll. Polling thread only. */
    private Fetched deferred;

    /**
     * Done with the fetch in hand. If poll handed out all its messages, the position moves to the
     * fetch's end (past what a filter skipped after the last of them; to wherever an
     * OFFSET_OUT_OF_RANGE answer moved the queue). A fetch left part-way (close() after a poll that
     * stopped at maxPollMessages) leaves the position after the last message handed out: close()
     * commits it, and must not pass messages poll never returned.
     */
    private void finishCurrent() {
        Fetched f = currentFetched;
        if (f == null) {
            return;
        }
        boolean handedOut = currentIndex >= current.size();
        currentFetched = null;
        current = List.of();
        currentIndex = 0;
        QueueState q = f.queue();
        if (handedOut && f.epoch() == q.pollEpoch) {
            q.position = f.outOfRange() ? f.nextOffset() : Math.max(q.position, f.nextOffset());
        }
        release(f);
    }

    private void release(Fetched f) {
        QueueState q = f.queue();
        if (f.bytes() > 0) {
            q.buffered.addAndGet(-f.bytes());
        }
        loop.execute(() -> {
            if (q.paused && q.buffered.get() < config.maxBufferedBytesPerQueue()) {
                q.paused = false;
                fetch(q);
            }
        });
    }

    /** The next offset {@link #poll} will return from {@code queueId}. */
    public long position(int queueId) {
        return state(queueId).position;
    }

    /** The group's committed offset of {@code queueId} as this consumer last knew it, or -1. */
    public long committed(int queueId) {
        return state(queueId).committed;
    }

    /** Makes the next {@link #poll} return {@code queueId}'s messages from {@code offset} on. */
    public void seek(int queueId, long offset) {
        checkOpen();
        Checks.range("offset", offset, 0, Long.MAX_VALUE);
        QueueState q = state(queueId);
        q.pollEpoch++;
        q.position = offset;
        if (currentFetched != null && currentFetched.queue() == q) {
            current = List.of();
            currentIndex = 0;
            release(currentFetched);
            currentFetched = null;
        }
        loop.execute(() -> {
            q.epoch++;
            q.fetchOffset = offset;
            q.paused = false;
            fetch(q);
        });
    }

    /**
     * The commit of {@link #poll} (and of a {@link Subscription} after each batch): its failure
     * is logged at WARN, once per distinct error (an unreachable broker fails every commit alike,
     * one per poll), and one the broker refuses for good (not {@link FerryException#retryable()})
     * is thrown by the next poll as well, as a refused FETCH is: committing nothing, silently,
     * would have every restart read everything again. A retryable one is committed by a later
     * auto-commit, the positions having only moved on.
     */
    void autoCommit() {
        commitAsync().whenComplete((v, t) -> {
            Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
            if (cause == null) {
                lastCommitWarning.set(null);
                return;
            }
            String text = String.valueOf(cause.getMessage());
            String before = lastCommitWarning.getAndSet(text);
            if (!text.equals(before)) {
                LOG.warn("consumer {}/{}: auto-commit (COMMIT_OFFSET) failed: {}", config.topic(), config.group(), text);
            }
            if (cause instanceof FerryException e && !e.retryable()) {
                autoCommitRefused.set(e);
            }
        });
    }

    /** The text of the last auto-commit failure logged, cleared by a commit that succeeds; both threads. */
    private final AtomicReference<String> lastCommitWarning = new AtomicReference<>();
    /** An auto-commit the broker refused for good, for the next poll to throw; set on the event loop. */
    private final AtomicReference<FerryException> autoCommitRefused = new AtomicReference<>();

    /** Commits every queue's position and waits for the broker to store them. */
    public void commitSync() {
        checkOpen();
        CompletableFuture<Void> all = commitAsync();
        client.await(all, clientConfig.requestTimeoutMs() * 2, "COMMIT_OFFSET " + config.topic());
    }

    /**
     * Commits every queue's position whose commit changed; the future completes when all are stored.
     *
     * @throws IllegalStateException after {@link #close()} (which committed already, with autoCommit)
     */
    public CompletableFuture<Void> commitAsync() {
        checkOpen();
        lastCommitNanos = System.nanoTime();
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        for (QueueState q : queues.values()) {
            long position = q.position;
            if (position == q.committed) {
                continue;
            }
            Command.Builder b = Command.builder().code(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, config.group())
                    .header(Headers.TOPIC, config.topic()).header(Headers.QUEUE_ID, q.queueId).header(Headers.OFFSET, position);
            String what = "COMMIT_OFFSET " + config.topic() + "/" + q.queueId;
            CompletableFuture<Void> f = Connection.call(loop, () -> conn, b, clientConfig.requestTimeoutMs(), what)
                    .thenRun(() -> q.committed = position);
            sent.add(f);
        }
        return CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0]));
    }

    /**
     * Commits (with autoCommit) and closes the connection. On the client's event loop (in a
     * callback of a future) the commit is sent and not waited for, and the connection closed once
     * it is answered: waiting there would hold the loop that brings the answer.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        CompletableFuture<Void> committed = CompletableFuture.completedFuture(null);
        try {
            finishCurrent();
            if (config.autoCommit()) {
                if (client.transport().inEventLoop()) {
                    // commitSync threw IllegalStateException there, after which the consumer was closed all the same,
                    // uncommitted (and before that, it held the loop for twice the request timeout and failed)
                    committed = commitAsync();
                } else {
                    try {
                        commitSync();
                    } catch (FerryException e) {
                        LOG.warn("consumer {}/{}: final commit failed: {}", config.topic(), config.group(), e.getMessage());
                    }
                }
            }
        } finally {
            closed = true;
            stopping = true;
            committed.whenComplete((v, t) -> {
                if (t != null) {
                    LOG.warn("consumer {}/{}: final commit failed: {}", config.topic(), config.group(), FerryClient.unwrap(t).getMessage());
                }
                loop.execute(() -> {
                    if (conn != null) {
                        conn.close();
                    }
                });
            });
            client.forget(this);
        }
    }

    private QueueState state(int queueId) {
        QueueState q = queues.get(queueId);
        if (q == null) {
            throw new IllegalArgumentException("queueId: " + queueId + " (expected: one of " + queues.keySet() + ")");
        }
        return q;
    }

    /** The client that made this consumer. */
    FerryClient client() {
        return client;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("consumer closed");
        }
    }

    // ---- event loop ---------------------------------------------------------------------------

    private void fetch(QueueState q) {
        if (stopping || q.fetchInFlight || conn == null || !conn.isOpen()) {
            return;
        }
        if (q.buffered.get() >= config.maxBufferedBytesPerQueue()) {
            q.paused = true;
            return;
        }
        q.fetchInFlight = true;
        int epoch = q.epoch;
        long offset = q.fetchOffset;
        Command.Builder b = Command.builder().code(RequestCode.FETCH).header(Headers.TOPIC, config.topic())
                .header(Headers.QUEUE_ID, q.queueId).header(Headers.OFFSET, offset)
                .header(Headers.MAX_MESSAGES, config.maxFetchMessages()).header(Headers.MAX_BYTES, config.maxFetchBytes())
                .header(Headers.MAX_WAIT_MS, config.maxWaitMs()).header(Headers.GROUP, config.group());
        if (!config.tags().isEmpty()) {
            b.header(Headers.TAGS, config.tags());
        }
        if (!config.sql().isEmpty()) {
            b.header(Headers.SQL, config.sql());
        }
        conn.send(b, config.maxWaitMs() + clientConfig.requestTimeoutMs(), q.label, (r, t) -> fetched(q, epoch, offset, r, t));
    }

    private void fetched(QueueState q, int epoch, long offset, Command r, FerryException failure) {
        q.fetchInFlight = false;
        if (stopping) {
            return;
        }
        if (epoch != q.epoch) {
            fetch(q); // a seek happened meanwhile: this answer is for the old position
            return;
        }
        if (failure != null) {
            if (failure.reason() != FerryException.Reason.CONNECTION) {
                retryLater(q, config.retryBackoffMs());
            } // a lost connection re-fetches every queue once it is back
            return;
        }
        switch (r.status()) {
            case OK -> {
                long next;
                try {
                    next = FerryClient.number(r, Headers.NEXT_OFFSET);
                } catch (FerryException e) {
                    // a broker answer this client cannot read: said at poll, and asked again later, never a silent stop
                    reportLater(q, epoch, r, offset, e);
                    retryLater(q, Math.max(1_000, config.retryBackoffMs()));
                    return;
                }
                long bytes = bufferedBytes(r);
                if (r.bodyLength() > 0 || !r.messages().isEmpty()) {
                    q.buffered.addAndGet(bytes);
                    ready.add(new Fetched(q, epoch, r, next, bytes, null, false));
                } else if (next != offset) {
                    ready.add(new Fetched(q, epoch, r, next, 0, null, false)); // everything skipped by the tag filter
                }
                q.fetchOffset = next;
                if (next == offset && config.maxWaitMs() < MIN_IDLE_REFETCH_MS) {
                    loop.schedule(() -> { // nothing new and (almost) no long poll: do not ask again at once
                        if (q.epoch == epoch) { // else a seek started a fetch chain of its own
                            fetch(q);
                        }
                    }, MIN_IDLE_REFETCH_MS, TimeUnit.MILLISECONDS);
                } else {
                    fetch(q);
                }
            }
            case OFFSET_OUT_OF_RANGE -> {
                long min = optional(r, Headers.MIN_OFFSET, offset);
                long max = optional(r, Headers.MAX_OFFSET, offset);
                long to = offset < min ? min : max;
                LOG.warn("{}: offset {} out of range [{}, {}]; moving to {}", q.label, offset, min, max, to);
                q.fetchOffset = to;
                ready.add(new Fetched(q, epoch, Command.builder().code(RequestCode.FETCH).kind(dev.ferry.protocol.Kind.RESPONSE)
                        .build(), to, 0, null, true));
                fetch(q);
            }
            default -> {
                FerryException e = FerryException.broker(r.status(), q.label, r.message());
                if (!e.retryable()) {
                    reportLater(q, epoch, r, offset, e);
                }
                retryLater(q, e.retryable() ? config.retryBackoffMs() : Math.max(1_000, config.retryBackoffMs()));
            }
        }
    }

    /** Queues {@code error} for poll to report, unless one of {@code q}'s waits there already. */
    private void reportLater(QueueState q, int epoch, Command r, long offset, FerryException error) {
        if (q.errorQueued.compareAndSet(false, true)) {
            ready.add(new Fetched(q, epoch, r, offset, 0, error, false));
        }
    }

    /**
     * What a fetched answer counts toward the consumer's buffer: the binary codec's records are
     * in the body, the other codecs' in {@code messages} with an empty body; each message also
     * costs its objects (about 64 bytes).
     */
    static long bufferedBytes(Command r) {
        long bytes = r.bodyLength();
        for (Message m : r.messages()) {
            bytes += m.bodyLength() + 64;
        }
        return bytes;
    }

    private static long optional(Command r, String header, long otherwise) {
        try {
            return r.header(header) == null ? otherwise : Long.parseLong(r.header(header));
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /**
     * Least time between two FETCHes of an idle queue: with {@code maxWaitMs} 0 the broker answers
     * an empty queue at once, and asking again at once would be a busy loop on both sides.
     */
    static final long MIN_IDLE_REFETCH_MS = 10;

    private void retryLater(QueueState q, long ms) {
        loop.schedule(() -> fetch(q), ms, TimeUnit.MILLISECONDS);
    }

    private void reconnect() {
        if (stopping || connecting) {
            return;
        }
        connecting = true;
        loop.schedule(() -> Connection.open(client.transport(), loop, clientConfig, codec).whenComplete((c, t) -> loop.execute(() -> {
            connecting = false;
            if (t != null) {
                LOG.warn("consumer {}: reconnect failed, retrying in {} ms: {}", config.topic(), reconnectBackoffMs, t.getMessage());
                reconnectBackoffMs = Math.min(reconnectBackoffMs * 2, 5_000);
                reconnect();
                return;
            }
            if (stopping) {
                c.close();
                return;
            }
            reconnectBackoffMs = config.retryBackoffMs();
            conn = c;
            c.onClose(this::reconnect);
            for (QueueState q : queues.values()) {
                q.fetchInFlight = false;
                fetch(q);
            }
        })), reconnectBackoffMs, TimeUnit.MILLISECONDS);
    }
}
