package dev.ferry.connect;

import dev.ferry.client.FerryException;
import dev.ferry.client.Producer;
import dev.ferry.client.SendResult;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link SourceTask}: poll, send with a {@link Producer}, commit positions.
 *
 * <p><b>Commit rule.</b> Each poll's records are sent asynchronously and remembered as one
 * pending entry (all their acknowledgements, and the position after the last of them) in poll
 * order. A position becomes <em>acknowledged</em> when its entry and every earlier entry
 * completed; the latest acknowledged position is committed to the {@link PositionStore} every
 * {@code commit.interval.ms}, on pause and on stop. A restart resumes from the committed
 * position, so records after it may be sent twice (at-least-once), none is skipped. A task's
 * {@link SourceTask#startPosition()} (a start other than the source's beginning, without a
 * committed position) is committed right after its start, before any record. A failed
 * send (after the producer's own retries) fails the task without committing past it (and
 * restarts it, see {@link Worker}). On stop the acknowledgements are awaited until the runtime's
 * settle deadline only; what is unacknowledged then is failed and sent again after a restart.
 *
 * <p><b>Records the broker would refuse.</b> Each record is checked against {@link RecordLimits}
 * before it is sent (its keys, tags, properties, body and size): one that fails is a bad record,
 * handled as one the task reported ({@code errors.tolerance}), so a record the broker would answer
 * BAD_REQUEST or LIMIT_EXCEEDED, or one that never fits the producer's buffer, neither fails its
 * batch-mates nor sends the task into a restart loop over it.
 *
 * <p>Messages of one queue are stored in send order unless the producer resends a batch after
 * a failure while later batches were in flight (see {@link Producer}).
 *
 * <p><b>Thread safety.</b> See {@link Worker}: all of this runs on the worker thread.
 */
final class SourceWorker extends Worker {
    private static final Logger LOG = LoggerFactory.getLogger(SourceWorker.class);
    /** How long one poll may wait for data; bounds how fast a stop or pause is noticed. */
    static final Duration POLL_WAIT = Duration.ofMillis(200);
    /**
     * Longest wait for the acknowledgements in flight on pause or after a failure (the producer's
     * own delivery timeout is longer); on stop the runtime's deadline applies instead.
     */
    static final long SETTLE_TIMEOUT_MS = 30_000;
    /** How often a wait for acknowledgements looks whether a stop shortened its deadline. */
    private static final long SETTLE_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** One poll's records in flight: done when all are acknowledged. */
    private record Pending(CompletableFuture<?> acked, Map<String, String> position, int records) {}

    /** Replaced by a fresh instance when the task restarts after a failure. */
    private SourceTask task;
    /** The {@code topic} setting, or null: records must then name their topic. */
    private final String topic;
    private final ErrorHandling errorHandling;
    private final long commitIntervalMs;
    /** What each record is checked against before it is sent: the client's limits and the producer's buffer. */
    private final RecordLimits recordLimits;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private Producer producer;
    private Map<String, String> acked;
    private Map<String, String> committed;
    private long lastCommitNanos = System.nanoTime();

    SourceWorker(String name, ConnectorTypes.Type type, ConnectorConfig config, RuntimeServices services, boolean keysChecked,
                 SourceTask task, String topic, ErrorHandling errorHandling, long commitIntervalMs) {
        super(name, type, config, services, keysChecked);
        this.task = task;
        this.topic = topic;
        this.errorHandling = errorHandling;
        this.commitIntervalMs = commitIntervalMs;
        this.recordLimits = RecordLimits.of(services.client().config().limits());
    }

    @Override
    void loop() throws Exception {
        committed = services.positions().load(name);
        acked = committed;
        producer = services.client().producer(RecordLimits.PRODUCER);
        boolean clean = false;
        try {
            task.start(context(committed));
            checkKeysAfterStart();
            if (committed.isEmpty() && !task.startPosition().isEmpty()) {
                acked = task.startPosition();
                commit(); // at once: a start before the first acknowledged record must resume here, not start over
            }
            if (topic != null && task.sendsShardingKeys() && !awaitTopicForShardingKeys()) {
                clean = true;
                return; // stopped while waiting: nothing was read
            }
            while (!stopRequested) {
                if (pauseRequested) {
                    settleAll(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_TIMEOUT_MS));
                    commit();
                    pauseUntilResumed();
                    continue;
                }
                List<SourceRecord> records;
                try {
                    records = task.poll(POLL_WAIT);
                } catch (BadRecordException e) {
                    badRecord(e);
                    continue;
                }
                lag = task.lag();
                if (!records.isEmpty()) {
                    send(records);
                }
                settle();
                if (System.nanoTime() - lastCommitNanos >= commitIntervalMs * 1_000_000L) {
                    commit();
                }
            }
            settleAll(settleByNanos);
            commit();
            clean = true;
        } finally {
            long settleBy = stopRequested ? settleByNanos : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_TIMEOUT_MS);
            if (!clean) {
                commitAckedQuietly(settleBy);
            }
            try {
                task.close();
            } catch (Exception e) {
                LOG.warn("connector {}: close failed: {}", name, describe(e));
            }
            // bounded: with the broker gone an unbounded flush would wait for the delivery timeout
            if (!producer.close(Duration.ofNanos(Math.max(0, stopAware(settleBy) - System.nanoTime())))) {
                LOG.warn("connector {}: {} poll(s) of records not acknowledged in time; sent again after a restart (the position "
                        + "was committed before them)", name, pending.size());
            }
        }
    }

    @Override
    boolean restartable() {
        return true;
    }

    /** A fresh task; {@link #loop()} reloads the committed position and opens a new producer. What was in flight is dropped. */
    @Override
    void prepareRestart() {
        task = (SourceTask) type.factory().get();
        task.configure(config);
        pending.clear();
        lastCommitNanos = System.nanoTime();
    }

    /**
     * Sends one poll's records. Each is first checked against the limits ({@link RecordLimits}):
     * one that fails is a bad record, so the records before it are sent as one entry, the bad one
     * is handled ({@link #badRecord}), and the rest follow as another.
     */
    private void send(List<SourceRecord> records) {
        List<Message> messages = new ArrayList<>(records.size());
        int from = 0;
        for (int i = 0; i < records.size(); i++) {
            SourceRecord r = records.get(i);
            Message m = withTopic(r.message());
            Optional<String> problem = recordLimits.problem(m, r.shardingKey());
            if (problem.isPresent()) {
                sendAll(records.subList(from, i), messages);
                messages.clear();
                badRecord(new BadRecordException(r, "record refused before sending: " + problem.get()));
                from = i + 1;
            } else {
                messages.add(m);
            }
        }
        sendAll(records.subList(from, records.size()), messages);
    }

    /** Sends {@code records} (as {@code messages}, with their topic) as one pending entry. */
    private void sendAll(List<SourceRecord> records, List<Message> messages) {
        if (records.isEmpty()) {
            return;
        }
        @SuppressWarnings("unchecked")
        CompletableFuture<SendResult>[] futures = new CompletableFuture[records.size()];
        for (int i = 0; i < futures.length; i++) {
            futures[i] = sendAsync(messages.get(i), records.get(i).shardingKey());
        }
        recordsIn.addAndGet(futures.length);
        pending.add(new Pending(futures.length == 1 ? futures[0] : CompletableFuture.allOf(futures),
                records.get(records.size() - 1).position(), futures.length));
    }

    /**
     * Waits for the {@code topic} setting's topic to exist, logging once that it does not; false
     * if stopped first. A sharding key needs the topic's queue count, which the broker does not
     * give for a topic that does not exist (the producer fails the send with NOT_FOUND, for good),
     * and the client cannot create it with the broker's default queue count, as a keyless send
     * does: the queue count is the operator's choice, as for a sink's topics.
     */
    private boolean awaitTopicForShardingKeys() throws InterruptedException {
        boolean logged = false;
        while (!stopRequested) {
            if (pauseRequested) {
                pauseUntilResumed();
                continue;
            }
            if (services.client().describeTopic(topic).isPresent()) {
                if (logged) {
                    LOG.info("connector {}: topic {} exists; starting", name, topic);
                }
                return true;
            }
            if (!logged) {
                LOG.warn("connector {}: waiting for topic {} to exist: its records carry sharding keys, which need the topic's"
                        + " queue count (create it: ferry topic create {} --queues N)", name, topic, topic);
                logged = true;
            }
            idle(1_000);
        }
        return false;
    }

    /**
     * {@link Producer#sendAsync}, for a message that passed {@link RecordLimits}: it fits the
     * producer's buffer by itself, so a send that found no room within {@code maxBlockMs} means the
     * broker does not acknowledge what is in flight (slow or unreachable), which is worth a restart
     * ({@link Retriable}), unlike the client's other refusals.
     */
    private CompletableFuture<SendResult> sendAsync(Message m, String shardingKey) {
        try {
            return shardingKey == null ? producer.sendAsync(m) : producer.sendAsync(m, shardingKey);
        } catch (FerryException e) {
            if (e.reason() == FerryException.Reason.CLIENT && !stopRequested && !Thread.currentThread().isInterrupted()) {
                throw new UncheckedIOException(new IOException("no room in the producer's buffer: " + e.getMessage()
                        + " (the broker does not acknowledge in time, or is unreachable)", e));
            }
            throw e;
        }
    }

    private Message withTopic(Message m) {
        if (!m.topic().isEmpty()) {
            return m;
        }
        if (topic == null) {
            throw new IllegalStateException("a record has no topic and the connector has no 'topic' setting");
        }
        return m.toBuilder().topic(topic).build();
    }

    /** A record the task could not turn into a message: to the error topic (committed past once acknowledged) or fail. */
    private void badRecord(BadRecordException e) {
        errors.incrementAndGet();
        recordsIn.incrementAndGet();
        if (errorHandling.tolerance() == ErrorHandling.Tolerance.NONE) {
            throw new IllegalStateException("bad record (errors.tolerance=none): " + e.getMessage(), e);
        }
        if (!(e.record() instanceof SourceRecord r)) {
            throw new IllegalStateException("bad record without a SourceRecord (cannot know its position): " + e.getMessage(), e);
        }
        Message error = errorHandling.errorRecord(name, withTopicOrSelf(r.message()), e.getMessage(), false, recordLimits);
        LOG.warn("connector {}: bad record to {}: {}", name, errorHandling.topic(), e.getMessage());
        pending.add(new Pending(sendAsync(error, null), r.position(), 0));
    }

    private Message withTopicOrSelf(Message m) {
        return m.topic().isEmpty() && topic != null ? m.toBuilder().topic(topic).build() : m;
    }

    /**
     * Moves {@code acked} past every completed entry at the head; a failed one fails the task and
     * stays at the head, so nothing later (a retry's settle after the failure) can move the
     * position past records that were not stored.
     */
    private void settle() {
        while (!pending.isEmpty() && pending.peek().acked().isDone()) {
            Pending p = pending.peek();
            try {
                p.acked().join();
            } catch (CompletionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                throw new IllegalStateException("send failed: " + describe(cause), cause);
            }
            pending.poll();
            recordsOut.addAndGet(p.records());
            acked = p.position();
        }
    }

    /**
     * Waits for the pending acknowledgements until {@code deadlineNanos} ({@link System#nanoTime()}),
     * one deadline for all of them, then moves {@code acked} past those that came. No
     * {@link Producer#flush()}: the producer sends its batches after its linger anyway, and a
     * flush would wait without bound (up to the delivery timeout) when the broker is gone.
     */
    private void settleAll(long deadlineNanos) throws Exception {
        for (Pending p : pending) {
            try {
                while (true) {
                    long left = stopAware(deadlineNanos) - System.nanoTime();
                    if (left <= 0) {
                        settle();
                        return; // what came is committed; the rest is sent again after a restart
                    }
                    try {
                        p.acked().get(Math.min(left, SETTLE_SLICE_NANOS), TimeUnit.NANOSECONDS);
                        break;
                    } catch (TimeoutException e) {
                        // look at the deadline again: a stop may have shortened it
                    }
                }
            } catch (ExecutionException e) {
                break; // settle() reports it
            }
        }
        settle();
    }

    /** {@code deadlineNanos}, or the runtime's settle deadline if a stop was requested and that is earlier. */
    private long stopAware(long deadlineNanos) {
        return stopRequested && settleByNanos - deadlineNanos < 0 ? settleByNanos : deadlineNanos;
    }

    private void commit() throws Exception {
        lastCommitNanos = System.nanoTime();
        if (acked.equals(committed)) {
            return;
        }
        services.positions().save(name, acked);
        committed = acked;
        task.committed(acked);
    }

    /** After a failure: waits for what is in flight (a bad record is no broker failure), commits what was acknowledged. */
    private void commitAckedQuietly(long settleBy) {
        boolean interrupted = false;
        try {
            settleAll(settleBy);
        } catch (InterruptedException e) {
            interrupted = true; // the runtime's stop deadline passed: commit what was acknowledged (file I/O would fail while interrupted)
        } catch (Exception e) {
            // a send failed or did not finish: acked stops before it
        }
        try {
            commit();
        } catch (Exception e) {
            LOG.warn("connector {}: could not commit the last acknowledged position: {}", name, describe(e));
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
