package dev.ferry.broker;

import dev.ferry.log.AppendResult;
import dev.ferry.log.FlushNotConfirmedException;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageStore;
import dev.ferry.log.ReadResult;
import dev.ferry.log.StoredMessage;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongPredicate;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A broker: the storage engine plus what makes it a message service — topics with a fixed
 * number of queues, committed consumer offsets, long-polling fetches, consumer heartbeats.
 * Knows nothing of sockets or codecs: the gateway calls it.
 *
 * <p><b>Thread safety.</b> Safe for any number of threads.
 */
public final class Broker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Broker.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._%|-]{1,200}");
    /** Characters and length of a group's name (JOIN_GROUP, DESCRIBE_GROUP, DELETE_GROUP take it so). */
    private static final String GROUP_NAME = "[A-Za-z0-9._|-]{1,128}";
    /** What offsets are committed under: a group's name, or a broadcasting member's GROUP%CLIENT_ID. */
    private static final Pattern OFFSET_GROUP = Pattern.compile(GROUP_NAME + "(%" + GROUP_NAME + ")?");
    /** What offsets are read under: any such name and more (a read of a name nothing is stored under answers none). */
    private static final Pattern OFFSET_GROUP_READ = Pattern.compile("[A-Za-z0-9._%|-]{1,257}");

    private final BrokerConfig config;
    private final MessageStore store;
    private final TopicRegistry topics;
    private final OffsetStore offsets;
    private final LongPolls longPolls;
    private final DelayedDelivery delayed;
    private final ScheduledExecutorService timer;
    /** Writes the committed offsets every offsetFlushIntervalMs. */
    private final ScheduledExecutorService offsetFlusher;
    private final GroupCoordinator groups;
    private final Transactions transactions;
    private final ConcurrentHashMap<String, AtomicInteger> roundRobin = new ConcurrentHashMap<>();
    /** Held while a topic is registered ({@link #register}) or deleted ({@link #deleteTopic}). */
    private final Object recreating = new Object();
    /** Runs the reads of woken long polls that carry a property filter (SQL, tag confirmation): one a core, at least two. */
    private final ExecutorService filteredReads;
    /**
     * The delayed messages once loaded, which give the store its retention floor
     * ({@link DelayedDelivery#retentionFloor}); until then (null) the floor is 0, keeping
     * everything, so that no schedule record goes during the load.
     */
    private volatile DelayedDelivery loadedDelayed;

    private Broker(BrokerConfig config, GroupConfig groupConfig, TransactionConfig transactionConfig) {
        this.config = config;
        // a step that fails (a bad file under DATA) closes what the steps before it opened: with the store
        // left open its abort marker stayed, and the next start ran crash recovery
        Opened opened = new Opened();
        try {
            this.store = opened.add(MessageStore.open(config.log(), () -> {
                DelayedDelivery d = loadedDelayed;
                return d == null ? 0 : d.retentionFloor();
            }, () -> loadedDelayed == null ? "the broker's start (everything is kept until its delayed messages are loaded)"
                    : "the oldest delayed message not yet delivered"));
            this.topics = new TopicRegistry(config.log().dir());
            checkQueueLimit(topics, config.log());
            this.offsets = new OffsetStore(config.log().dir());
            for (String t : store.topics()) {
                if (topics.queues(t).isEmpty() && !topics.wasDeleted(t) && !t.equals(DelayedDelivery.TOPIC) && !Transactions.isInternal(t)) {
                    int queues = store.queueIds(t).stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
                    LOG.warn("topic {} has data but no metadata; registering it with {} queues", t, queues);
                    topics.createIfAbsent(t, Math.max(queues, 1));
                }
            }
            this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ferry-broker-timer");
                t.setDaemon(true);
                return t;
            });
            this.offsetFlusher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ferry-offsets-flush");
                t.setDaemon(true);
                return t;
            });
            AtomicInteger filteredReadThreads = new AtomicInteger();
            this.filteredReads = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
                Thread t = new Thread(r, "ferry-filtered-fetch-" + filteredReadThreads.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            opened.add(timer::shutdown); // a scheduled task does not run after shutdown, and its thread ends
            opened.add(offsetFlusher::shutdown);
            opened.add(filteredReads::shutdown);
            this.longPolls = new LongPolls(timer);
            this.delayed = opened.add(new DelayedDelivery(store, config.log().dir().resolve("schedule"), config.log().clock(), longPolls::arrived,
                    topic -> GroupCoordinator.beforeRetryCopy(this, topic), this::landingQueue, 60_000, 1L << 23)); // minute buckets: ~30 B per pending message with millions spread over 30 days
            loadedDelayed = delayed;
            // on a thread of its own: the file is rewritten and forced whole, which grows with the groups, and the timer
            // thread ends the long polls on time
            offsetFlusher.scheduleWithFixedDelay(this::flushOffsetsQuietly, config.offsetFlushIntervalMs(), config.offsetFlushIntervalMs(),
                    TimeUnit.MILLISECONDS);
            this.groups = opened.add(new GroupCoordinator(this, groupConfig, config.log().clock()));
            this.transactions = new Transactions(store, config.log().dir().resolve("transactions"), transactionConfig,
                    transactionConfig.clock() != null ? transactionConfig.clock() : config.log().clock(), longPolls::arrived,
                    this::landingQueue);
        } catch (RuntimeException | Error e) {
            opened.closeAfter(e);
            throw e;
        }
    }

    /**
     * Refuses a {@code maxQueuesPerTopic} below the queues of a topic that exists: the store
     * refuses every send to a queue at or past it, so that topic's producers failed on some of its
     * queues only, with "queueId: 3 (expected: 0..1)", after a start that said nothing (an
     * operator who lowered the limit in the configuration and restarted).
     *
     * @throws IllegalArgumentException naming the field, the value and the topic that needs more
     */
    private static void checkQueueLimit(TopicRegistry topics, LogConfig log) {
        String widest = null;
        int most = 0;
        for (Map.Entry<String, Integer> t : topics.all().entrySet()) {
            if (t.getValue() > most) {
                widest = t.getKey();
                most = t.getValue();
            }
        }
        if (most > log.maxQueuesPerTopic()) {
            throw new IllegalArgumentException("maxQueuesPerTopic: " + log.maxQueuesPerTopic() + " (expected: at least " + most
                    + ", the queues of topic " + widest + " in " + log.dir().resolve("topics.properties")
                    + "; a topic's queues are never removed, and sends to its queues past the limit would be refused)");
        }
    }

    public static Broker open(BrokerConfig config) {
        return new Broker(config, GroupConfig.defaults(), TransactionConfig.defaults());
    }

    /** A broker whose consumer-group coordinator uses {@code groupConfig}. */
    public static Broker open(BrokerConfig config, GroupConfig groupConfig) {
        return new Broker(config, groupConfig, TransactionConfig.defaults());
    }

    /** A broker with its consumer-group and transaction settings. */
    public static Broker open(BrokerConfig config, GroupConfig groupConfig, TransactionConfig transactionConfig) {
        return new Broker(config, groupConfig, transactionConfig);
    }

    /** Transactional messages: half messages, decisions, check-backs. */
    public Transactions transactions() {
        return transactions;
    }

    /** Consumer groups: membership, assignment, locks, acks, retry and dead letters. */
    public GroupCoordinator groups() {
        return groups;
    }

    /** Creates {@code topic} with {@code queues} queues unless it exists; returns its queue count either way. */
    public int ensureTopic(String topic, int queues) {
        Optional<Integer> q = topics.queues(topic);
        if (q.isPresent()) {
            return q.get();
        }
        checkName("topic", topic);
        store.createQueues(topic, queues);
        return register(topic, queues, () -> topics.createIfAbsent(topic, queues));
    }

    /**
     * Registers {@code topic} through {@code register} (its queue count back); a topic that was
     * deleted first starts empty: the store sets each of its queues' first offset to the queue's
     * end ({@link MessageStore#startQueuesAtEnd}), a floor every read respects (FETCH, GET_OFFSET,
     * DESCRIBE, queries, a group's start), so the deleted topic's records, which stay until
     * retention, are never served as the new topic's.
     *
     * <p><b>Crash ordering.</b> The floors are on disk ({@code DATA/queue-floors}, written whole and
     * forced) before the topic is written to {@code topics.properties} and so becomes visible. A
     * crash between the two leaves the topic deleted, its records hidden; the next creation sets
     * the floors again (at the same ends, or later ones). A crash after both has the topic start at
     * its floors after the restart, which before this (an in-memory map of the ends) started a new
     * group at the deleted topic's first record.
     *
     * <p>Under a lock, and the ends read before the topic is registered, so that they are those of
     * the deleted topic: read after, a send to the new topic could already be below them, and a
     * second creator racing the first (two producers auto-creating it) replaced them with later
     * ends; a group then skipped the first messages (found by a reviewer).
     *
     * <p>Every registration takes the lock, not only that of a topic deleted when asked, and
     * {@link #deleteTopic} takes it too: "was it deleted?" and the registration are one step
     * against a deletion. Asked without the lock, a CREATE_TOPIC of a topic that existed, racing
     * its DELETE_TOPIC (two admin clients), found it not deleted, the deletion ran, and the create
     * then registered the deleted topic as a new one, without floors: its records were served as
     * the new topic's (RecreatedTopicDeleteRaceTest). Registrations are rare (a topic's creation).
     */
    private int register(String topic, int queues, java.util.function.IntSupplier register) {
        synchronized (recreating) {
            if (!topics.wasDeleted(topic)) {
                return register.getAsInt(); // a new topic, or one created by another call meanwhile (or existing: refused)
            }
            Map<Integer, Long> floors = store.startQueuesAtEnd(topic); // on disk before the topic is registered below
            LOG.info("topic {} was deleted: created again, its queues start at {} (queue=offset)", topic, floors);
            return register.getAsInt(); // every creator of a deleted topic comes through here: this one made it
        }
    }

    /**
     * Where a group without a committed offset starts reading a topic it subscribed to before the
     * topic existed: the queue's first offset. For a topic deleted and created again that is where
     * the new topic starts ({@link #register}), after a restart too.
     */
    public long startOffset(String topic, int queueId) {
        return store.minOffset(topic, queueId);
    }

    public BrokerConfig config() {
        return config;
    }

    /** The storage engine (zero-copy reads, lookups, metrics). */
    public MessageStore store() {
        return store;
    }

    public TopicInfo createTopic(String topic, int queues) {
        checkName("topic", topic);
        checkNotReserved(topic);
        if (queues < 1 || queues > config.log().maxQueuesPerTopic()) {
            throw new BrokerException("queues: " + queues + " (expected: 1.." + config.log().maxQueuesPerTopic() + ")");
        }
        store.createQueues(topic, queues);
        register(topic, queues, () -> topics.create(topic, queues));
        LOG.info("created topic {} with {} queues", topic, queues);
        return describe(topic, queues);
    }

    public Optional<TopicInfo> describeTopic(String topic) {
        return topics.queues(topic).map(q -> describe(topic, q));
    }

    public List<TopicInfo> listTopics() {
        List<TopicInfo> out = new ArrayList<>();
        topics.all().forEach((t, q) -> out.add(describe(t, q)));
        out.sort((a, b) -> a.name().compareTo(b.name()));
        return out;
    }

    /**
     * Deletes a topic's metadata and committed offsets. Its records stay in the commit log
     * until retention removes them; its offset indexes stay too, so re-creating the topic
     * continues its offsets rather than reusing them, and starts empty: each queue's first offset
     * is its end at the re-creation, below which nothing is served ({@link #register}).
     * The committed offsets are gone from disk too when this returns ({@link #flushOffsets}).
     */
    public void deleteTopic(String topic) {
        deleteTopic(topic, "topic " + topic + " deleted (on disk), its groups' committed offsets forgotten");
    }

    /** {@link #deleteTopic(String)} as part of {@code change}, which a failed write of the offsets names (a group's deletion). */
    void deleteTopic(String topic, String change) {
        synchronized (recreating) { // never between a registration's "was it deleted?" and the registration: see register
            topics.delete(topic);
        }
        offsets.forgetTopic(topic);
        LOG.info("deleted topic {}", topic);
        flushOffsets(change);
    }

    /**
     * Writes the committed offsets now, for an operator's change to them (an offset reset, a group
     * or topic deletion) that must not wait for the next {@code offsetFlushIntervalMs}: a consumer's
     * commit lost in a crash is read again, but a lost reset to an earlier offset has the group skip
     * what the operator asked it to read again, and a lost deletion brings a deleted group's offsets
     * back after a {@code kill -9} (OffsetChangesKillTest). These changes are rare; the write is the
     * flusher's (the whole file, forced).
     *
     * <p>If the write fails (a full disk) the change has been made all the same: live members
     * already follow it, and it cannot be taken back. The error says so, naming {@code change}
     * (what was done, "group billing: offsets of orders reset to EARLIEST {0=0}"), so that the
     * operator is not told a reset or deletion failed that in fact took effect and is only not on
     * disk yet; it is written by the next flush that succeeds (or at a clean stop). Before, the
     * answer was a bare "cannot write .../offsets.properties", and a repeated deletion was then
     * refused as not found (OffsetWriteFailureTest).
     */
    void flushOffsets(String change) {
        try {
            offsets.flush();
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException(change + ", but not written to disk yet (it is, by the offsets flush every "
                    + config.offsetFlushIntervalMs() + " ms once that succeeds, or at a clean stop; a crash before that undoes it): "
                    + e.getMessage(), e.getCause());
        }
    }

    private TopicInfo describe(String topic, int queues) {
        List<TopicInfo.QueueInfo> qs = new ArrayList<>(queues);
        for (int q = 0; q < queues; q++) {
            qs.add(new TopicInfo.QueueInfo(q, store.minOffset(topic, q), store.nextOffset(topic, q)));
        }
        return new TopicInfo(topic, queues, qs);
    }

    /**
     * Queue count of {@code topic}, 0 if it does not exist; creates nothing. A lookup in the topic
     * table, for callers that check often (every group heartbeat checks each subscribed topic),
     * where {@link #describeTopic} also reads every queue's offsets.
     */
    public int queueCountOf(String topic) {
        return topics.queues(topic).orElse(0);
    }

    /**
     * The queue of {@code topic} where a message sent earlier for its queue {@code queueId} is
     * stored now, when it is delivered (a delayed message, a retry copy) or committed (a
     * transaction's half message): {@code queueId}, unless the topic was deleted and created again
     * with fewer queues meanwhile; then {@code queueId} modulo the queue count (the queue a
     * sharding key's hash modulo the new count picks, when the old count was a multiple of it).
     * Stored in the queue it named, beyond the topic's queues, the message was acknowledged and
     * then read by nobody: FETCH refuses such a queue (found by a reviewer; RecreatedTopicTargetTest).
     * A topic that does not exist now keeps the queue as named (stored with the deleted topic's records).
     */
    int landingQueue(String topic, int queueId) {
        int queues = queueCountOf(topic);
        return queues == 0 || queueId < queues ? queueId : Math.floorMod(queueId, queues);
    }

    /** Queue count of {@code topic}, creating the topic if auto-creation is on. */
    public int queueCount(String topic) {
        if (topic.equals(DelayedDelivery.TOPIC)) {
            // before the auto-create below: a refused SEND to it registered it as a topic of 8 queues (a reviewer found it)
            throw new BrokerException("topic: '" + topic + "' (expected: not an internal topic; set deliverAt to delay a message)");
        }
        if (Transactions.isInternal(topic)) {
            throw new BrokerException("topic: '" + topic + "' (expected: not an internal topic; use SEND_HALF for a transaction)");
        }
        Optional<Integer> q = topics.queues(topic);
        if (q.isPresent()) {
            return q.get();
        }
        if (!config.autoCreateTopics()) {
            throw new TopicNotFoundException(topic);
        }
        checkName("topic", topic);
        store.createQueues(topic, config.defaultQueues());
        return register(topic, config.defaultQueues(), () -> topics.createIfAbsent(topic, config.defaultQueues()));
    }

    /**
     * The queue a message goes to: {@code requested} if it is a valid queue id, round-robin
     * over the topic's queues if it is -1 ({@code Message.ANY_QUEUE}). Any other negative id is
     * refused, before an unknown topic is auto-created: it is a client's bug, not a choice.
     */
    public int chooseQueue(String topic, int requested) {
        if (requested < -1) {
            Optional<Integer> known = Transactions.isInternal(topic) ? Optional.empty() : topics.queues(topic);
            throw new BrokerException("queueId: " + requested + " (expected: -1 for the broker's choice, or "
                    + known.map(q -> "0.." + (q - 1) + " for topic " + topic).orElse("a queue of topic " + topic) + ")");
        }
        int queues = queueCount(topic);
        if (requested >= 0) {
            if (requested >= queues) {
                throw new BrokerException("queueId: " + requested + " (expected: 0.." + (queues - 1) + " for topic " + topic + ")");
            }
            return requested;
        }
        return Math.floorMod(roundRobin.computeIfAbsent(topic, t -> new AtomicInteger()).getAndIncrement(), queues);
    }

    /**
     * Stores messages (queues already chosen) as one contiguous batch, in order; completes when
     * they are durable per the flush mode, then wakes fetches waiting on their queues.
     */
    public CompletableFuture<List<AppendResult>> send(List<LogMessage> messages) {
        return send(messages, null);
    }

    /**
     * As {@link #send(List)}, where message {@code i} with {@code deliverAt[i]} in the future
     * (epoch ms; null or 0 = none) is a delayed message: stored now in the schedule (its result
     * is the schedule record's), delivered to its topic and queue when due. A {@code deliverAt}
     * more than {@link BrokerConfig#maxDelayMs()} ahead is refused before anything is stored.
     */
    public CompletableFuture<List<AppendResult>> send(List<LogMessage> messages, long[] deliverAt) {
        for (LogMessage m : messages) {
            int queues = queueCount(m.topic()); // refuses the internal topics, before anything is created
            if (m.queueId() < 0 || m.queueId() >= queues) {
                throw new BrokerException("queueId: " + m.queueId() + " (expected: 0.." + (queues - 1) + " for topic " + m.topic() + ")");
            }
        }
        List<LogMessage> stored = messages;
        boolean anyDelayed = false;
        if (deliverAt != null) {
            long now = config.log().clock().millis();
            stored = new ArrayList<>(messages);
            for (int i = 0; i < messages.size(); i++) {
                long at = deliverAt[i];
                if (at > now) {
                    if (at - now > config.maxDelayMs()) {
                        throw new DelayTooLongException("message " + i + ": deliverAt " + at + " is " + (at - now) + " ms ahead (expected: at most "
                                + "maxDelayMs " + config.maxDelayMs() + " ms ahead)");
                    }
                    stored.set(i, DelayedDelivery.schedule(messages.get(i), at));
                    anyDelayed = true;
                }
            }
        }
        CompletableFuture<List<AppendResult>> f = store.appendBatchAsync(stored);
        java.util.function.Consumer<List<AppendResult>> done = !anyDelayed ? this::wake : results -> {
            for (int i = 0; i < results.size(); i++) {
                if (results.get(i).topic().equals(DelayedDelivery.TOPIC)) {
                    delayed.scheduled(results.get(i), deliverAt[i]);
                }
            }
            wake(results);
        };
        // at once when f is complete (ASYNC); also when the flush is not confirmed: the records are
        // written and readable, and a delayed one left unscheduled would wait for the next restart
        f.whenComplete((results, t) -> {
            List<AppendResult> written = t == null ? results : FlushNotConfirmedException.writtenDespite(t);
            if (written != null) {
                done.accept(written);
            }
        });
        return f;
    }

    /** Delayed messages stored and not yet delivered. */
    public long pendingDelayed() {
        return delayed.pending();
    }

    /** Delayed messages delivered since open. */
    public long deliveredDelayed() {
        return delayed.deliveredCount();
    }

    /** Deliveries skipped at start because the last run had already re-appended them (crash between append and bit). */
    public long delayedDuplicatesAvoided() {
        return delayed.duplicatesAvoided();
    }

    /** Makes the delayed-delivery thread look at the clock now (for tests with an injected clock). */
    public void wakeDelayedDelivery() {
        delayed.wake();
    }

    private void wake(List<AppendResult> results) {
        String lastTopic = null;
        int lastQueue = -1;
        for (int i = results.size() - 1; i >= 0; i--) {
            AppendResult r = results.get(i);
            if (r.queueId() != lastQueue || !r.topic().equals(lastTopic)) {
                longPolls.arrived(r.topic(), r.queueId(), r.queueOffset() + 1);
                lastTopic = r.topic();
                lastQueue = r.queueId();
            }
        }
    }

    /**
     * Reads from {@code offset}; if it is the queue's end, waits up to {@code maxWaitMs} for a
     * message to arrive (long polling) and completes then, or empty at the deadline. An offset
     * outside the queue fails at once.
     */
    public CompletableFuture<ReadResult> fetch(String topic, int queueId, long offset, int maxMessages, int maxBytes, long maxWaitMs) {
        return fetch(topic, queueId, offset, maxMessages, maxBytes, maxWaitMs, null);
    }

    /**
     * As {@link #fetch(String, int, long, int, int, long)}, returning only messages whose tag
     * hash passes {@code tagFilter} (null = all); skipped messages still advance the next offset.
     */
    public CompletableFuture<ReadResult> fetch(String topic, int queueId, long offset, int maxMessages, int maxBytes, long maxWaitMs,
                                               LongPredicate tagFilter) {
        return fetch(topic, queueId, offset, maxMessages, maxBytes, maxWaitMs, tagFilter, null);
    }

    /**
     * As {@link #fetch(String, int, long, int, int, long, LongPredicate)}, keeping only messages
     * whose properties (tags as {@code TAGS}) pass {@code propertyFilter} (null = all): the exact
     * tag confirmation and SQL filters ({@link SqlFilter}). Skipped messages still advance the
     * next offset.
     */
    public CompletableFuture<ReadResult> fetch(String topic, int queueId, long offset, int maxMessages, int maxBytes, long maxWaitMs,
                                               LongPredicate tagFilter, Predicate<Map<String, String>> propertyFilter) {
        return fetch(topic, queueId, offset, maxMessages, maxBytes, maxWaitMs, tagFilter, propertyFilter, null);
    }

    /**
     * As {@link #fetch(String, int, long, int, int, long, LongPredicate, Predicate)}, for a network
     * front that bounds and places its waiting fetches ({@link FetchParking}; null for neither): a
     * fetch that is about to wait asks {@code parking} first, and throws what it throws if refused
     * (only a fetch that would wait is refused: one with messages to read is answered), and reads,
     * once woken (or at its deadline), on its {@link FetchParking#wokenReads}. Without it the read
     * runs on the thread whose append woke it, or the timer's.
     *
     * <p>Cancelling the returned future ({@link CompletableFuture#cancel}) unparks a waiting fetch
     * at once: its client is gone. Left parked, it would hold its place until its deadline and be
     * read for nobody when a message arrives.
     */
    public CompletableFuture<ReadResult> fetch(String topic, int queueId, long offset, int maxMessages, int maxBytes, long maxWaitMs,
                                               LongPredicate tagFilter, Predicate<Map<String, String>> propertyFilter,
                                               FetchParking parking) {
        checkNotReserved(topic); // also where an earlier version let a client create one: it holds undecided and rolled-back halves
        int queues = topics.queues(topic).orElseThrow(() -> new TopicNotFoundException(topic));
        if (queueId < 0 || queueId >= queues) {
            throw new BrokerException("queueId: " + queueId + " (expected: 0.." + (queues - 1) + " for topic " + topic + ")");
        }
        long wait = Math.min(Math.max(maxWaitMs, 0), config.maxFetchWaitMs());
        if (wait == 0 || (parking != null && parking.draining()) || store.nextOffset(topic, queueId) != offset) {
            return CompletableFuture.completedFuture(store.read(topic, queueId, offset, maxMessages, maxBytes, tagFilter, propertyFilter));
        }
        if (parking != null) {
            parking.parking(); // here, not before: a fetch that does not wait is never refused for the waiting ones
        }
        CompletableFuture<ReadResult> f = new CompletableFuture<>();
        if (parking != null) {
            f.whenComplete((r, t) -> parking.unparked());
        }
        Runnable read = () -> {
            if (f.isDone()) {
                return; // cancelled while the read waited for its thread
            }
            try {
                ReadResult r = store.read(topic, queueId, offset, maxMessages, maxBytes, tagFilter, propertyFilter);
                if (!f.complete(r)) {
                    r.close(); // cancelled meanwhile: nobody will send it, and it holds its segments
                }
            } catch (RuntimeException | Error e) {
                f.completeExceptionally(e); // answered either way: an unanswered fetch holds its connection's parking place
            }
        };
        Runnable fire;
        if (parking != null) {
            Executor wokenReads = parking.wokenReads();
            fire = () -> {
                try {
                    wokenReads.execute(read);
                } catch (RejectedExecutionException e) {
                    f.completeExceptionally(e); // the connection's thread is gone: so is its client
                }
            };
        } else {
            // a parked fetch fires on the thread whose append (or flush, under SYNC) woke it: a read with a client's
            // filter (up to MessageStore's filter budget, 10 ms) goes to the filtered-read threads instead of holding that one
            fire = propertyFilter == null ? read : () -> {
                try {
                    filteredReads.execute(read);
                } catch (RejectedExecutionException e) {
                    read.run(); // closing
                }
            };
        }
        LongPolls.Parked parked;
        try {
            parked = longPolls.park(topic, queueId, offset, wait, () -> store.nextOffset(topic, queueId),
                    parking == null ? () -> false : parking::draining, fire);
        } catch (RuntimeException e) {
            f.completeExceptionally(e); // not parked after all (the timer is shut down): the place parking gave is freed
            throw e;
        }
        f.whenComplete((r, t) -> {
            if (f.isCancelled()) {
                parked.cancel();
            }
        });
        return f;
    }

    /** Fetches waiting for a message now (long polls), on every queue. */
    public int waitingFetches() {
        return longPolls.parked();
    }

    public void commitOffset(String group, String topic, int queueId, long offset) {
        checkOffsetGroup(group);
        if (offset < 0) {
            throw new BrokerException("offset: " + offset + " (expected: >= 0)");
        }
        if (topics.queues(topic).isEmpty()) {
            return; // deleted: a live group's later acks of it must not write its offsets back
        }
        offsets.commit(group, topic, queueId, offset);
        if (topics.queues(topic).isEmpty()) {
            offsets.forgetTopic(topic); // deleted between the check and the commit (deleteTopic forgets after it deletes)
        }
    }

    public OptionalLong committedOffset(String group, String topic, int queueId) {
        if (group == null || !OFFSET_GROUP_READ.matcher(group).matches()) {
            throw new BrokerException("group: '" + group + "' (expected: 1..257 characters of [A-Za-z0-9._%|-])");
        }
        return offsets.committed(group, topic, queueId);
    }

    /** Committed offsets of {@code group}, keyed "topic/queue". */
    public Map<String, Long> committedOffsets(String group) {
        return offsets.ofGroup(group);
    }

    /** Forgets {@code group}'s committed offsets, its broadcasting members' too; true if it had any (see {@link GroupCoordinator#deleteGroup}). */
    boolean forgetGroupOffsets(String group) {
        return offsets.forgetGroup(group);
    }

    /**
     * Forgets the committed offsets of exactly the offset-store groups {@code groups} (broadcasting
     * members' positions, {@code GROUP%CLIENT_ID}); true if any had some.
     */
    boolean forgetOffsetGroups(Set<String> groups) {
        return offsets.forgetExactly(groups);
    }

    /** Every committed offset of every group (a snapshot; for metrics and tools). */
    public List<CommittedOffset> committedOffsets() {
        return offsets.all();
    }

    /**
     * A plain HEARTBEAT naming a group: only the group's name is checked; a member's liveness is
     * the coordinator's ({@link GroupCoordinator#heartbeat}, GROUP_HEARTBEAT).
     */
    public void heartbeat(String group, String clientId) {
        checkName("group", group);
    }

    /**
     * The message with this id, unless it is a record of an internal topic: a transaction's half
     * message or decision record, or a delayed message's schedule record (whose id its SEND
     * answered): those stay invisible to queries as to consumers (a rolled-back message is never
     * seen, a delayed one not before it is due, under the id of its delivered copy); nor is a
     * message of a deleted topic.
     */
    public Optional<StoredMessage> messageById(String id) {
        return store.readById(id).filter(m -> !isReservedTopic(m.topic()) && topics.queues(m.topic()).isPresent());
    }

    /**
     * Messages of {@code topic} with this key, newest first, at most {@code max} and until they
     * reach {@code maxBytes} (at least one); none for the broker's internal topics (a delayed
     * message is not seen before it is due, a half message before it is committed).
     */
    public List<StoredMessage> messagesByKey(String topic, String key, int max, long maxBytes) {
        if (isReservedTopic(topic)) {
            return List.of();
        }
        if (topics.queues(topic).isEmpty()) {
            throw new TopicNotFoundException(topic); // as for a query by time: a deleted topic's records are not served
        }
        return store.lookupByKey(topic, key, max, maxBytes);
    }

    /**
     * True for the topics the broker keeps for itself: the schedule of delayed messages and the
     * transactions' half and decision topics. No client creates or reads them (a half message is
     * seen only once committed, a delayed one only when due).
     */
    public static boolean isReservedTopic(String topic) {
        return topic.equals(DelayedDelivery.TOPIC) || Transactions.isInternal(topic);
    }

    private static void checkNotReserved(String topic) {
        if (isReservedTopic(topic)) {
            throw new BrokerException("topic: '" + topic + "' (expected: not one of the broker's internal topics " + DelayedDelivery.TOPIC
                    + ", " + Transactions.HALF_TOPIC + ", " + Transactions.OP_TOPIC + ")");
        }
    }

    /** The broker's rule for topic and group names (also a producer group's, and a subscribed topic's). */
    static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BrokerException(what + ": '" + name + "' (expected: 1..200 characters of [A-Za-z0-9._%|-])");
        }
    }

    /**
     * The rule for the group an offset is committed under: a group's name, or a broadcasting
     * member's own {@code GROUP%CLIENT_ID} (see {@link GroupCoordinator}), whose two parts may be
     * 128 characters each. Checked as a topic name (at most 200), a member whose names came to
     * more than 199 could join but never commit its position; checked as the characters only, a
     * client's {@code %}, {@code a%b%c} or 200-character name was stored: offsets no LIST_GROUPS
     * or DESCRIBE_GROUP shows and no DELETE_GROUP (which takes group names only) can remove.
     */
    static void checkOffsetGroup(String group) {
        if (group == null || !OFFSET_GROUP.matcher(group).matches()) {
            throw new BrokerException("group: '" + group + "' (expected: a group's name, 1..128 characters of [A-Za-z0-9._|-], "
                    + "or a broadcasting member's GROUP%CLIENT_ID, two such names joined by one %)");
        }
    }

    private void flushOffsetsQuietly() {
        try {
            offsets.flush();
        } catch (RuntimeException | Error e) {
            // an Error too: one escaping a scheduleWithFixedDelay task cancels it silently, and offsets would stay unwritten
            LOG.error("cannot write committed offsets; will retry", e);
        }
    }

    /**
     * Answers every waiting long-poll fetch now with what is there (a front's shutdown drain). The
     * fetches asked after it do not wait either if their front says it is {@link
     * FetchParking#draining}, which it sets before calling this; the others long-poll as before
     * (another front on this broker, or one started on it again later).
     */
    public void releaseWaitingFetches() {
        longPolls.fireAll();
    }

    @Override
    public void close() {
        groups.close();
        transactions.close();
        longPolls.fireAll();
        filteredReads.shutdown(); // the woken filtered reads it holds still run, before the store closes below
        delayed.close();
        timer.shutdown();
        offsetFlusher.shutdown(); // not shutdownNow: an interrupt would break an offset flush in progress
        try {
            if (!timer.awaitTermination(5, TimeUnit.SECONDS)) {
                timer.shutdownNow();
            }
            if (!offsetFlusher.awaitTermination(5, TimeUnit.SECONDS)) {
                offsetFlusher.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            filteredReads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        offsets.flush();
        store.close();
    }
}
