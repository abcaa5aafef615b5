package dev.ferry.client;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends messages to the broker, batched per (topic, queue) and pipelined on one connection.
 *
 * <p><b>How a message travels.</b> {@link #sendAsync} picks the queue (the message's own
 * {@code queueId} if set, else a hash of the sharding key, else round-robin), appends the
 * message to that queue's {@link Partition} and returns its future at once. The producer's
 * event loop drains partitions into SEND_BATCH requests when a batch is full, when its oldest
 * message has lingered {@link ProducerConfig#lingerMs()}, or on {@link #flush()}, keeping at most
 * {@link ProducerConfig#maxInFlight()} requests in flight. Each response completes the batch's
 * futures, on the event loop: callbacks attached to them must not block, and a blocking call made
 * in one ({@link #send}, {@link #flush}, an admin call) throws {@link IllegalStateException} (see
 * {@link FerryClient}, "Callbacks").
 *
 * <p><b>Failures.</b> A batch answered BUSY or TIMEOUT, not answered in time, or lost with its
 * connection is resent whole after an exponential backoff, up to {@link ProducerConfig#retries()}
 * times and within {@link ProducerConfig#deliveryTimeoutMs()}; the connection is re-opened as
 * needed (a request not answered in time closes its connection: see {@link Connection}). Any other status fails the batch's futures with a {@link FerryException}. While a batch
 * of a queue waits to be resent, no later batch of that queue is sent, so with
 * {@code maxInFlight = 1} messages of one queue are stored in the order they were sent; with more
 * in flight, a resend can still land behind a later batch that was already sent (as with Kafka's
 * {@code max.in.flight > 1}). Records not sent within {@link ProducerConfig#deliveryTimeoutMs()}
 * (connected or not) fail with a timeout, unsent. A batch resent after TIMEOUT, no response or a
 * lost connection may have been stored the first time: it is then stored twice. Delivery is
 * at-least-once; there is no idempotent producer (Kafka's {@code enable.idempotence}), so
 * consumers that must not see a message twice deduplicate, by key or by a property of its own.
 *
 * <p><b>Limits.</b> A message over a protocol limit ({@link ClientConfig#limits()}: topic, tags,
 * keys, properties), larger than half a frame, or larger than the whole buffer is refused by the
 * send call with an {@link IllegalArgumentException} and never queued ({@link SendLimits}): sent,
 * the broker would close the connection on it, failing the batches in flight with it. If the broker
 * does so all the same (its limits are smaller than the client's), the batches in flight fail with
 * its status, LIMIT_EXCEEDED or FRAME_TOO_LARGE, without a resend.
 *
 * <p><b>Back-pressure.</b> Messages buffered or in flight beyond
 * {@link ProducerConfig#bufferBytes()} block the sending thread up to
 * {@link ProducerConfig#maxBlockMs()}.
 *
 * <p><b>Thread safety.</b> Safe for any number of sending threads; there is no lock on the
 * per-message path (see {@link Partition}). Draining, the connection and the in-flight count
 * belong to the event loop.
 */
public final class Producer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Producer.class);

    /**
     * Most messages in one SEND_BATCH. The broker's store refuses more with LIMIT_EXCEEDED, which
     * is not retried ({@link dev.ferry.log.LogConfig#maxBatchMessages()}, default 4,096;
     * docs/PROTOCOL.md, "What the broker does with each request"), though a frame may carry up to
     * the protocol's {@code maxMessagesPerCommand} (10,000).
     */
    static final int MAX_BATCH_MESSAGES = 4_096;

    private final FerryClient client;
    private final ClientConfig clientConfig;
    private final ProducerConfig config;
    private final Codec codec;
    private final EventLoop loop;
    private final long lingerNanos;
    private final int maxMessagesPerBatch;
    private final long batchBytes;
    private final SendLimits sendLimits;

    private final ConcurrentHashMap<String, TopicState> topics = new ConcurrentHashMap<>();
    /** Every partition ever created, in creation order; appended rarely, read by each drain. */
    private final CopyOnWriteArrayList<Partition> partitions = new CopyOnWriteArrayList<>();
    /** Explicit batches from {@link #sendBatch}, sent as they are. */
    private final ConcurrentLinkedQueue<Batch> explicit = new ConcurrentLinkedQueue<>();
    private final AtomicInteger roundRobin = new AtomicInteger();
    /** Set by whoever queues a drain, cleared by the drain before it looks at the partitions. */
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;

    /** Bytes of messages accepted and not yet acknowledged or failed (and of one-way sends not yet written). */
    private final AtomicLong bufferedBytes = new AtomicLong();
    /** The acknowledged sends' part of {@link #bufferedBytes}: what flush() waits for (one-way sends are never acknowledged). */
    private final AtomicLong unackedBytes = new AtomicLong();
    /** The one-way sends' part of {@link #bufferedBytes}, not yet written to the socket: close() waits for them, a while. */
    private final AtomicLong onewayBytes = new AtomicLong();
    private final Object space = new Object();
    /** Threads waiting on {@code space}; volatile so a releasing thread knows to notify without locking. */
    private volatile int spaceWaiters;
    /** Flushes in progress; while positive every partition is ready. */
    private final AtomicInteger flushing = new AtomicInteger();
    /** Set by {@link #close()}; volatile so senders see it. */
    private volatile boolean closed;

    // ---- event loop only ----
    /** The open connection; volatile only so {@link #sendOneway} on another thread can use it. */
    private volatile Connection conn;
    private boolean connecting;
    private long nextConnectNanos;
    private long reconnectBackoffMs;
    private int inFlight;
    private int cursor;
    private final ArrayDeque<Batch> retries = new ArrayDeque<>();
    /**
     * Batches waiting out their backoff before they go to {@link #retries}: they are in no queue
     * meanwhile, only in a scheduled task, so a close fails them from here.
     */
    private final List<Batch> backingOff = new ArrayList<>();
    private ScheduledFuture<?> lingerTimer;
    private long lingerTimerAt;
    /**
     * What the linger timer runs: it forgets the timer before it drains, since a timer is not done
     * while it runs, and the drain's {@link #armLinger} would take it for one still to come and arm
     * none for a message that has not lingered yet (sent then only by a later send's drain, or never).
     */
    private final Runnable lingerTask = () -> {
        lingerTimer = null;
        drain();
    };
    /**
     * A drain every {@link #SWEEP_MS} while anything is buffered, whatever woke the event loop or
     * not: a wakeup lost by some path (as the linger timer's was, see {@link #lingerTask}) then
     * costs a second instead of the batch, and the delivery timeout is looked at even when nothing
     * else drains (it is looked at by drains only), so a stalled message fails instead of waiting
     * silently for good. Cancelled by close.
     */
    private final ScheduledFuture<?> sweeper;
    private static final long SWEEP_MS = 1_000;
    /** Batches resent after a retryable failure; written by the event loop only, volatile for tests and metrics. */
    private volatile long resends;

    Producer(FerryClient client, ProducerConfig config) {
        this.client = client;
        this.clientConfig = client.config();
        this.config = config;
        this.codec = client.codecInstance();
        this.loop = client.transport().nextLoop();
        this.lingerNanos = TimeUnit.MILLISECONDS.toNanos(config.lingerMs());
        this.maxMessagesPerBatch = Math.min(MAX_BATCH_MESSAGES, clientConfig.limits().maxMessagesPerCommand());
        this.batchBytes = Math.min(config.batchSizeBytes(), clientConfig.limits().maxFrameBytes() / 2);
        this.sendLimits = new SendLimits(clientConfig.limits(), config.bufferBytes());
        this.reconnectBackoffMs = config.retryBackoffMs();
        // fail fast when the broker is unreachable
        this.conn = client.await(Connection.open(client.transport(), loop, clientConfig, codec), clientConfig.connectTimeoutMs() * 2,
                "connect to " + clientConfig.host() + ":" + clientConfig.port());
        conn.onClose(this::scheduleDrain);
        this.sweeper = loop.scheduleWithFixedDelay(() -> {
            if (!closed && bufferedBytes.get() > 0) {
                drain();
            }
        }, SWEEP_MS, SWEEP_MS, TimeUnit.MILLISECONDS);
    }

    /** Sends {@code body} to {@code topic}, the queue chosen round-robin; waits for the acknowledgement. */
    public SendResult send(String topic, byte[] body) {
        return await(sendAsync(topic, body));
    }

    /** Sends {@code message} and waits for the acknowledgement (or the failure, as a {@link FerryException}). */
    public SendResult send(Message message) {
        return await(sendAsync(message));
    }

    /**
     * Sends {@code message} to the queue its sharding key hashes to, and waits. In order with the
     * key's other messages only with {@link ProducerConfig#maxInFlight()} 1: see
     * {@link #sendAsync(Message, String)}.
     */
    public SendResult send(Message message, String shardingKey) {
        return await(sendAsync(message, shardingKey));
    }

    /**
     * Sends {@code body} to {@code topic}, the queue chosen round-robin; the future completes on acknowledgement.
     *
     * @throws IllegalArgumentException if the topic or the message is over a limit, as for {@link #sendAsync(Message)}
     */
    public CompletableFuture<SendResult> sendAsync(String topic, byte[] body) {
        Checks.topic(topic);
        java.util.Objects.requireNonNull(body, "body");
        int size = PendingRecord.estimateSize(topic, body.length);
        sendLimits.checkBody(topic, size);
        TopicState t = topic(topic, false);
        Partition p = t.roundRobin(roundRobin);
        checkOpen();
        return append(p, new PendingRecord(body, System.currentTimeMillis(), size, System.nanoTime()));
    }

    /**
     * Sends {@code message}: to its {@code queueId} if it has one (>= 0), else to a queue chosen
     * round-robin. The future completes on the producer's event loop.
     *
     * @throws IllegalArgumentException if a field of the message is over its protocol limit
     *     ({@link ClientConfig#limits()}: topic, tags, keys, properties), or the message is larger
     *     than half a frame or than {@link ProducerConfig#bufferBytes()}; the message names the
     *     field, its size and the limit. Nothing is queued then.
     */
    public CompletableFuture<SendResult> sendAsync(Message message) {
        int size = checked(message);
        TopicState t = topic(message.topic(), false);
        Partition p = message.queueId() >= 0 ? t.exactly(message.queueId()) : t.roundRobin(roundRobin);
        return delayed(message) ? sendDelayed(p, message, size) : append(p, stamped(message, p.queueId), size);
    }

    /**
     * Checks {@code message} against the protocol's limits and the buffer ({@link SendLimits});
     * returns its estimated size (which {@link #stamped} does not change).
     *
     * @throws IllegalArgumentException naming the field over its limit, or the size
     */
    private int checked(Message message) {
        Checks.topic(message.topic());
        int size = PendingRecord.estimateSize(message);
        sendLimits.check(message, size);
        return size;
    }

    /** A delivery time in the future (by this machine's clock): one in the past is sent at once, in order with the others. */
    private static boolean delayed(Message m) {
        return m.deliverAt() > System.currentTimeMillis();
    }

    /**
     * A delayed message goes in a request of its own: the broker answers a batch's first queue
     * offset, from which the others are counted, and a delayed message has none yet (it is stored
     * in the schedule), so a batch mixing both would report wrong offsets.
     */
    private CompletableFuture<SendResult> sendDelayed(Partition p, Message message, int size) {
        checkOpen();
        Message s = stamped(message, p.queueId);
        PendingRecord r = new PendingRecord(s, size, System.nanoTime());
        reserveAcked(r.size);
        Batch b = new Batch(p, 1);
        b.add(r);
        explicit.add(b);
        scheduleDrain();
        return r;
    }

    /**
     * Sends {@code message} to the queue {@code shardingKey} hashes to, so that every message of
     * one key goes to one queue and is consumed in order. Needs the topic to exist.
     *
     * <p>In order as sent only with {@link ProducerConfig#maxInFlight()} 1 (build the producer
     * with {@code maxInFlight(1)} for ordered messages): with more in flight, the default 16, a
     * batch answered BUSY or lost with its connection is resent after a backoff and can be stored
     * behind a later batch of the same queue that was already sent (see the class description,
     * "Failures"). Messages of one key in one batch keep their order either way.
     */
    public CompletableFuture<SendResult> sendAsync(Message message, String shardingKey) {
        Checks.nonEmpty("shardingKey", shardingKey);
        int size = checked(message);
        TopicState t = topic(message.topic(), true);
        Partition p = t.exactly(Math.floorMod(spread(shardingKey.hashCode()), t.queues));
        return delayed(message) ? sendDelayed(p, message, size) : append(p, stamped(message, p.queueId), size);
    }

    /**
     * Sends {@code message} as a one-way SEND: no acknowledgement, no retry, at most once. Fails
     * at once if the connection is down. Counts in {@link ProducerConfig#bufferBytes()} until it is
     * written to the socket, so it blocks (up to {@link ProducerConfig#maxBlockMs()}) while the
     * broker does not keep up.
     */
    public void sendOneway(Message message) {
        checkOpen();
        int size = checked(message);
        Connection c = conn;
        if (c == null || !c.isOpen()) {
            throw FerryException.connection("sendOneway: not connected to " + clientConfig.host() + ":" + clientConfig.port(), null);
        }
        Message s = stamped(message, message.queueId());
        reserve(size); // counted in the buffer until written to the socket: a stalled broker blocks the sender, not the heap
        onewayBytes.addAndGet(size);
        Runnable written = () -> {
            onewayBytes.addAndGet(-size);
            release(size);
        };
        try {
            c.oneway(Command.builder().code(RequestCode.SEND).messages(List.of(s)), written);
        } catch (RuntimeException e) { // could not be encoded (a field over the codec's limit): never queued
            written.run();
            throw e;
        }
    }

    /**
     * Sends {@code messages}, all of one topic, as one SEND_BATCH stored atomically in one queue:
     * their common {@code queueId} if they have one, else a queue chosen round-robin. If some are
     * delayed ({@code deliverAt}), every result's queue offset is -1: the broker answers the first
     * message's offset, from which the others cannot be counted then.
     *
     * @throws IllegalArgumentException if the messages are empty, of several topics or queues, more than
     *     {@link #MAX_BATCH_MESSAGES} (4,096), together more than {@link ProducerConfig#bufferBytes()} or half
     *     a frame, or if one of them is over a limit (see {@link #sendAsync(Message)})
     */
    public CompletableFuture<List<SendResult>> sendBatch(List<Message> messages) {
        checkOpen();
        if (messages.isEmpty() || messages.size() > maxMessagesPerBatch) {
            throw new IllegalArgumentException("messages: count " + messages.size() + " (expected: 1.." + maxMessagesPerBatch + ")");
        }
        Message first = messages.get(0);
        for (int i = 1; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (!m.topic().equals(first.topic()) || m.queueId() != first.queueId()) {
                throw new IllegalArgumentException("message " + i + ": " + m.topic() + "/" + m.queueId()
                        + " (expected: one topic and queueId per batch, " + first.topic() + "/" + first.queueId() + ")");
            }
        }
        int[] sizes = new int[messages.size()];
        long total = 0;
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = checked(messages.get(i));
            total += sizes[i];
        }
        // the batch is one frame, and waits in the buffer whole
        sendLimits.checkSize("messages", total);
        TopicState t = topic(first.topic(), false);
        Partition p = first.queueId() >= 0 ? t.exactly(first.queueId()) : t.roundRobin(roundRobin);
        Batch b = new Batch(p, messages.size());
        long now = System.nanoTime();
        for (int i = 0; i < sizes.length; i++) {
            b.add(new PendingRecord(stamped(messages.get(i), p.queueId), sizes[i], now));
        }
        for (Message m : messages) {
            b.offsetsUnknown |= messages.size() > 1 && delayed(m);
        }
        reserveAcked(b.bytes); // at once: one that fails leaves nothing reserved
        explicit.add(b);
        scheduleDrain();
        CompletableFuture<?>[] all = new CompletableFuture<?>[b.count];
        System.arraycopy(b.records, 0, all, 0, b.count);
        PendingRecord[] records = b.records;
        int n = b.count;
        return CompletableFuture.allOf(all).thenApply(v -> {
            List<SendResult> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(records[i].join());
            }
            return out;
        });
    }

    /** Sends everything buffered now, without lingering, and waits until all of it is acknowledged or failed. */
    public void flush() {
        flush(Long.MAX_VALUE);
    }

    /**
     * Like {@link #flush()}, but waits at most {@code timeout}.
     *
     * @return true if everything was acknowledged or failed in time
     */
    public boolean flush(Duration timeout) {
        long ns = timeout.toNanos();
        return flush(ns <= 0 ? System.nanoTime() : System.nanoTime() + ns);
    }

    private boolean flush(long deadlineNanos) {
        if (client.transport().inEventLoop()) { // any of the client's loops: see FerryClient.await
            throw new IllegalStateException("flush() from the client's event loop (a callback of a future) would deadlock");
        }
        flushing.incrementAndGet();
        try {
            scheduleDrain();
            synchronized (space) {
                spaceWaiters++;
                try {
                    while (unackedBytes.get() > 0) {
                        if (deadlineNanos != Long.MAX_VALUE) {
                            long left = deadlineNanos - System.nanoTime();
                            if (left <= 0) {
                                return false;
                            }
                            TimeUnit.NANOSECONDS.timedWait(space, Math.min(left, TimeUnit.MILLISECONDS.toNanos(10)));
                        } else {
                            space.wait(10);
                        }
                    }
                    return true;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw FerryException.client("flush interrupted");
                } finally {
                    spaceWaiters--;
                }
            }
        } finally {
            flushing.decrementAndGet();
        }
    }

    /**
     * Flushes, then closes the connection. Sends after this throw {@link IllegalStateException}.
     * With the broker down this waits until what is buffered fails its delivery timeout, up to
     * {@link ProducerConfig#deliveryTimeoutMs()} plus {@link ClientConfig#requestTimeoutMs()} (two
     * and a half minutes by default), as Kafka's {@code close()} waits for its sends;
     * {@link #close(Duration)} bounds the wait.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        flush();
        awaitOnewayWritten(ONEWAY_CLOSE_WAIT_MS);
        closeNow();
    }

    /** How long close() waits for one-way sends to be written to the socket (a stalled broker would hold them for good). */
    private static final long ONEWAY_CLOSE_WAIT_MS = 5_000;

    /** Waits until the one-way sends are written to the socket, or {@code ms} passed: closing sooner would drop them. */
    private void awaitOnewayWritten(long ms) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (onewayBytes.get() > 0 && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Flushes for at most {@code timeout}, then closes: what is still not acknowledged then fails
     * with a {@link FerryException} (reason {@code CLIENT}), so nothing waits on this producer any
     * more. (Messages already sent may still be stored by the broker.)
     *
     * @return true if everything was acknowledged or failed before the close
     */
    public boolean close(Duration timeout) {
        if (closed) {
            return true;
        }
        boolean flushed = false;
        long start = System.nanoTime();
        try {
            flushed = flush(timeout);
            long left = timeout.toMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            awaitOnewayWritten(Math.min(ONEWAY_CLOSE_WAIT_MS, Math.max(0, left)));
        } catch (FerryException e) {
            // interrupted: close all the same (the interrupt flag is set again)
        } finally {
            closeNow();
        }
        return flushed;
    }

    private void closeNow() {
        closed = true;
        loop.execute(() -> {
            if (lingerTimer != null) {
                lingerTimer.cancel(false);
            }
            sweeper.cancel(false);
            failUnsent();
            Connection c = conn;
            if (c != null) {
                c.close(); // fails what is in flight: done() fails it, since closed
            }
        });
        client.forget(this);
    }

    /** After close: fails every message not sent yet. Event loop only. */
    private void failUnsent() {
        if (bufferedBytes.get() == 0) {
            return;
        }
        FerryException gone = FerryException.client("producer closed before the message was acknowledged");
        for (Partition p : partitions) {
            while (p.queue.peek() != null) {
                fail(p.take(Long.MAX_VALUE, Integer.MAX_VALUE), gone);
            }
        }
        Batch b;
        while ((b = retries.poll()) != null) {
            b.partition.resending--;
            fail(b, gone);
        }
        for (Batch waiting : backingOff) {
            waiting.partition.resending--;
            fail(waiting, gone);
        }
        backingOff.clear();
        while ((b = explicit.poll()) != null) {
            fail(b, gone);
        }
    }

    // ------------------------------------------------------------------------------------------
    // appending (any thread)

    private static int spread(int h) {
        return h ^ (h >>> 16);
    }

    private static Message stamped(Message m, int queueId) {
        if (m.queueId() == queueId && m.bornTimestamp() != 0) {
            return m;
        }
        Message.Builder b = m.toBuilder().queueId(queueId);
        if (m.bornTimestamp() == 0) {
            b.bornTimestamp(System.currentTimeMillis());
        }
        return b.build();
    }

    private CompletableFuture<SendResult> append(Partition p, Message m, int size) {
        checkOpen();
        return append(p, new PendingRecord(m, size, System.nanoTime()));
    }

    private CompletableFuture<SendResult> append(Partition p, PendingRecord r) {
        reserveAcked(r.size);
        long before = p.append(r);
        if (before == 0 || (before < batchBytes && before + r.size >= batchBytes) || closed) {
            scheduleDrain(); // also after a close that raced this append: the drain fails what the close left
        }
        return r;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("producer closed");
        }
    }

    /** Accounts {@code size} buffered bytes, blocking while the buffer is full (not on the event loop). */
    private void reserve(long size) {
        if (bufferedBytes.addAndGet(size) <= config.bufferBytes() || loop.inEventLoop()) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.maxBlockMs());
        synchronized (space) {
            spaceWaiters++;
            try {
                while (bufferedBytes.get() > config.bufferBytes()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        bufferedBytes.addAndGet(-size);
                        throw FerryException.client("buffer full: " + bufferedBytes.get() + " bytes unacknowledged for "
                                + config.maxBlockMs() + " ms (bufferBytes " + config.bufferBytes() + ")");
                    }
                    space.wait(Math.max(1, Math.min(10, TimeUnit.NANOSECONDS.toMillis(left))));
                }
            } catch (InterruptedException e) {
                bufferedBytes.addAndGet(-size);
                Thread.currentThread().interrupt();
                throw FerryException.client("interrupted while waiting for buffer space");
            } finally {
                spaceWaiters--;
            }
        }
    }

    /** {@link #reserve} for a send that will be acknowledged or failed: flush() waits for it. */
    private void reserveAcked(long size) {
        reserve(size);
        unackedBytes.addAndGet(size);
    }

    private void releaseAcked(long bytes) {
        unackedBytes.addAndGet(-bytes);
        release(bytes);
    }

    private void release(long bytes) {
        long left = bufferedBytes.addAndGet(-bytes);
        if (spaceWaiters > 0 && left <= config.bufferBytes()) {
            synchronized (space) {
                space.notifyAll();
            }
        }
    }

    private void scheduleDrain() {
        if (!drainScheduled.get() && drainScheduled.compareAndSet(false, true)) {
            loop.execute(drainTask);
        }
    }

    // ------------------------------------------------------------------------------------------
    // topics and their queue counts

    /** A topic's queue count and partitions; replaced whole when the count becomes known. */
    private final class TopicState {
        final String topic;
        /** 0 while unknown (then every message goes to {@link #any}). */
        final int queues;
        final Partition[] byQueue;
        final Partition any;

        TopicState(String topic, int queues, Partition any) {
            this.topic = topic;
            this.queues = queues;
            this.byQueue = new Partition[queues];
            this.any = any;
        }

        Partition roundRobin(AtomicInteger counter) {
            return queues == 0 ? any : exactly(Math.floorMod(counter.getAndIncrement(), queues));
        }

        Partition exactly(int queueId) {
            if (queueId < 0) {
                return any;
            }
            if (queues == 0) {
                // queue count unknown: trust the caller's queue id; the broker checks it
                return partitionFor(queueId);
            }
            if (queueId >= queues) {
                throw new IllegalArgumentException("queueId: " + queueId + " (expected: 0.." + (queues - 1) + " for topic " + topic + ")");
            }
            Partition p = byQueue[queueId];
            if (p == null) {
                p = partitionFor(queueId);
                byQueue[queueId] = p; // benign race: partitionFor returns the one shared instance
            }
            return p;
        }

        private Partition partitionFor(int queueId) {
            return exactPartitions.computeIfAbsent(topic + '\u0000' + queueId, k -> newPartition(topic, queueId));
        }
    }

    private final ConcurrentHashMap<String, Partition> exactPartitions = new ConcurrentHashMap<>();

    private Partition newPartition(String topic, int queueId) {
        Partition p = new Partition(topic, queueId);
        partitions.add(p);
        return p;
    }

    /**
     * The topic's state, describing it on first use (blocking up to maxBlockMs, except on the
     * event loop, where the description is asked for without waiting).
     *
     * @param needQueues the caller needs the queue count (a sharding key): wait for it, and fail if the topic does not exist
     */
    private TopicState topic(String topic, boolean needQueues) {
        TopicState t = topics.get(topic);
        if (t != null && (t.queues > 0 || !needQueues)) {
            return t;
        }
        return describe(topic, needQueues);
    }

    private TopicState describe(String topic, boolean needQueues) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.maxBlockMs());
        long backoffMs = config.retryBackoffMs();
        while (true) {
            TopicState t = topics.get(topic);
            CompletableFuture<TopicState> f = refresh(topic);
            if (client.transport().inEventLoop() && !f.isDone()) { // any of the client's loops: see FerryClient.await
                if (needQueues) {
                    throw new IllegalStateException("sendAsync with a sharding key from the event loop before topic " + topic
                            + " is known; send once from another thread first");
                }
                return unknownQueues(topic, t);
            }
            try {
                t = client.await(f, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())), "describe topic " + topic);
            } catch (FerryException e) {
                checkOpen(); // closed meanwhile: that is what to report
                if (!e.retryable()) {
                    throw e;
                }
                if (!needQueues) {
                    // the broker cannot be reached (restarting, say): the message waits for it in the producer, as a known
                    // topic's do, within deliveryTimeoutMs, and the broker picks its queue. It threw at once before, while
                    // a send to a topic described earlier was buffered and delivered
                    return unknownQueues(topic, t);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new FerryException(FerryException.Reason.TIMEOUT, null, "describe topic " + topic
                            + ": the queue count a sharding key needs not known within maxBlockMs " + config.maxBlockMs() + ": "
                            + e.getMessage(), e);
                }
                try {
                    Thread.sleep(Math.min(backoffMs, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw FerryException.client("interrupted while waiting for topic " + topic + " to be described");
                }
                backoffMs = Math.min(backoffMs * 2, config.maxRetryBackoffMs());
                continue;
            }
            if (needQueues && t.queues == 0) {
                throw FerryException.broker(Status.NOT_FOUND, "DESCRIBE_TOPIC " + topic,
                        "a sharding key needs the topic's queue count; create the topic first");
            }
            return t;
        }
    }

    /** The topic's state while its queue count is not known: its messages go to the broker's choice of queue. */
    private TopicState unknownQueues(String topic, TopicState known) {
        return known != null ? known : topics.computeIfAbsent(topic, k -> new TopicState(k, 0, newPartition(k, Message.ANY_QUEUE)));
    }

    private final ConcurrentHashMap<String, CompletableFuture<TopicState>> refreshing = new ConcurrentHashMap<>();

    /** Asks the broker for the topic's queue count and installs it; one request per topic at a time. */
    private CompletableFuture<TopicState> refresh(String topic) {
        CompletableFuture<TopicState> refresh = refreshing.computeIfAbsent(topic, k -> client.describeAsync(topic).thenApply(d -> {
                int queues = d.map(TopicDescription::queues).orElse(0);
                TopicState old = topics.get(topic);
                if (old != null && old.queues == queues) {
                    return old;
                }
                Partition any = old != null ? old.any : newPartition(topic, Message.ANY_QUEUE);
                TopicState fresh = new TopicState(topic, queues, any);
                topics.put(topic, fresh);
                return fresh;
            }));
        // outside computeIfAbsent: a future already complete runs this at once, and a removal of the key
        // inside its own computeIfAbsent throws IllegalStateException (recursive update)
        refresh.whenComplete((s, e) -> refreshing.remove(topic, refresh));
        return refresh;
    }

    // ------------------------------------------------------------------------------------------
    // draining (event loop only)

    private void drain() {
        drainScheduled.set(false);
        if (closed) {
            failUnsent(); // a retry scheduled before the close, or a send racing it
            return;
        }
        long now = System.nanoTime();
        if (now - nextExpiryCheckNanos >= 0) { // not at every drain (one per batch): a look every 10 ms is enough
            nextExpiryCheckNanos = now + EXPIRY_CHECK_NANOS;
            expireUnsent(now);
        }
        if (!connected(now)) {
            waitForConnection();
            return;
        }
        Batch b;
        while (inFlight < config.maxInFlight() && (b = retries.poll()) != null) {
            sendBatch(b);
        }
        for (var it = explicit.iterator(); inFlight < config.maxInFlight() && it.hasNext(); ) {
            b = it.next();
            // else it waits behind its queue's resend; remove(b) is false if a re-entrant drain (a batch
            // failed at once, its callback draining again) sent it already
            if (b.partition.resending == 0 && explicit.remove(b)) {
                sendBatch(b);
            }
        }
        boolean everything = flushing.get() > 0 || closed;
        long nextDeadline = Long.MAX_VALUE;
        int n = partitions.size();
        boolean progress = n > 0;
        while (progress && inFlight < config.maxInFlight()) {
            progress = false;
            for (int i = 0; i < n && inFlight < config.maxInFlight(); i++) {
                Partition p = partitions.get((cursor + i) % n);
                long bytes = p.bytes.get();
                if (bytes == 0 || p.resending > 0) {
                    continue;
                }
                PendingRecord head = p.queue.peek();
                if (head == null) {
                    // counted but not yet in the queue: a send between its two steps (Partition.append), which saw
                    // bytes already queued and so asks for no drain; come back when it would be due (at least 1 ms on)
                    nextDeadline = Math.min(nextDeadline, now + Math.max(lingerNanos, TimeUnit.MILLISECONDS.toNanos(1)));
                    continue;
                }
                if (bytes >= batchBytes || everything || now - head.enqueuedNanos >= lingerNanos) {
                    sendBatch(p.take(batchBytes, maxMessagesPerBatch));
                    progress = true;
                } else {
                    nextDeadline = Math.min(nextDeadline, head.enqueuedNanos + lingerNanos);
                }
            }
            cursor = n == 0 ? 0 : (cursor + 1) % n;
        }
        if (nextDeadline != Long.MAX_VALUE) {
            armLinger(nextDeadline, now);
        }
    }

    private void armLinger(long at, long now) {
        if (lingerTimer != null && !lingerTimer.isDone() && lingerTimerAt <= at) {
            return;
        }
        if (lingerTimer != null) {
            lingerTimer.cancel(false);
        }
        lingerTimerAt = at;
        lingerTimer = loop.schedule(lingerTask, Math.max(0, at - now), TimeUnit.NANOSECONDS);
    }

    /** True if a connection is open; otherwise starts (re)connecting when the backoff allows. */
    private boolean connected(long now) {
        Connection c = conn;
        if (c != null && c.isOpen()) {
            return true;
        }
        if (closed || connecting) {
            return false;
        }
        if (now - nextConnectNanos < 0) {
            loop.schedule(this::scheduleDrain, nextConnectNanos - now, TimeUnit.NANOSECONDS);
            return false;
        }
        connecting = true;
        Connection.open(client.transport(), loop, clientConfig, codec).whenComplete((fresh, t) -> loop.execute(() -> {
            connecting = false;
            if (t != null) {
                LOG.warn("producer: reconnect failed, retrying in {} ms: {}", reconnectBackoffMs, t.getMessage());
                nextConnectNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(reconnectBackoffMs);
                reconnectBackoffMs = Math.min(reconnectBackoffMs * 2, config.maxRetryBackoffMs());
            } else if (closed) {
                fresh.close();
                return;
            } else {
                reconnectBackoffMs = config.retryBackoffMs();
                conn = fresh;
                fresh.onClose(this::scheduleDrain);
            }
            drain();
        }));
        return false;
    }

    private static final long EXPIRY_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** When {@link #drain} next looks for messages past their delivery timeout; event loop only. */
    private long nextExpiryCheckNanos = System.nanoTime();

    /**
     * Fails queued messages, and batches waiting to be resent, whose delivery timeout passed (a
     * batch in flight is bounded by the request timeout instead). Queued ones were never stored; a
     * resend after a TIMEOUT or a lost connection may have been.
     */
    private void expireUnsent(long now) {
        long timeout = TimeUnit.MILLISECONDS.toNanos(config.deliveryTimeoutMs());
        for (Partition p : partitions) {
            PendingRecord head;
            while (p.resending == 0 && (head = p.queue.peek()) != null && now - head.enqueuedNanos > timeout) {
                Batch expired = p.take(Long.MAX_VALUE, 1);
                fail(expired, FerryException.timeout(p.label + ": not sent within deliveryTimeoutMs " + config.deliveryTimeoutMs()
                        + (conn != null && conn.isOpen() ? " (the broker did not keep up)"
                        : " (no connection to " + clientConfig.host() + ":" + clientConfig.port() + ")")));
            }
        }
        for (var it = retries.iterator(); it.hasNext(); ) {
            Batch b = it.next();
            if (now - b.oldestNanos() > timeout) {
                it.remove();
                b.partition.resending--;
                fail(b, FerryException.timeout(b.partition.label + ": not sent within deliveryTimeoutMs " + config.deliveryTimeoutMs()));
            }
        }
        for (var it = explicit.iterator(); it.hasNext(); ) {
            Batch b = it.next();
            if (now - b.oldestNanos() > timeout) {
                it.remove();
                fail(b, FerryException.timeout(b.partition.label + ": not sent within deliveryTimeoutMs " + config.deliveryTimeoutMs()));
            }
        }
    }

    /** While disconnected: wakes up again later if anything waits to be sent. */
    private void waitForConnection() {
        boolean waiting = !retries.isEmpty() || !explicit.isEmpty();
        for (Partition p : partitions) {
            waiting |= p.bytes.get() > 0;
        }
        if (waiting && !closed) {
            loop.schedule(this::scheduleDrain, Math.max(10, Math.min(reconnectBackoffMs, 100)), TimeUnit.MILLISECONDS);
        }
    }

    private void sendBatch(Batch b) {
        if (b.attempts > 0) {
            b.partition.resending--; // its later batches may go again once this one is on its way
        }
        inFlight++;
        b.attempts++;
        Command.Builder req = Command.builder().code(RequestCode.SEND_BATCH).messages(b.messages());
        conn.send(req, clientConfig.requestTimeoutMs(), b.partition.label, (response, failure) -> done(b, response, failure));
    }

    private void done(Batch b, Command response, FerryException failure) {
        inFlight--;
        if (failure == null && response.status() == Status.OK) {
            acknowledge(b, response);
        } else {
            FerryException e = failure != null ? failure : FerryException.broker(response.status(), b.partition.label, response.message());
            long backoff = Math.min(config.retryBackoffMs() << Math.min(b.attempts - 1, 20), config.maxRetryBackoffMs());
            long deadline = b.oldestNanos() + TimeUnit.MILLISECONDS.toNanos(config.deliveryTimeoutMs());
            if (!closed && e.retryable() && b.attempts <= config.retries()
                    && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff) - deadline < 0) {
                if (b.attempts % 5 == 0) {
                    // one line a few attempts: a batch the broker keeps refusing (BUSY) or not answering is visible
                    LOG.warn("{}: attempt {} failed ({}), resending in {} ms", b.partition.label, b.attempts, e.getMessage(), backoff);
                } else {
                    LOG.debug("{}: attempt {} failed ({}), resending in {} ms", b.partition.label, b.attempts, e.getMessage(), backoff);
                }
                resends = resends + 1; // single writer: the event loop
                b.partition.resending++;
                backingOff.add(b);
                loop.schedule(() -> {
                    if (backingOff.remove(b)) { // else a close failed it meanwhile
                        retries.add(b);
                        drain();
                    }
                }, backoff, TimeUnit.MILLISECONDS);
            } else {
                fail(b, e);
            }
        }
        drain();
    }

    private void acknowledge(Batch b, Command response) {
        String topic = b.partition.topic;
        int queueId = (int) header(response, Headers.QUEUE_ID);
        // -1: delayed (see sendDelayed), no offset yet; a sendBatch with delayed messages: the others'
        // offsets cannot be counted from the first
        long offset = b.offsetsUnknown ? -1 : header(response, Headers.QUEUE_OFFSET);
        BatchIds ids = response.header(Headers.MSG_ID) != null
                ? BatchIds.single(response.header(Headers.MSG_ID)) : BatchIds.lines(response.body());
        for (int i = 0; i < b.count; i++) {
            b.records[i].complete(new SendResult(topic, queueId, offset < 0 ? -1 : offset + i, ids, i));
        }
        releaseAcked(b.bytes); // after the futures: a flush() that returns has seen them complete
        if (b.partition.queueId == Message.ANY_QUEUE) {
            TopicState t = topics.get(topic);
            if (t != null && t.queues == 0) {
                try {
                    refresh(topic); // the broker may have created the topic on this send
                } catch (IllegalStateException e) {
                    // the client closed meanwhile (a flush that returned on these futures, then close): nothing to refresh
                    // for; it surfaced as a WARN "the callback of SEND_BATCH failed" after a successful `ferry produce`
                }
            }
        }
    }

    private static long header(Command response, String name) {
        String v = response.header(name);
        try {
            return v == null ? -1 : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void fail(Batch b, FerryException e) {
        for (int i = 0; i < b.count; i++) {
            b.records[i].completeExceptionally(e);
        }
        releaseAcked(b.bytes); // after the futures, as in acknowledge
    }

    /** Batches resent so far after BUSY, TIMEOUT, no response or a lost connection. */
    long resends() {
        return resends;
    }

    // ------------------------------------------------------------------------------------------

    private <T> T await(CompletableFuture<T> f) {
        if (client.transport().inEventLoop()) { // any of the client's loops: see FerryClient.await
            throw new IllegalStateException("a blocking send from the client's event loop (a callback of a future) would deadlock; "
                    + "use sendAsync");
        }
        try {
            return f.get(config.deliveryTimeoutMs() + clientConfig.requestTimeoutMs(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw FerryClient.unwrap(e);
        } catch (TimeoutException e) {
            throw FerryException.timeout("send: no acknowledgement within " + (config.deliveryTimeoutMs() + clientConfig.requestTimeoutMs()) + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw FerryException.client("interrupted while waiting for the acknowledgement");
        }
    }
}
