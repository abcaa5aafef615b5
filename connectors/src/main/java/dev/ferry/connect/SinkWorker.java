package dev.ferry.connect;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.DamagedRecordException;
import dev.ferry.client.Producer;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link SinkTask}: consumes the connector's {@code topics} (every queue) in consumer
 * group {@code connect-NAME}, {@link SinkTask#put puts} each polled batch, and every
 * {@code commit.interval.ms} (and on pause and stop) calls {@link SinkTask#flush} and then
 * commits the group's offsets. So a committed offset never passes a message the sink has not
 * made durable: after a crash the messages after it are put again (at-least-once). When the
 * sink stores its own positions ({@link SinkTask#storedPositions}), the consumer starts there
 * instead (exactly-once for sinks that write data and position atomically).
 *
 * <p>A group that never committed starts at {@code from}: {@code earliest} (default) or
 * {@code latest}. A topic that does not exist yet is waited for (the status says so by a lag of -1).
 * Measuring the lag never fails the task: while the broker does not answer the lag is -1. A
 * failure on a broker or I/O error restarts the task ({@link Worker}) at the committed offsets.
 *
 * <p><b>Thread safety.</b> See {@link Worker}: all of this runs on the worker thread.
 */
final class SinkWorker extends Worker {
    private static final Logger LOG = LoggerFactory.getLogger(SinkWorker.class);
    static final Duration POLL_WAIT = Duration.ofMillis(200);
    /** How often the lag is measured (one GET_OFFSET per queue). */
    static final long LAG_INTERVAL_MS = 1_000;

    enum From { EARLIEST, LATEST }

    /** Replaced by a fresh instance when the task restarts after a failure. */
    private SinkTask task;
    private final List<String> topics;
    private final From from;
    private final ErrorHandling errorHandling;
    private final long commitIntervalMs;
    /** What an error record is cut down to fit (the original's properties and the ones added may be too many). */
    private final RecordLimits recordLimits;
    private final List<Consumer> consumers = new ArrayList<>();
    private Producer errorProducer;
    private long lastCommitNanos = System.nanoTime();
    private long lastLagNanos;
    private boolean uncommitted;

    SinkWorker(String name, ConnectorTypes.Type type, ConnectorConfig config, RuntimeServices services, boolean keysChecked,
               SinkTask task, List<String> topics, From from, ErrorHandling errorHandling, long commitIntervalMs) {
        super(name, type, config, services, keysChecked);
        this.task = task;
        this.topics = topics;
        this.from = from;
        this.errorHandling = errorHandling;
        this.commitIntervalMs = commitIntervalMs;
        this.recordLimits = RecordLimits.of(services.client().config().limits());
    }

    static String group(String name) {
        return "connect-" + name;
    }

    @Override
    void loop() throws Exception {
        boolean clean = false;
        try {
            task.start(context(Map.of()));
            checkKeysAfterStart();
            for (String topic : topics) {
                if (!awaitTopic(topic)) {
                    clean = true;
                    return;
                }
                Consumer c = services.client().consumer(ConsumerConfig.builder(topic, group(name)).autoCommit(false)
                        .startFrom(from == From.EARLIEST ? StartPosition.COMMITTED_ELSE_EARLIEST : StartPosition.COMMITTED_ELSE_LATEST)
                        .build());
                consumers.add(c);
                for (Map.Entry<Integer, Long> e : task.storedPositions(topic).entrySet()) {
                    c.seek(e.getKey(), e.getValue());
                }
            }
            Duration wait = POLL_WAIT.dividedBy(consumers.size());
            while (!stopRequested) {
                if (pauseRequested) {
                    flushAndCommit();
                    pauseUntilResumed();
                    continue;
                }
                for (Consumer c : consumers) {
                    List<Message> batch;
                    try {
                        batch = c.poll(wait);
                    } catch (DamagedRecordException e) {
                        handleDamaged(c, e);
                        continue;
                    }
                    if (!batch.isEmpty()) {
                        recordsIn.addAndGet(batch.size());
                        deliver(batch);
                        uncommitted = true;
                    }
                }
                if (System.nanoTime() - lastCommitNanos >= commitIntervalMs * 1_000_000L) {
                    flushAndCommit();
                }
                if (System.nanoTime() - lastLagNanos >= LAG_INTERVAL_MS * 1_000_000L) {
                    measureLagQuietly(); // a broker that does not answer now is no reason to fail: the poll notices
                }
            }
            flushAndCommit();
            clean = true;
        } finally {
            // after a failure the consumers' positions may be past messages not put: close without committing
            for (Consumer c : consumers) {
                c.close();
            }
            try {
                task.close();
            } catch (Exception e) {
                LOG.warn("connector {}: close failed: {}", name, describe(e));
            }
            if (errorProducer != null) {
                errorProducer.close();
            }
            if (clean) {
                measureLagQuietly();
            }
        }
    }

    @Override
    boolean restartable() {
        return true;
    }

    /** A fresh task; the consumers start again at the committed offsets (or the task's stored positions). */
    @Override
    void prepareRestart() {
        task = (SinkTask) type.factory().get();
        task.configure(config);
        consumers.clear();
        errorProducer = null;
        uncommitted = false;
        lastCommitNanos = System.nanoTime();
    }

    @Override
    void whilePaused() {
        measureLagQuietly(); // the topics go on growing: the status should show it
    }

    /** Waits for {@code topic} to exist; false if stopped first. */
    private boolean awaitTopic(String topic) throws InterruptedException {
        boolean logged = false;
        while (!stopRequested) {
            if (services.client().describeTopic(topic).isPresent()) {
                return true;
            }
            if (!logged) {
                LOG.info("connector {}: waiting for topic {} to exist", name, topic);
                logged = true;
            }
            idle(1_000);
        }
        return false;
    }

    /** Puts {@code batch}; each bad record goes to the error topic (or fails the task) and the rest is put again. */
    private void deliver(List<Message> batch) throws Exception {
        List<Message> rest = batch;
        while (!rest.isEmpty()) {
            try {
                task.put(rest);
                recordsOut.addAndGet(rest.size());
                return;
            } catch (BadRecordException e) {
                int i = indexOf(rest, e.record());
                if (i < 0) {
                    throw new IllegalStateException("the sink reported a bad record that is not in the batch: " + e.getMessage(), e);
                }
                recordsOut.addAndGet(i);
                handleBad(rest.get(i), e);
                rest = rest.subList(i + 1, rest.size());
            }
        }
    }

    /** Sends a record the sink could not write to the error topic, or fails the task (errors.tolerance=none). */
    private void handleBad(Message bad, BadRecordException e) {
        if (errorHandling.tolerance() == ErrorHandling.Tolerance.NONE) {
            errors.incrementAndGet();
            throw new IllegalStateException("bad record " + bad.topic() + "/" + bad.queueId() + "@" + bad.queueOffset()
                    + " (errors.tolerance=none): " + e.getMessage(), e);
        }
        LOG.warn("connector {}: bad record {}/{}@{} to {}: {}", name, bad.topic(), bad.queueId(), bad.queueOffset(),
                errorHandling.topic(), e.getMessage());
        if (errorProducer == null) {
            errorProducer = services.client().producer(RecordLimits.PRODUCER);
        }
        errorProducer.send(errorHandling.errorRecord(name, bad, e.getMessage(), true, recordLimits));
        errors.incrementAndGet(); // counted once it is in the error topic, so the status never runs ahead of it
    }

    /**
     * A record damaged on the broker's disk (it fails its CRC32C): a bad record like one the sink
     * could not write, except that its bytes cannot be trusted, so its error record has an empty
     * body and only the place it was at. Under {@code errors.tolerance=all} the consumer then
     * seeks past it; under {@code none} the task fails (the consumer would report it again at
     * every poll, and a restart would meet it again).
     */
    private void handleDamaged(Consumer c, DamagedRecordException e) {
        Message placeholder = Message.builder(e.topic()).queueId(e.queueId()).queueOffset(e.offset()).body(new byte[0]).build();
        handleBad(placeholder, new BadRecordException(placeholder, "damaged record: " + e.getMessage(), e));
        c.seek(e.queueId(), e.offset() + 1);
        uncommitted = true;
    }

    private static int indexOf(List<Message> batch, Object record) {
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i) == record) {
                return i;
            }
        }
        if (record instanceof Message m) {
            for (int i = 0; i < batch.size(); i++) {
                Message b = batch.get(i);
                if (b.queueOffset() == m.queueOffset() && b.queueId() == m.queueId() && b.topic().equals(m.topic())) {
                    return i;
                }
            }
        }
        return -1;
    }

    private void flushAndCommit() throws Exception {
        lastCommitNanos = System.nanoTime();
        if (!uncommitted) {
            return;
        }
        flushHandlingBadRecords();
        for (Consumer c : consumers) {
            c.commitSync();
        }
        uncommitted = false;
    }

    /**
     * Flushes; a record the target rejected only when it was written (a database constraint) is
     * reported by {@code flush} and handled like one reported by {@code put}, then flush runs
     * again, until it succeeds. Each round handles a different record, so this ends.
     */
    private void flushHandlingBadRecords() throws Exception {
        Message last = null;
        while (true) {
            try {
                task.flush();
                return;
            } catch (BadRecordException e) {
                if (!(e.record() instanceof Message bad)) {
                    throw new IllegalStateException("the sink reported a bad record that is not a message: " + e.getMessage(), e);
                }
                if (bad == last) {
                    throw new IllegalStateException("the sink reported " + bad.topic() + "/" + bad.queueId() + "@" + bad.queueOffset()
                            + " as bad twice in a row: " + e.getMessage(), e);
                }
                last = bad;
                handleBad(bad, e);
                recordsOut.decrementAndGet(); // counted as out when it was put
            }
        }
    }

    private void measureLag() {
        lastLagNanos = System.nanoTime();
        long sum = 0;
        for (Consumer c : consumers) {
            String topic = topics.get(consumers.indexOf(c));
            for (int q : c.queues()) {
                sum += Math.max(0, services.client().queueOffsets(topic, q).maxOffset() - c.position(q));
            }
        }
        lag = consumers.isEmpty() ? -1 : sum;
    }

    private void measureLagQuietly() {
        try {
            measureLag();
        } catch (RuntimeException e) {
            // the broker may be gone (at shutdown, or for a while): the lag is unknown, the task goes on
            lag = -1;
            LOG.debug("connector {}: lag not measured: {}", name, describe(e));
        }
    }
}
