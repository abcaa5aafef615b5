package dev.ferry.broker;

import dev.ferry.log.AppendResult;
import dev.ferry.log.FlushNotConfirmedException;
import dev.ferry.log.InvalidMessageException;
import dev.ferry.log.LogException;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageFlags;
import dev.ferry.log.MessageIds;
import dev.ferry.log.MessageStore;
import dev.ferry.log.OffsetOutOfRangeException;
import dev.ferry.log.StoredMessage;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transactional messages, in the manner of RocketMQ: a producer stores a <em>half message</em>,
 * runs its local transaction, then commits or rolls back; a half message left undecided is
 * <em>checked back</em> with its producer group until it is decided or a limit is reached.
 *
 * <p><b>Storage.</b> Everything is in the commit log, so it is as durable as any message:
 * <ul>
 * <li>A half message is the producer's message stored in the internal topic {@value #HALF_TOPIC}
 * (queue 0), flag {@link MessageFlags#TX_PREPARED}, with its destination in the properties
 * {@value DelayedDelivery#REAL_TOPIC} / {@value DelayedDelivery#REAL_QUEUE_ID} (as for delayed
 * messages) and its producer group in {@value #PRODUCER_GROUP}. No consumer reads that topic, so the
 * message is invisible. Its id (the record's msgId) is the <em>transaction id</em>.</li>
 * <li>A decision is an <em>op record</em> in {@value #OP_TOPIC} (queue 0): empty body, flag
 * {@link MessageFlags#TX_COMMIT} or {@link MessageFlags#TX_ROLLBACK}, {@code preparedTxOffset} = the
 * half's queue offset, key = the transaction id, and in its tag-hash field (copied into the op
 * topic's offset index) {@code halfOffset << 1 | (commit ? 1 : 0)}, so decisions are read back from
 * the index without decoding records.</li>
 * <li>A commit stores the real message (body, keys, tags, properties, born time and host of the
 * half; {@code TX_PREPARED} cleared; property {@value #TX_ID} = the transaction id) <em>and</em> its
 * op record as one batch ({@link MessageStore#appendBatchAsync}), which is all or nothing across a
 * crash: a committed message without its op record, the one state that could lead to a second
 * commit, cannot be recovered. A rollback stores the op record alone.</li>
 * </ul>
 *
 * <p><b>At most once.</b> Decisions of one transaction are serialized here: an end whose
 * transaction is being decided waits for that and is then answered as already decided. An end of
 * a decided transaction applies nothing: the same decision is answered OK ({@code applied=false}),
 * the opposite one is refused ({@link BrokerException}). Below the watermark the decision is
 * found through the op topic's key index.
 *
 * <p><b>Check-back.</b> A thread looks, every {@link TransactionConfig#scanIntervalMs()}, for
 * undecided half messages stored {@link TransactionConfig#checkTimeoutMs()} ago or whose last
 * check was {@link TransactionConfig#checkIntervalMs()} ago, and sends a {@link TransactionCheck}
 * to one live {@link ProducerChannel} of the half's producer group (round-robin). Every attempt
 * counts, also when no producer of the group is connected; after
 * {@link TransactionConfig#maxChecks()} attempts the half is rolled back and a warning logged.
 * Check counts are saved before the checks they count are sent ({@link TransactionCheckCounts}:
 * a scan appends the counts it changed), so a restart goes on counting: a broker restarted over
 * and over still gives a half up.
 *
 * <p><b>Restart.</b> The pending set is rebuilt from the two topics: decisions from the op
 * topic's index from {@link TransactionWatermark#opFrom()}, then every half offset from
 * {@link TransactionWatermark#halfDone()} to the end that has none. The watermark moves past the
 * decided prefix of the half topic; it is written only once the op records it skips are flushed.
 * Half messages removed by retention are dropped (and logged).
 *
 * <p><b>Thread safety.</b> Safe for any number of threads: the pending, deciding and decided
 * tables and the watermark are guarded by {@code lock}; appends happen outside it.
 */
public final class Transactions implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Transactions.class);

    /** Internal topic of half messages. */
    public static final String HALF_TOPIC = "%TRANS_HALF%";
    /** Internal topic of decisions (op records). */
    public static final String OP_TOPIC = "%TRANS_OP%";
    /** Property of a half message: its producer group. */
    static final String PRODUCER_GROUP = "%PGROUP";
    /** Property of a committed message: its transaction id (the half message's msgId). */
    public static final String TX_ID = "%TX_ID";
    private static final int LOAD_CHUNK = 65_536;

    private final MessageStore store;
    private final TransactionConfig config;
    private final Clock clock;
    private final DelayedDelivery.Arrivals arrivals;
    private final DelayedDelivery.QueueChoice queueChoice;
    private final TransactionWatermark watermark;
    private final TransactionCheckCounts checkCounts;
    private final ScheduledExecutorService checker;
    private final ConcurrentHashMap<String, CopyOnWriteArrayList<ProducerChannel>> producers = new ConcurrentHashMap<>();
    private final AtomicInteger roundRobin = new AtomicInteger();

    private final Object lock = new Object();
    /** Undecided half messages by half offset. Guarded by {@code lock}. */
    private final TreeMap<Long, Pending> pending = new TreeMap<>();
    /** Decisions being stored, by half offset. Guarded by {@code lock}. */
    private final Map<Long, Deciding> deciding = new HashMap<>();
    /** Decisions of half offsets at or above {@code halfDone}, by half offset. Guarded by {@code lock}. */
    private final TreeMap<Long, Decided> decided = new TreeMap<>();
    /** Every half offset below it is decided. Guarded by {@code lock}. */
    private long halfDone;
    /** A watermark computed earlier, written once the store has flushed past {@code flushNeeded}. Check thread only. */
    private long[] unwritten;

    private final AtomicLong prepared = new AtomicLong();
    private final AtomicLong committed = new AtomicLong();
    private final AtomicLong rolledBack = new AtomicLong();
    private final AtomicLong checksSent = new AtomicLong();
    private final AtomicLong discarded = new AtomicLong();

    /** An undecided half message. Fields other than the finals are guarded by {@code lock}. */
    private static final class Pending {
        final long halfOffset;
        final String transactionId;
        final String group;
        int checks;
        long nextCheckAt;

        Pending(long halfOffset, String transactionId, String group, long nextCheckAt) {
            this.halfOffset = halfOffset;
            this.transactionId = transactionId;
            this.group = group;
            this.nextCheckAt = nextCheckAt;
        }
    }

    private record Deciding(long opLowerBound, CompletableFuture<TransactionOutcome> done) {}

    private record Decided(long opOffset, TransactionDecision decision) {}

    Transactions(MessageStore store, Path dir, TransactionConfig config, Clock clock, DelayedDelivery.Arrivals arrivals,
                 DelayedDelivery.QueueChoice queueChoice) {
        this.store = store;
        this.config = config;
        this.clock = clock;
        this.arrivals = arrivals;
        this.queueChoice = queueChoice;
        Opened opened = new Opened();
        try {
            this.watermark = opened.add(new TransactionWatermark(dir));
            this.checkCounts = new TransactionCheckCounts(dir); // a bad checks file fails here, the watermark open
            load();
        } catch (RuntimeException | Error e) {
            opened.closeAfter(e);
            throw e;
        }
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ferry-transaction-check");
            t.setDaemon(true);
            return t;
        });
        checker.scheduleWithFixedDelay(this::checkQuietly, config.scanIntervalMs(), config.scanIntervalMs(), TimeUnit.MILLISECONDS);
    }

    /** True for the internal topics no producer may send to directly. */
    static boolean isInternal(String topic) {
        return topic.equals(HALF_TOPIC) || topic.equals(OP_TOPIC);
    }

    // ---- producers ---------------------------------------------------------------------------------

    /**
     * {@code channel} belongs to {@code group} and may be sent its check-backs; registering twice is
     * harmless. A registration names a group by the broker's name rule ({@link #checkProducerGroupName});
     * the caller bounds how many groups one channel registers (the gateway: per connection).
     */
    public void registerProducer(String group, ProducerChannel channel) {
        checkProducerGroupName(group);
        producers.compute(group, (g, list) -> {
            CopyOnWriteArrayList<ProducerChannel> l = list != null ? list : new CopyOnWriteArrayList<>();
            l.addIfAbsent(channel);
            return l;
        });
    }

    /** Forgets {@code channel} as a member of {@code group} (its connection closed), and the group with its last channel. */
    public void unregisterProducer(String group, ProducerChannel channel) {
        producers.computeIfPresent(group, (g, list) -> {
            list.remove(channel);
            return list.isEmpty() ? null : list; // atomic with a registration of the same group
        });
    }

    /**
     * The rule for a producer group that registers: that of the broker's topic and group names,
     * 1..200 characters of {@code [A-Za-z0-9._%|-]}. (END_TRANSACTION checks only the looser
     * {@code checkGroup}, so halves stored under names from before this rule can still be decided.)
     */
    public static void checkProducerGroupName(String group) {
        Broker.checkName("producerGroup", group);
    }

    private static void checkGroup(String group) {
        if (group == null || group.isEmpty() || group.length() > 200 || group.indexOf('\n') >= 0) {
            throw new BrokerException("producerGroup: '" + group + "' (expected: 1..200 characters, no line breaks)");
        }
    }

    // ---- prepare and end --------------------------------------------------------------------------

    /**
     * Stores {@code m} (its topic and queue already chosen) as a half message of {@code group}; the
     * result is the half's, whose {@link AppendResult#messageId()} is the transaction id.
     */
    public CompletableFuture<AppendResult> prepare(LogMessage m, String group) {
        checkGroup(group);
        if (isInternal(m.topic()) || m.topic().equals(DelayedDelivery.TOPIC)) {
            throw new BrokerException("topic: '" + m.topic() + "' (expected: not an internal topic)");
        }
        LogMessage half = m.toBuilder(HALF_TOPIC, 0)
                .flags(m.flags() | MessageFlags.TX_PREPARED)
                .internalProperty(DelayedDelivery.REAL_TOPIC, m.topic())
                .internalProperty(DelayedDelivery.REAL_QUEUE_ID, Integer.toString(m.queueId()))
                .internalProperty(PRODUCER_GROUP, group)
                .build();
        // a half whose flush is not confirmed is written all the same: it is pending (checked back
        // if the producer does not decide), and the producer hears that durability is not confirmed
        return store.appendAsync(half).whenComplete((r, t) -> {
            List<AppendResult> written = t == null ? List.of(r) : FlushNotConfirmedException.writtenDespite(t);
            if (written != null) {
                halfWritten(written.get(0), group);
            }
        });
    }

    /**
     * {@code time + delayMs}, at most Long.MAX_VALUE: the settings take delays up to Long.MAX_VALUE
     * (an operator's "never"), and a sum that wrapped to a negative time made a half due at once,
     * checked at every scan and rolled back after max.checks scans (found by a reviewer).
     */
    private static long later(long time, long delayMs) {
        long sum = time + delayMs;
        return ((time ^ sum) & (delayMs ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }

    private void halfWritten(AppendResult r, String group) {
        synchronized (lock) {
            long h = r.queueOffset();
            if (h >= halfDone && !decided.containsKey(h) && !deciding.containsKey(h)) {
                pending.put(h, new Pending(h, r.messageId(), group, later(r.storeTimestamp(), config.checkTimeoutMs())));
            }
        }
        prepared.incrementAndGet();
    }

    /**
     * Commits or rolls back the transaction {@code transactionId} of {@code group}: at most once,
     * see the class comment. Fails with {@link UnknownTransactionException} if no half message
     * has this id, with {@link BrokerException} for a bad id, another group's transaction or a
     * decision opposite to the one in force.
     */
    public CompletableFuture<TransactionOutcome> end(String transactionId, String group, TransactionDecision decision) {
        checkGroup(group);
        long physical;
        try {
            physical = MessageIds.parse(transactionId);
        } catch (InvalidMessageException e) {
            throw new BrokerException("transactionId: '" + transactionId + "' (expected: 16 hex digits, as SEND_HALF answered)");
        }
        StoredMessage half = store.readMessage(physical).filter(s -> s.topic().equals(HALF_TOPIC))
                .orElseThrow(() -> new UnknownTransactionException("transactionId: " + transactionId
                        + " (no half message with this id; expected the transactionId of a SEND_HALF response)"));
        String owner = half.properties().get(PRODUCER_GROUP);
        if (!group.equals(owner)) {
            throw new BrokerException("transaction " + transactionId + ": producerGroup '" + group + "' (expected: '" + owner
                    + "', the group that sent it)");
        }
        return decide(half.queueOffset(), transactionId, decision, "producer");
    }

    private CompletableFuture<TransactionOutcome> decide(long halfOffset, String transactionId, TransactionDecision decision, String by) {
        Pending p;
        Deciding d;
        boolean belowWatermark;
        synchronized (lock) {
            Deciding inFlight = deciding.get(halfOffset);
            if (inFlight != null) {
                // being decided by another request right now: answer as "already decided" once it is
                return inFlight.done.handle((o, t) -> null).thenCompose(x -> decide(halfOffset, transactionId, decision, by));
            }
            belowWatermark = halfOffset < halfDone;
            Decided known = decided.get(halfOffset);
            if (known != null) {
                return alreadyDecided(transactionId, known.decision, decision);
            }
            if (!belowWatermark) {
                p = pending.remove(halfOffset); // null if its prepare has not returned yet: undecided all the same
                d = new Deciding(store.nextOffset(OP_TOPIC, 0), new CompletableFuture<>());
                deciding.put(halfOffset, d);
            } else {
                p = null;
                d = null;
            }
        }
        if (belowWatermark) {
            return alreadyDecided(transactionId, decisionFromLog(transactionId), decision);
        }
        CompletableFuture<List<AppendResult>> appended;
        try {
            appended = store.appendBatchAsync(decisionBatch(halfOffset, transactionId, decision));
        } catch (RuntimeException e) {
            failed(halfOffset, p, d, e);
            throw e;
        }
        appended.whenComplete((stored, t) -> {
            // a decision whose flush is not confirmed is written all the same: it is in force (a
            // second one would store the message twice), and the caller hears that it is not confirmed
            List<AppendResult> results = t == null ? stored : FlushNotConfirmedException.writtenDespite(t);
            if (results == null) {
                failed(halfOffset, p, d, t);
                return;
            }
            AppendResult op = results.get(results.size() - 1);
            synchronized (lock) {
                deciding.remove(halfOffset);
                decided.put(halfOffset, new Decided(op.queueOffset(), decision));
                advanceLocked();
            }
            Optional<AppendResult> message = Optional.empty();
            if (decision == TransactionDecision.COMMIT) {
                AppendResult r = results.get(0);
                arrivals.arrived(r.topic(), r.queueId(), r.queueOffset() + 1);
                committed.incrementAndGet();
                message = Optional.of(r);
            } else {
                rolledBack.incrementAndGet();
            }
            LOG.debug("transaction {}: {} by {}", transactionId, decision, by);
            if (t != null) {
                LOG.warn("transaction {}: {} by {} is stored, its flush not confirmed: {}", transactionId, decision, by,
                        (t.getCause() != null ? t.getCause() : t).getMessage());
                d.done.completeExceptionally(t);
            } else {
                d.done.complete(new TransactionOutcome(transactionId, decision, true, message));
            }
        });
        return d.done;
    }

    private static CompletableFuture<TransactionOutcome> alreadyDecided(String transactionId, TransactionDecision inForce,
                                                                        TransactionDecision asked) {
        if (inForce != asked) {
            throw new BrokerException("transaction " + transactionId + ": already " + (inForce == TransactionDecision.COMMIT
                    ? "committed" : "rolled back") + " (expected: " + asked + " only of an undecided transaction)");
        }
        return CompletableFuture.completedFuture(new TransactionOutcome(transactionId, inForce, false, Optional.empty()));
    }

    private void failed(long halfOffset, Pending restore, Deciding d, Throwable t) {
        synchronized (lock) {
            deciding.remove(halfOffset);
            if (restore != null) {
                pending.put(halfOffset, restore);
            }
        }
        d.done.completeExceptionally(t);
    }

    /** The records a decision stores: for a commit the real message then the op record, as one batch; else the op record. */
    private List<LogMessage> decisionBatch(long halfOffset, String transactionId, TransactionDecision decision) {
        boolean commit = decision == TransactionDecision.COMMIT;
        LogMessage op = LogMessage.builder(OP_TOPIC, 0, new byte[0])
                .flags(commit ? MessageFlags.TX_COMMIT : MessageFlags.TX_ROLLBACK)
                .preparedTxOffset(halfOffset)
                .tagHash(halfOffset << 1 | (commit ? 1 : 0))
                .key(transactionId)
                .build();
        if (!commit) {
            return List.of(op);
        }
        Optional<StoredMessage> found = store.readMessage(HALF_TOPIC, 0, halfOffset);
        if (found.isEmpty()) {
            throw new UnknownTransactionException("transaction " + transactionId + ": its half message is gone (retention?)");
        }
        return List.of(realMessage(found.get(), transactionId), op);
    }

    /**
     * The message a commit stores into the real topic and queue: the queue the half was sent for,
     * unless its topic was deleted and created again with fewer queues since ({@link Broker#landingQueue}).
     */
    private LogMessage realMessage(StoredMessage half, String transactionId) {
        Map<String, String> props = userProperties(half);
        String topic = half.properties().get(DelayedDelivery.REAL_TOPIC);
        LogMessage.Builder b = LogMessage.builder(topic,
                        queueChoice.queue(topic, Integer.parseInt(half.properties().get(DelayedDelivery.REAL_QUEUE_ID))), half.body())
                .flags(half.flags() & ~MessageFlags.TX_PREPARED)
                .bornTimestamp(half.bornTimestamp())
                .bornHost(half.bornHost())
                .properties(props)
                .internalProperty(TX_ID, transactionId);
        if (!half.tags().isEmpty()) {
            b.tags(half.tags());
        }
        for (String k : half.keys()) {
            b.key(k);
        }
        return b.build();
    }

    private static Map<String, String> userProperties(StoredMessage half) {
        Map<String, String> props = new LinkedHashMap<>(half.properties());
        props.remove(LogMessage.TAGS);
        props.remove(LogMessage.KEYS);
        props.remove(DelayedDelivery.REAL_TOPIC);
        props.remove(DelayedDelivery.REAL_QUEUE_ID);
        props.remove(PRODUCER_GROUP);
        return props;
    }

    /** The decision recorded for a transaction below the watermark, from the op topic's key index. */
    private TransactionDecision decisionFromLog(String transactionId) {
        for (StoredMessage op : store.lookupByKey(OP_TOPIC, transactionId, 1)) {
            return (op.flags() & MessageFlags.TX_COMMIT) != 0 ? TransactionDecision.COMMIT : TransactionDecision.ROLLBACK;
        }
        throw new UnknownTransactionException("transaction " + transactionId + ": decided, but its decision record is gone (retention)");
    }

    /** Moves {@code halfDone} past decided half offsets, forgetting their decisions. */
    private void advanceLocked() {
        while (decided.containsKey(halfDone)) {
            decided.remove(halfDone);
            halfDone++;
        }
    }

    // ---- check-back ---------------------------------------------------------------------------------

    private void checkQuietly() {
        try {
            checkDue();
            writeWatermark();
        } catch (RuntimeException | Error e) {
            // an Error too: one escaping a scheduled task cancels it silently, and no half would be checked again
            LOG.error("transaction check failed; retrying at the next scan", e);
        }
    }

    /** Checks back (or, past the limit, rolls back) every pending half message that is due. Check thread. */
    void checkDue() {
        long now = clock.millis();
        List<Pending> due = new ArrayList<>();
        List<Integer> times = new ArrayList<>();
        List<Pending> expired = new ArrayList<>();
        Map<Long, Integer> counts;
        synchronized (lock) {
            for (Pending p : pending.values()) {
                if (now < p.nextCheckAt) {
                    continue;
                }
                if (p.checks >= config.maxChecks()) {
                    expired.add(p);
                } else {
                    p.checks++;
                    p.nextCheckAt = later(now, config.checkIntervalMs());
                    due.add(p);
                    times.add(p.checks);
                }
            }
            boolean whole = !due.isEmpty() && checkCounts.rewriteDue(pending.size());
            counts = whole ? checkCountsLocked() : null;
        }
        if (!due.isEmpty()) {
            // before the checks go out: a check sent is a check counted, also across a crash. Only the counts this scan
            // changed, unless the file is due for a rewrite: all of them, at every scan, cost as much as there are halves
            try {
                if (counts != null) {
                    checkCounts.write(counts);
                } else {
                    Map<Long, Integer> changed = new HashMap<>();
                    for (int i = 0; i < due.size(); i++) {
                        changed.put(due.get(i).halfOffset, times.get(i));
                    }
                    checkCounts.append(changed);
                }
            } catch (RuntimeException e) {
                LOG.warn("cannot save the transaction check counts (a restart would count these checks again): {}", e.toString());
            }
        }
        for (Pending p : expired) {
            LOG.warn("transaction {} of producer group {}: still undecided after {} checks; rolling it back", p.transactionId, p.group,
                    p.checks);
            try {
                decide(p.halfOffset, p.transactionId, TransactionDecision.ROLLBACK, "check limit")
                        .thenAccept(o -> {
                            if (o.applied()) {
                                discarded.incrementAndGet();
                            }
                        });
            } catch (RuntimeException e) {
                LOG.warn("transaction {}: cannot roll it back now: {}", p.transactionId, e.getMessage());
            }
        }
        for (int i = 0; i < due.size(); i++) {
            send(due.get(i), times.get(i));
        }
    }

    /** The check counts of the undecided half messages checked at least once, by half offset. */
    private Map<Long, Integer> checkCountsLocked() {
        Map<Long, Integer> counts = new HashMap<>();
        for (Pending p : pending.values()) {
            if (p.checks > 0) {
                counts.put(p.halfOffset, p.checks);
            }
        }
        return counts;
    }

    private void send(Pending p, int checkTimes) {
        ProducerChannel channel = pick(p.group);
        if (channel == null) {
            LOG.info("transaction {}: no producer of group {} connected for check {}", p.transactionId, p.group, checkTimes);
            return;
        }
        Optional<StoredMessage> found;
        try {
            found = store.readMessage(HALF_TOPIC, 0, p.halfOffset); // empty if it is not there: retention deleted it, a crash lost it
        } catch (LogException e) {
            // closed store, I/O error: the half message may well be there, so no rollback, and the check does not count
            // towards the limit; the next check round tries again
            synchronized (lock) {
                p.checks--;
            }
            LOG.warn("transaction {}: cannot read its half message now, check {} not sent: {}", p.transactionId, checkTimes,
                    e.getMessage());
            return;
        }
        if (found.isEmpty()) {
            LOG.warn("transaction {}: its half message is gone (retention?); rolling it back", p.transactionId);
            try {
                decide(p.halfOffset, p.transactionId, TransactionDecision.ROLLBACK, "gone");
            } catch (RuntimeException e) {
                LOG.warn("transaction {}: cannot roll it back now: {}", p.transactionId, e.getMessage());
            }
            return;
        }
        StoredMessage h = found.get();
        StoredMessage asSent = new StoredMessage(h.properties().get(DelayedDelivery.REAL_TOPIC),
                Integer.parseInt(h.properties().get(DelayedDelivery.REAL_QUEUE_ID)), -1, h.physicalOffset(), h.size(),
                h.flags() & ~MessageFlags.TX_PREPARED, h.bornTimestamp(), h.storeTimestamp(), h.bornHost(), h.storeHost(),
                h.reconsumeTimes(), h.preparedTxOffset(), h.tags(), h.keys(), userProperties(h), h.body());
        if (channel.sendCheck(new TransactionCheck(p.transactionId, p.group, checkTimes, asSent))) {
            checksSent.incrementAndGet();
        } else {
            LOG.info("transaction {}: check {} could not be sent to group {} now", p.transactionId, checkTimes, p.group);
        }
    }

    /** A live channel of {@code group}, round-robin; forgets dead ones. */
    private ProducerChannel pick(String group) {
        CopyOnWriteArrayList<ProducerChannel> list = producers.get(group);
        if (list == null) {
            return null;
        }
        list.removeIf(c -> !c.isActive());
        Object[] live = list.toArray();
        return live.length == 0 ? null : (ProducerChannel) live[Math.floorMod(roundRobin.getAndIncrement(), live.length)];
    }

    // ---- watermark and restart -----------------------------------------------------------------------

    /**
     * Writes the watermark computed at the previous scan if the op records it skips are now on
     * disk, then computes the next one. Check thread.
     */
    private void writeWatermark() {
        if (unwritten != null && store.flushedOffset() >= unwritten[2]) {
            watermark.write(unwritten[0], unwritten[1]);
            unwritten = null;
        }
        if (unwritten == null) {
            synchronized (lock) {
                long opFrom = store.nextOffset(OP_TOPIC, 0);
                for (Decided d : decided.values()) {
                    opFrom = Math.min(opFrom, d.opOffset);
                }
                for (Deciding d : deciding.values()) {
                    opFrom = Math.min(opFrom, d.opLowerBound);
                }
                // read after halfDone and opFrom: every decision they count was appended before
                // its state changed here, so it lies below this end and is on disk once it is
                long end = store.writtenOffset();
                if (halfDone != watermark.halfDone() || opFrom != watermark.opFrom()) {
                    unwritten = new long[] {halfDone, opFrom, end};
                }
            }
        }
    }

    private void load() {
        long t0 = System.nanoTime();
        long opFrom = Math.max(watermark.opFrom(), store.minOffset(OP_TOPIC, 0));
        long opEnd = store.nextOffset(OP_TOPIC, 0);
        long halfMin = store.minOffset(HALF_TOPIC, 0);
        halfDone = Math.max(watermark.halfDone(), halfMin);
        long[] phys = new long[LOAD_CHUNK];
        int[] sizes = new int[LOAD_CHUNK];
        long[] hashes = new long[LOAD_CHUNK];
        for (long off = opFrom; off < opEnd; ) {
            int n;
            try {
                n = store.readIndex(OP_TOPIC, 0, off, (int) Math.min(LOAD_CHUNK, opEnd - off), phys, sizes, hashes);
            } catch (OffsetOutOfRangeException e) {
                off = e.earliest(); // retention deleted them meanwhile
                continue;
            }
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                long half = hashes[i] >>> 1;
                if (half >= halfDone) {
                    decided.put(half, new Decided(off + i, (hashes[i] & 1) != 0 ? TransactionDecision.COMMIT : TransactionDecision.ROLLBACK));
                }
            }
            off += n;
        }
        long halfEnd = store.nextOffset(HALF_TOPIC, 0);
        Map<Long, Integer> counts = checkCounts.read();
        for (long off = halfDone; off < halfEnd; ) {
            int n;
            try {
                n = store.readIndex(HALF_TOPIC, 0, off, (int) Math.min(LOAD_CHUNK, halfEnd - off), phys, sizes, hashes);
            } catch (OffsetOutOfRangeException e) {
                // retention deleted them meanwhile: dropped, as those below the minimum at the start are
                LOG.warn("half messages below offset {} were removed by retention while loading; dropping them", e.earliest());
                pending.headMap(e.earliest()).clear();
                decided.headMap(e.earliest()).clear();
                halfDone = Math.max(halfDone, e.earliest());
                off = e.earliest();
                continue;
            }
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                long half = off + i;
                if (decided.containsKey(half)) {
                    continue;
                }
                Optional<StoredMessage> s = store.readAt(phys[i]);
                if (s.isEmpty()) {
                    LOG.warn("half message at offset {} cannot be read; treating it as rolled back", half);
                    decided.put(half, new Decided(opEnd, TransactionDecision.ROLLBACK));
                    continue;
                }
                StoredMessage m = s.get();
                Pending p = new Pending(half, m.messageId(), m.properties().getOrDefault(PRODUCER_GROUP, ""),
                        later(m.storeTimestamp(), config.checkTimeoutMs()));
                p.checks = counts.getOrDefault(half, 0);
                pending.put(half, p);
            }
            off += n;
        }
        advanceLocked();
        if (halfEnd > 0) {
            LOG.info("transactions: {} undecided loaded from half offsets {}..{} and op offsets {}..{} in {} ms", pending.size(),
                    watermark.halfDone(), halfEnd, opFrom, opEnd, (System.nanoTime() - t0) / 1_000_000);
        }
    }

    // ---- counters ----------------------------------------------------------------------------------

    /** Undecided half messages. */
    public int pending() {
        synchronized (lock) {
            return pending.size() + deciding.size();
        }
    }

    /** Counters since start: half messages stored, commits, rollbacks (discards included), checks sent, discards after the check limit. */
    public Stats stats() {
        return new Stats(prepared.get(), committed.get(), rolledBack.get(), checksSent.get(), discarded.get());
    }

    /** Counters of {@link #stats()}. */
    public record Stats(long prepared, long committed, long rolledBack, long checksSent, long discarded) {}

    /** Bytes the check thread wrote to DATA/transactions/checks since the start (tests: what a scan costs). */
    long checkCountBytesWritten() {
        try {
            return checker.submit(checkCounts::bytesWritten).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs a check scan now (tests with an injected clock). */
    public void checkNow() {
        try {
            checker.submit(this::checkQuietly).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("check scan failed", e);
        }
    }

    @Override
    public void close() {
        checker.shutdown();
        try {
            if (!checker.awaitTermination(5, TimeUnit.SECONDS)) {
                checker.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        watermark.close();
    }
}
