package dev.ferry.broker;

import dev.ferry.log.FlushNotConfirmedException;
import dev.ferry.log.InvalidMessageException;
import dev.ferry.log.LogMessage;
import dev.ferry.log.OffsetOutOfRangeException;
import dev.ferry.log.SegmentDeletedException;
import dev.ferry.log.StoredMessage;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker side of consumer groups: membership with session timeouts, queue assignment with
 * generations, queue locks for orderly members, and per-message acknowledgement with retry and
 * dead-letter topics.
 *
 * <p><b>Membership.</b> A member joins with (group, clientId, topics, model, strategy, orderly)
 * and heartbeats; one that sent nothing for {@link GroupConfig#sessionTimeoutMs()} is removed.
 * Every join, leave and expiry is a <em>rebalance</em>: the group's generation goes up by one and,
 * in a clustering group, every subscribed topic's queues are shared anew among the members that
 * subscribe to it with the group's {@link AllocationStrategy}. A queue whose owner changes records
 * the generation of the change ({@code since}); the owner's FETCH/ACK/NACK/COMMIT must carry a
 * generation at least that high, so a member that missed the rebalance is refused
 * ({@link FencedException}) before it can read a queue another member now reads. A queue that
 * moves away from a live member is <em>handed over</em>: the new owner gets it (in its
 * assignment, and its fetches are accepted) only after the old one heard of the rebalance with a
 * heartbeat, or left, or expired — so two members never read one queue at once, beyond the message
 * the old one may have in hand when it hears. Groups live
 * in memory: after a broker restart members find their session unknown and join again.
 *
 * <p><b>Generations are never reused for a group name</b>, not by a group made again after its
 * last member left or expired, nor after a restart: a new group starts at the largest
 * generation this coordinator handed out and at the wall clock in microseconds, whichever is
 * higher. A member that missed its group's end (its session expired while its connection stayed
 * up, or the broker restarted) and joins again therefore sees every queue with a new
 * {@code since} and restarts it at the committed offset. With generations counted from 1 again it
 * saw the same {@code since}, kept reading from its own position, and the new group's fresh
 * acknowledgement state committed that position, past messages handed out and never acked.
 *
 * <p><b>What a join may ask.</b> A join names at most {@link GroupConfig#maxTopicsPerMember()}
 * topics and a group has at most {@link GroupConfig#maxMembersPerGroup()} members
 * ({@link GroupLimitException}); group names follow the rule of client ids (they become part of
 * the topic {@code %RETRY%GROUP} and of the offset-store group {@code GROUP%CLIENT_ID}). Everything
 * is checked before anything is created. A join creates no topic it subscribes to, as in RocketMQ:
 * a topic that does not exist yet (allowed while the broker auto-creates topics) has no queues to
 * share until a send or CREATE_TOPIC creates it, and the first heartbeat after that rebalances. The
 * one topic a join does create is the group's retry topic, at the first join of a clustering group.
 * A rebalance indexes the subscriptions once, so it costs about members x topics-per-member.
 *
 * <p><b>Acks.</b> For each queue of a clustering group the coordinator keeps the offsets it handed
 * out (in-flight, each with a deadline {@link GroupConfig#invisibleTimeMs()} ahead) and the end of
 * what it handed out. ACK removes offsets; NACK, or a deadline passing, copies the message to the
 * group's retry topic {@code %RETRY%GROUP} (delayed by {@link GroupConfig#retryDelayMs} through
 * the broker's delayed delivery) or, after {@link GroupConfig#maxReconsumeTimes()} redeliveries
 * (a NACK's own {@code maxReconsumeTimes}, if it carries one), to {@code %DLQ%GROUP}, and then
 * removes it. <b>The group's committed offset of a queue is the
 * lowest offset still in flight, or the end of what was handed out if none is</b>: everything below
 * it is acked or moved. It is written to the offset store on every change (persisted with the
 * store's flush). After a restart or a rebalance the queue is re-read from there, so messages acked
 * above a still-unacked one are delivered again: at-least-once.
 *
 * <p><b>Broadcasting positions.</b> A broadcasting member keeps its own positions under the
 * offset-store group {@code GROUP%CLIENT_ID}; they outlive its membership, so that it reads on
 * where it stopped when it comes back, and an offset reset with the consumers stopped (the usual
 * practice) moves them too. As a client id is often new at every start of a consumer, the
 * positions of a member not live for {@link GroupConfig#broadcastPositionRetentionMs()} are
 * forgotten, as Kafka forgets a group's offsets after offsets.retention.minutes: each start
 * otherwise left an entry per queue in the offsets file (rewritten whole at every flush) and a
 * lag gauge, for good. When a member was last live is kept in memory only; positions found
 * without a record (after a restart) count from when the sweep first sees them. A member's commit
 * of its position says the generation its read began at, and is fenced if that is before the
 * queue's last offset reset or before the member's join ({@link #checkPositionCommit}): committed
 * after the reset, it put the position the reset moved back.
 *
 * <p><b>Locks.</b> An orderly member must hold the lock of a queue to fetch it; a lock is granted to
 * the queue's owner when free or expired, renewed by each heartbeat, expires
 * {@link GroupConfig#lockTimeoutMs()} after the last renewal and is released by UNLOCK_QUEUE, a
 * leave or a session expiry. So when a queue moves, the new owner reads it only after the old one
 * released it (or died): the handover that keeps per-queue order. Orderly queues have no ack
 * deadline: a failing message is retried in place by the member.
 *
 * <p><b>Thread safety.</b> Every state change holds the coordinator's monitor; appends to the
 * retry and dead-letter topics run outside it and come back under it.
 */
public final class GroupCoordinator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCoordinator.class);
    /** Group names and client ids; no '%', which joins them in {@link #broadcastOffsetGroup}. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._|-]{1,128}");
    /**
     * How often the sweep looks for broadcasting positions past their retention: it reads every
     * committed offset, too much for every sweep, and a retention is counted in days.
     */
    private static final long POSITION_CHECK_INTERVAL_MS = 60_000;

    /** Properties of a retried or dead-lettered message. */
    public static final String ORIGIN_TOPIC = "ORIGIN_TOPIC";
    public static final String ORIGIN_QUEUE_ID = "ORIGIN_QUEUE_ID";
    public static final String ORIGIN_QUEUE_OFFSET = "ORIGIN_QUEUE_OFFSET";
    public static final String ORIGIN_MSG_ID = "ORIGIN_MSG_ID";
    public static final String RECONSUME_TIMES = "RECONSUME_TIMES";
    /**
     * The properties a retry or dead-letter copy carries besides the user's, added as internal
     * ({@link LogMessage.Builder#internalProperty}): the user's property limits do not count them, in
     * the copy, its schedule record, or the copy the schedule delivers to the retry topic
     * ({@link DelayedDelivery}). Their worst case, in the properties area (4 bytes per entry, then the
     * name and value in UTF-8): ORIGIN_TOPIC with a 200-byte topic, 216; ORIGIN_QUEUE_ID with a queue
     * id of 5 digits, 24; ORIGIN_QUEUE_OFFSET with a long of 19 digits, 42; ORIGIN_MSG_ID with a
     * 16-character message id, 33; RECONSUME_TIMES with an int of 10 digits, 29: 344 bytes. A retry
     * copy's schedule record adds %REAL_TOPIC (the retry topic, at most 200 bytes: 215), %REAL_QID
     * (18) and %DELIVER_AT (a long: 34), 611 bytes in all; the delivered copy %SCHEDULE_ID (32), 376
     * in all: within the format's 1,024 bytes kept beyond {@link LogMessage#MAX_USER_PROPERTIES_BYTES}.
     * Kept from an earlier copy (a client's own ORIGIN_*, counted in its message, too), they were
     * part of that message's properties area, of which the copy is no larger but for these.
     */
    static final List<String> RETRY_PROPERTIES = List.of(ORIGIN_TOPIC, ORIGIN_QUEUE_ID, ORIGIN_QUEUE_OFFSET, ORIGIN_MSG_ID,
            RECONSUME_TIMES);

    public static String retryTopic(String group) {
        return RETRY_PREFIX + group;
    }

    private static final String RETRY_PREFIX = "%RETRY%";

    /** True for a group's retry topic, {@code %RETRY%GROUP}. */
    static boolean isRetryTopic(String topic) {
        return topic.startsWith(RETRY_PREFIX);
    }

    /**
     * The delayed delivery, before it stores a copy in {@code topic}: a retry topic that a
     * DELETE_GROUP deleted while the copy's delay ran is made again first, as a join makes it, so
     * the copy lands past the offset the group starts at and a group that joins again reads it (as
     * docs/PROTOCOL.md promises for such copies). Stored first, it was below that offset, which a
     * join then set past it: nobody read it (found by a reviewer; DeletedGroupRetryCopyTest). The
     * offset committed for the group makes it listed again (LIST_GROUPS), whether or not it ever
     * joins again: its copy waits for it there, until the group is deleted again.
     */
    static void beforeRetryCopy(Broker broker, String topic) {
        if (topic.startsWith(RETRY_PREFIX) && broker.queueCountOf(topic) == 0) {
            ensureRetryTopic(broker, topic.substring(RETRY_PREFIX.length()));
        }
    }

    public static String deadLetterTopic(String group) {
        return "%DLQ%" + group;
    }

    /**
     * A join beyond a limit of {@link GroupConfig}: more topics than
     * {@link GroupConfig#maxTopicsPerMember()}, or a new member of a group that has
     * {@link GroupConfig#maxMembersPerGroup()} already. Nothing was created or changed.
     */
    public static final class GroupLimitException extends BrokerException {
        private static final long serialVersionUID = 1L;

        GroupLimitException(String what, int count, int limit, String scope) {
            super(what + ": count " + count + " (expected: <= " + limit + " " + scope + ")");
        }
    }

    /** A queue of a topic. */
    public record TopicQueue(String topic, int queueId) implements Comparable<TopicQueue> {
        @Override
        public int compareTo(TopicQueue o) {
            int c = topic.compareTo(o.topic);
            return c != 0 ? c : Integer.compare(queueId, o.queueId);
        }
    }

    /** A queue given to a member, and the generation since which it holds it. */
    public record AssignedQueue(String topic, int queueId, long since) {
    }

    /** What a member reads: its queues, at the group's current generation. */
    public record Assignment(long generation, List<AssignedQueue> queues) {
    }

    /**
     * The member a queue is assigned to, since which generation, and — during a handover — the
     * live member that may still be reading it ({@code pendingFrom}, null once it confirmed) and
     * since when it has ({@code pendingSince}: if the queue comes back to it before it heard, its
     * tenure continues unbroken).
     */
    private record Owner(String clientId, long since, String pendingFrom, long pendingSince) {
        Owner(String clientId, long since) {
            this(clientId, since, null, 0);
        }
    }

    private record Lock(String clientId, long expiresAt) {
    }

    /**
     * A broadcasting member whose positions are stored under {@link #broadcastOffsetGroup}. Read
     * back from offset-store group names: a name that is not two valid names joined by one '%'
     * (stored by a COMMIT_OFFSET before the gateway refused such names, or through Broker.commitOffset) is no member's.
     */
    private record BroadcastMember(String group, String clientId) {
        static BroadcastMember of(String offsetGroup) {
            int cut = offsetGroup.indexOf('%');
            if (cut < 0) {
                return null;
            }
            String group = offsetGroup.substring(0, cut);
            String clientId = offsetGroup.substring(cut + 1);
            return NAME.matcher(group).matches() && NAME.matcher(clientId).matches() ? new BroadcastMember(group, clientId) : null;
        }

        String offsetGroup() {
            return broadcastOffsetGroup(group, clientId);
        }
    }

    private static final class Member {
        final String clientId;
        /** Distinct, in the order the member named them, its retry topic last. */
        final List<String> topics;
        final boolean orderly;
        long lastSeen;
        /**
         * The group's generation right after this member's last JOIN_GROUP: a broadcasting member's
         * commit of a position read before it comes from an earlier session (see
         * {@link #checkPositionCommit}).
         */
        long joinedAt;

        Member(String clientId, List<String> topics, boolean orderly, long now) {
            this.clientId = clientId;
            this.topics = topics;
            this.orderly = orderly;
            this.lastSeen = now;
        }
    }

    /** In-flight offsets of one queue of a clustering group; see the class comment. */
    private static final class QueueAcks {
        final TreeMap<Long, Long> inflight = new TreeMap<>();
        final Set<Long> moving = new HashSet<>();
        long end = -1;
        long written = -1;
        boolean orderly;

        long floor() {
            return inflight.isEmpty() ? end : Math.min(end, inflight.firstKey());
        }
    }

    private static final class Group {
        final String name;
        final MessageModel model;
        final AllocationStrategy strategy;
        final TreeMap<String, Member> members = new TreeMap<>();
        final Map<TopicQueue, Owner> owners = new HashMap<>();
        final Map<TopicQueue, Lock> locks = new HashMap<>();
        final Map<TopicQueue, QueueAcks> acks = new HashMap<>();
        /**
         * The generation of the last offset reset per queue. Broadcasting: members restart such
         * queues, and a member's commit of a position read since an earlier generation is fenced.
         * Clustering: a fetch sent at an earlier generation is fenced when it answers.
         */
        final Map<TopicQueue, Long> resetSince = new HashMap<>();
        final Map<String, Integer> queueCounts = new HashMap<>();
        long generation;

        Group(String name, MessageModel model, AllocationStrategy strategy) {
            this.name = name;
            this.model = model;
            this.strategy = strategy;
        }
    }

    private final Broker broker;
    private final GroupConfig config;
    private final Clock clock;
    private final Map<String, Group> groups = new TreeMap<>();
    /** The largest generation any group of this coordinator reached; under this (see the class comment). */
    private long lastGeneration;
    /**
     * When each broadcasting member not live was last live, as far as this coordinator knows: set
     * when it leaves or expires, or when the sweep first sees positions of a member it has no
     * record of (stored before a restart). Under this.
     */
    private final Map<BroadcastMember, Long> lastLive = new HashMap<>();
    /** When the sweep next looks for broadcasting positions past their retention; written under this, read before it. */
    private volatile long nextPositionCheck;
    private final ScheduledExecutorService sweeper;

    GroupCoordinator(Broker broker, GroupConfig config, Clock clock) {
        this.broker = broker;
        this.config = config;
        this.clock = config.clock() != null ? config.clock() : clock;
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ferry-group-sweeper");
            t.setDaemon(true);
            return t;
        });
        sweeper.scheduleWithFixedDelay(this::tickQuietly, config.sweepIntervalMs(), config.sweepIntervalMs(), TimeUnit.MILLISECONDS);
    }

    public GroupConfig config() {
        return config;
    }

    // ---- membership ----------------------------------------------------------------------------

    /**
     * Adds or refreshes a member and rebalances; returns its assignment. Refused, with nothing
     * created, for a bad group, client or topic name, an internal topic, a missing topic while
     * the broker does not auto-create topics ({@link TopicNotFoundException}), a mode other than
     * the group's, or beyond a limit ({@link GroupLimitException}). Creates no topic but the
     * group's retry topic (see the class comment).
     */
    public Assignment join(String group, String clientId, List<String> topics, MessageModel model, String strategy, boolean orderly) {
        checkName("group", group);
        checkName("clientId", clientId);
        Objects.requireNonNull(model, "model");
        if (topics.isEmpty()) {
            throw new BrokerException("topics: empty (expected: at least one topic)");
        }
        if (topics.size() > config.maxTopicsPerMember()) {
            throw new GroupLimitException("topics", topics.size(), config.maxTopicsPerMember(), "per member");
        }
        Set<String> subscribed = new LinkedHashSet<>(topics);
        for (String t : subscribed) {
            checkSubscribable(t);
        }
        AllocationStrategy s = AllocationStrategy.named(strategy);
        String retry = model == MessageModel.CLUSTERING && !orderly ? retryTopic(group) : null;
        if (retry != null) {
            subscribed.add(retry);
            synchronized (this) {
                expireSessions();
                admit(groups.get(group), clientId, model);
            }
            ensureRetryTopic(broker, group); // file work, outside the monitor; once per group
        }
        List<String> all = List.copyOf(subscribed);
        synchronized (this) {
            expireSessions();
            Group g = groups.get(group);
            admit(g, clientId, model); // again: the group may have changed while the retry topic was made
            if (g == null) {
                g = new Group(group, model, s);
                g.generation = Math.max(lastGeneration, System.currentTimeMillis() * 1_000L);
                groups.put(group, g);
            }
            Member m = new Member(clientId, all, orderly, clock.millis());
            g.members.put(clientId, m);
            rebalance(g, "join of " + clientId);
            m.joinedAt = g.generation;
            confirmHandovers(g, clientId);
            return assignment(g, clientId);
        }
    }

    /** Refuses a join to {@code g} (null: a new group) in another mode, or by a new member beyond the limit. */
    private void admit(Group g, String clientId, MessageModel model) {
        if (g == null) {
            return;
        }
        if (g.model != model) {
            throw new BrokerException("mode: " + model + " (expected: " + g.model + ", the mode of group " + g.name + "'s members)");
        }
        if (!g.members.containsKey(clientId) && g.members.size() >= config.maxMembersPerGroup()) {
            throw new GroupLimitException("group '" + g.name + "': members", g.members.size() + 1, config.maxMembersPerGroup(),
                    "per group; a member that leaves or expires makes room");
        }
    }

    /**
     * A topic a member may subscribe to: a valid name, not one of the broker's internal topics, and
     * existing unless the broker auto-creates topics (then it may come later: it is not created here).
     */
    private void checkSubscribable(String topic) {
        Broker.checkName("topic", topic);
        if (Broker.isReservedTopic(topic)) {
            throw new BrokerException("topic: '" + topic + "' (expected: not one of the broker's internal topics)");
        }
        if (!broker.config().autoCreateTopics() && broker.queueCountOf(topic) == 0) {
            throw new TopicNotFoundException(topic);
        }
    }

    /**
     * A topic the group subscribed to before it existed has just been created (a join does not
     * create it; the first send does): its messages so far were sent for this group, so where the
     * group has no position yet it gets the queues' start, not the end a member starting from
     * LATEST would pick, which would skip what was sent before the heartbeat that noticed it.
     */
    private void startFromTheBeginning(Group g, String topic, int queues) {
        List<String> offsetGroups = g.model == MessageModel.BROADCASTING
                ? g.members.keySet().stream().map(m -> broadcastOffsetGroup(g.name, m)).toList() : List.of(g.name);
        for (String offsetGroup : offsetGroups) {
            for (int q = 0; q < queues; q++) {
                if (broker.committedOffset(offsetGroup, topic, q).isEmpty()) {
                    broker.commitOffset(offsetGroup, topic, q, broker.startOffset(topic, q));
                }
            }
        }
    }

    /** Renews a member's session and its locks; returns its current assignment. */
    public synchronized Assignment heartbeat(String group, String clientId) {
        expireSessions();
        Group g = groups.get(group);
        Member m = g == null ? null : g.members.get(clientId);
        if (m == null) {
            throw new UnknownMemberException("member '" + clientId + "' of group '" + group + "': unknown (expected: JOIN_GROUP first; "
                    + "a session expires after " + config.sessionTimeoutMs() + " ms without a heartbeat)");
        }
        long now = clock.millis();
        m.lastSeen = now;
        confirmHandovers(g, clientId);
        // only the locks of queues it still reads: one on a queue that moved away (its handover confirmed just above)
        // lapses a lock timeout after its last renewal, unless released before; renewed, it kept the new owner LOCKED
        // for as long as the old one lived without sending UNLOCK_QUEUE (found by a reviewer)
        g.locks.replaceAll((tq, l) -> l.clientId.equals(clientId) && l.expiresAt > now && stillReads(g, tq, clientId)
                ? new Lock(clientId, now + config.lockTimeoutMs()) : l);
        if (queueCountsChanged(g)) {
            rebalance(g, "queue count change");
        }
        return assignment(g, clientId);
    }

    /** Whether {@code clientId} owns {@code tq} or is handing it over: its lock there is renewed. Under this. */
    private static boolean stillReads(Group g, TopicQueue tq, String clientId) {
        Owner o = g.owners.get(tq);
        return o != null && (o.clientId.equals(clientId) || clientId.equals(o.pendingFrom));
    }

    /**
     * {@code clientId} now hears its new assignment, without the queues that moved away from it:
     * their new owners get them at their next heartbeat. (A non-orderly member may still finish
     * the message in hand; an orderly one keeps the lock until it did, or at most a lock timeout,
     * as its heartbeats no longer renew it.)
     */
    private static void confirmHandovers(Group g, String clientId) {
        g.owners.replaceAll((tq, o) -> clientId.equals(o.pendingFrom) ? new Owner(o.clientId, o.since) : o);
    }

    /** Removes a member, releases its locks and rebalances; unknown members are ignored. */
    public synchronized void leave(String group, String clientId) {
        Group g = groups.get(group);
        if (g != null && g.members.remove(clientId) != null) {
            removed(g, clientId, "leave of " + clientId);
        }
    }

    private void removed(Group g, String clientId, String why) {
        g.locks.values().removeIf(l -> l.clientId.equals(clientId));
        if (g.model == MessageModel.BROADCASTING) {
            lastLive.put(new BroadcastMember(g.name, clientId), clock.millis());
        }
        if (g.members.isEmpty()) {
            groups.remove(g.name);
            LOG.info("group {}: last member left ({}); group is empty", g.name, why);
            return;
        }
        rebalance(g, why);
    }

    private void expireSessions() {
        long now = clock.millis();
        for (Group g : List.copyOf(groups.values())) {
            List<String> dead = new ArrayList<>();
            g.members.values().forEach(m -> {
                if (now - m.lastSeen >= config.sessionTimeoutMs()) {
                    dead.add(m.clientId);
                }
            });
            for (String d : dead) {
                g.members.remove(d);
                removed(g, d, "session timeout of " + d);
            }
        }
    }

    private boolean queueCountsChanged(Group g) {
        for (Map.Entry<String, Integer> e : g.queueCounts.entrySet()) {
            if (broker.queueCountOf(e.getKey()) != e.getValue()) {
                return true;
            }
        }
        return false;
    }

    private void rebalance(Group g, String why) {
        advance(g);
        Map<String, Integer> before = new HashMap<>(g.queueCounts);
        g.queueCounts.clear();
        // every topic's subscribers, in client-id order (the members map's), from one pass over the
        // subscriptions: members x topics-per-member, under the monitor
        Map<String, List<String>> subscribers = new TreeMap<>();
        for (Member m : g.members.values()) {
            for (String t : m.topics) {
                subscribers.computeIfAbsent(t, k -> new ArrayList<>()).add(m.clientId);
            }
        }
        for (String t : subscribers.keySet()) {
            int queues = broker.queueCountOf(t);
            g.queueCounts.put(t, queues);
            if (queues > 0 && Integer.valueOf(0).equals(before.get(t))) {
                startFromTheBeginning(g, t, queues);
            }
        }
        if (g.model == MessageModel.BROADCASTING) {
            LOG.info("group {} generation {}: {} broadcasting members ({})", g.name, g.generation, g.members.size(), why);
            return;
        }
        Map<TopicQueue, Owner> next = new HashMap<>();
        for (Map.Entry<String, List<String>> e : subscribers.entrySet()) {
            String t = e.getKey();
            int queueCount = g.queueCounts.get(t);
            if (queueCount == 0) {
                continue; // not created yet (or deleted): nothing to share; its creation is noticed by a heartbeat
            }
            Map<String, List<Integer>> shares = g.strategy.allocate(t, queueCount, e.getValue());
            shares.forEach((member, queues) -> {
                for (int q : queues) {
                    TopicQueue tq = new TopicQueue(t, q);
                    Owner old = g.owners.get(tq);
                    if (old == null) {
                        next.put(tq, new Owner(member, g.generation));
                    } else if (old.clientId.equals(member)) {
                        boolean pendingLive = old.pendingFrom != null && g.members.containsKey(old.pendingFrom);
                        next.put(tq, pendingLive ? old : new Owner(member, old.since));
                    } else {
                        // the member that may still be reading the queue: its owner, or the one it was being handed over from
                        String reader = old.pendingFrom != null ? old.pendingFrom : old.clientId;
                        long readerSince = old.pendingFrom != null ? old.pendingSince : old.since;
                        if (reader.equals(member)) {
                            // back to the member that never stopped reading it: same tenure, so its
                            // fetches and acks go on (a new 'since' would restart it at the committed offset)
                            next.put(tq, new Owner(member, readerSince));
                        } else if (g.members.containsKey(reader)) {
                            next.put(tq, new Owner(member, g.generation, reader, readerSince));
                        } else {
                            next.put(tq, new Owner(member, g.generation));
                        }
                    }
                }
            });
        }
        // A moved queue keeps its in-flight offsets: the new owner starts at the committed offset (the
        // lowest of them) and its fetches renew them; acks of an orderly old owner still holding the
        // lock keep counting, so the new owner, locking after it, starts exactly after them.
        long moved = next.values().stream().filter(o -> o.since == g.generation).count();
        g.owners.keySet().retainAll(next.keySet());
        g.owners.putAll(next);
        LOG.info("group {} generation {}: {} members, {} queues, {} moved ({})", g.name, g.generation, g.members.size(), next.size(),
                moved, why);
    }

    private Assignment assignment(Group g, String clientId) {
        List<AssignedQueue> out = new ArrayList<>();
        if (g.model == MessageModel.BROADCASTING) {
            for (String t : g.members.get(clientId).topics) {
                for (int q = 0; q < g.queueCounts.getOrDefault(t, 0); q++) {
                    out.add(new AssignedQueue(t, q, g.resetSince.getOrDefault(new TopicQueue(t, q), 0L)));
                }
            }
        } else {
            new TreeMap<>(g.owners).forEach((tq, o) -> {
                if (o.clientId.equals(clientId) && o.pendingFrom == null) {
                    out.add(new AssignedQueue(tq.topic(), tq.queueId(), o.since));
                }
            });
        }
        return new Assignment(g.generation, out);
    }

    // ---- fencing and locks ---------------------------------------------------------------------

    /** True if {@code group} has live members (its fetches are checked and tracked). */
    public synchronized boolean isLive(String group) {
        return groups.containsKey(group);
    }

    /**
     * Runs {@code commit} under this coordinator's monitor, which RESET_OFFSETS and the fencing
     * checks ({@link #checkConsume}, {@link #checkPositionCommit}) hold too: a COMMIT_OFFSET checked
     * against the queue's last reset and stored under one hold cannot have a reset land between its
     * check and its store (it then put the position the reset moved back). {@code commit} must not
     * block: every group's requests wait meanwhile.
     */
    public synchronized <T> T checkedCommit(java.util.function.Supplier<T> commit) {
        return commit.get();
    }

    /** The model of a live group, or null. */
    public synchronized MessageModel model(String group) {
        Group g = groups.get(group);
        return g == null ? null : g.model;
    }

    /**
     * Checks that {@code clientId} may read {@code topic}/{@code queueId} at {@code generation}:
     * a member; in a clustering group the queue's owner since at most {@code generation}; if
     * orderly, the holder of its lock.
     */
    public synchronized void checkConsume(String group, String clientId, long generation, String topic, int queueId) {
        Group g = groups.get(group);
        Member m = g == null ? null : g.members.get(clientId);
        if (m == null) {
            throw new FencedException("member '" + clientId + "' of group '" + group + "': unknown (expected: JOIN_GROUP, then follow "
                    + "the assignment)");
        }
        if (g.model == MessageModel.BROADCASTING) {
            return;
        }
        TopicQueue tq = new TopicQueue(topic, queueId);
        Owner o = g.owners.get(tq);
        if (o == null || !o.clientId.equals(clientId)) {
            throw new FencedException(topic + "/" + queueId + ": assigned to " + (o == null ? "nobody" : "'" + o.clientId + "'")
                    + " at generation " + g.generation + " (expected: a queue of '" + clientId + "'; heartbeat for the new assignment)");
        }
        if (o.pendingFrom != null) {
            throw new FencedException(topic + "/" + queueId + ": being handed over from '" + o.pendingFrom + "' (expected: its next "
                    + "heartbeat releases it; heartbeat for the new assignment)");
        }
        if (generation < o.since) {
            throw new FencedException(topic + "/" + queueId + ": generation " + generation + " is stale (expected: >= " + o.since
                    + ", when the queue was assigned to '" + clientId + "'; heartbeat for the new assignment)");
        }
        if (m.orderly && !holdsLock(g, tq, clientId)) {
            throw new FencedException(topic + "/" + queueId + ": not locked by '" + clientId + "' (expected: LOCK_QUEUE before an orderly fetch)");
        }
    }

    /**
     * Checks a broadcasting member's COMMIT_OFFSET of its own position: {@code offsetGroup}
     * {@code GROUP%CLIENT_ID} sent by {@code clientId} CLIENT_ID, from a read of the queue that
     * began (with its GET_OFFSET) at {@code generation}. Refused ({@link FencedException}) unless
     * the member is live in the broadcasting group GROUP and the read began in its current session
     * (at or after its join) and at or after the queue's last offset reset. A RESET_OFFSETS moves
     * every member's position, and a position acked from a read of the old one, committed after
     * the reset (sent before the member heard of it, or on its way meanwhile), put the old position
     * back: the reset was undone without a word. A reset while the group was not live is recorded
     * nowhere, hence the session: a member that heard of no reset before its session ended may
     * have missed one. A commit under another name, or without {@code clientId} (a plain
     * consumer's, an older client's), is not checked.
     */
    public synchronized void checkPositionCommit(String offsetGroup, String clientId, long generation, String topic, int queueId) {
        BroadcastMember bm = BroadcastMember.of(offsetGroup);
        if (bm == null || !bm.clientId().equals(clientId)) {
            return;
        }
        Group g = groups.get(bm.group());
        Member m = g == null || g.model != MessageModel.BROADCASTING ? null : g.members.get(clientId);
        if (m == null) {
            throw new FencedException("member '" + clientId + "' of broadcasting group '" + bm.group() + "': unknown (expected: "
                    + "JOIN_GROUP, then read the position again with GET_OFFSET)");
        }
        if (generation < m.joinedAt) {
            throw new FencedException(topic + "/" + queueId + ": a position read since generation " + generation + ", before the "
                    + "member's join at generation " + m.joinedAt + " (expected: read the position again with GET_OFFSET; an "
                    + "offset reset may have moved it)");
        }
        long reset = g.resetSince.getOrDefault(new TopicQueue(topic, queueId), Long.MIN_VALUE);
        if (generation < reset) {
            throw new FencedException(topic + "/" + queueId + ": a position read since generation " + generation + ", before the "
                    + "offset reset at generation " + reset + " (expected: heartbeat, read the position again with GET_OFFSET)");
        }
    }

    /** Acks are accepted from the lock holder, or the owner at a current generation. */
    private void checkAck(Group g, String clientId, long generation, TopicQueue tq) {
        if (holdsLock(g, tq, clientId)) {
            return;
        }
        checkConsume(g.name, clientId, generation, tq.topic(), tq.queueId());
    }

    private boolean holdsLock(Group g, TopicQueue tq, String clientId) {
        Lock l = g.locks.get(tq);
        return l != null && l.clientId.equals(clientId) && l.expiresAt > clock.millis();
    }

    /**
     * Locks a queue for an orderly member: granted to the queue's owner if the lock is free,
     * expired or its own; else {@link QueueLockedException}. Returns the expiry time.
     */
    public synchronized long lock(String group, String clientId, long generation, String topic, int queueId) {
        Group g = groups.get(group);
        if (g == null || !g.members.containsKey(clientId)) {
            throw new FencedException("member '" + clientId + "' of group '" + group + "': unknown (expected: JOIN_GROUP first)");
        }
        if (!g.members.get(clientId).orderly) {
            // it needs none, and a lock it held (renewed by its heartbeats, never released) kept the queue's next orderly
            // owner LOCKED until it left; in a broadcasting group it could lock any queue (found by a reviewer)
            throw new BrokerException("member '" + clientId + "' of group '" + group + "': joined not orderly (expected: "
                    + "LOCK_QUEUE only from a member that joined with orderly=true)");
        }
        long now = clock.millis();
        if (g.model == MessageModel.BROADCASTING) {
            // every member reads every queue: none is kept from it, and one lock for the group made the first orderly
            // member's heartbeats keep the others LOCKED for good (found by a reviewer). Orderly is then the member's own
            // one message at a time; nothing is recorded.
            return now + config.lockTimeoutMs();
        }
        TopicQueue tq = new TopicQueue(topic, queueId);
        Owner o = g.owners.get(tq);
        if (g.model == MessageModel.CLUSTERING && (o == null || !o.clientId.equals(clientId) || o.pendingFrom != null
                || generation < o.since)) {
            throw new FencedException(topic + "/" + queueId + ": not assigned to '" + clientId + "' at generation " + generation
                    + " (expected: a queue of the member's current assignment)");
        }
        Lock l = g.locks.get(tq);
        if (l != null && !l.clientId.equals(clientId) && l.expiresAt > now) {
            throw new QueueLockedException(topic + "/" + queueId + ": locked by '" + l.clientId + "' for " + (l.expiresAt - now)
                    + " ms more (expected: free; retry after it is released)");
        }
        long expires = now + config.lockTimeoutMs();
        g.locks.put(tq, new Lock(clientId, expires));
        return expires;
    }

    /** Releases a lock held by {@code clientId}; a lock held by another member is left alone. */
    public synchronized void unlock(String group, String clientId, String topic, int queueId) {
        Group g = groups.get(group);
        if (g != null) {
            Lock l = g.locks.get(new TopicQueue(topic, queueId));
            if (l != null && l.clientId.equals(clientId)) {
                g.locks.remove(new TopicQueue(topic, queueId));
            }
        }
    }

    /** The next generation of {@code g}: a rebalance or an offset reset. Under this. */
    private void advance(Group g) {
        g.generation++;
        lastGeneration = Math.max(lastGeneration, g.generation);
    }

    // ---- acks ----------------------------------------------------------------------------------

    /**
     * Records that a fetch of {@code clientId}, sent at {@code generation}, from {@code from}
     * handed out {@code offsets} and will continue at {@code next}; offsets in between that were
     * not handed out (filtered) count as done. Ignored for broadcasting groups.
     *
     * <p>Returns false, recording nothing, when the member must not be handed the messages (the
     * caller answers FENCED instead): a member that left (also the last one, with its group); an
     * orderly member that is neither the queue's reader (its owner, or the member it is being
     * handed over from) nor holds its lock; a non-orderly member that no longer owns the queue (a
     * long poll parked before the handover: handing it the messages too gave two members the same
     * batch); a fetch of an earlier tenure of the queue's owner (a
     * long poll sent before the generation it got the queue again at, answered after); or any
     * fetch sent before the queue's last offset reset (it would commit the old position over the
     * reset). Counting
     * such offsets as in flight would pull the committed offset back below what the member handled
     * and acked since; and handing them out untracked let a member that had not heard of its new
     * tenure (an offset reset gives one without a rebalance) handle them and ack them in vain, and
     * its new tenure then restarted at the committed offset below them.
     */
    public boolean delivered(String group, String clientId, long generation, String topic, int queueId, long from, long next,
                             long[] offsets) {
        synchronized (this) {
            Group g = groups.get(group);
            TopicQueue tq = new TopicQueue(topic, queueId);
            if (g == null) {
                return false; // its last member left or expired while the fetch waited
            }
            if (g.model != MessageModel.CLUSTERING) {
                return true;
            }
            Owner o = g.owners.get(tq);
            Member m = g.members.get(clientId);
            if (o != null && o.clientId.equals(clientId) && o.pendingFrom == null && generation < o.since) {
                return false;
            }
            if (generation < g.resetSince.getOrDefault(tq, Long.MIN_VALUE)) {
                // sent before an offset reset of the queue (by the member being handed it over from, or one holding its
                // lock): counting it would commit the old position again over the reset
                return false;
            }
            boolean reader = o != null && (o.pendingFrom != null ? o.pendingFrom.equals(clientId) : o.clientId.equals(clientId));
            // a long poll that answers after its queue was handed over is fenced, orderly or not:
            // the new owner starts at the lowest unacked offset, so it reads these messages too
            if (m == null || !(reader || holdsLock(g, tq, clientId))) {
                return false;
            }
            QueueAcks a = g.acks.computeIfAbsent(tq, k -> new QueueAcks());
            a.orderly = m.orderly;
            // below the committed floor everything is acked or moved: a late fetch from there
            // changes nothing (so the committed offset never goes back, short of a reset)
            long low = Math.max(from, a.written);
            if (low < next && (a.end < 0 || low < a.end)) {
                a.inflight.subMap(low, next).keySet().removeIf(k -> !a.moving.contains(k));
            }
            long deadline = clock.millis() + config.invisibleTimeMs();
            for (long off : offsets) {
                if (off >= low && !a.moving.contains(off)) {
                    a.inflight.put(off, deadline);
                }
            }
            a.end = Math.max(a.end, next);
            commit(group, topic, queueId, newFloor(a));
            return true;
        }
    }

    /**
     * Acknowledges offsets: they are consumed. Offsets not in flight (already moved, or acked) are
     * ignored. Accepted from any live member of a clustering group, even for a queue it lost (the
     * message was handled); an orderly member must hold the queue's lock or own it. Ignored when
     * sent at a generation before the queue's last offset reset: what it acks was handed out
     * before the reset, and is to be read again.
     */
    public void ack(String group, String clientId, long generation, String topic, int queueId, long[] offsets) {
        synchronized (this) {
            Group g = live(group);
            TopicQueue tq = new TopicQueue(topic, queueId);
            Member m = g.members.get(clientId);
            if (m == null || m.orderly) {
                checkAck(g, clientId, generation, tq);
            } // a clustering member's ack after its queue moved still reports a consumed message: taking it saves a redelivery
            if (generation < g.resetSince.getOrDefault(tq, Long.MIN_VALUE)) {
                // sent before the member heard of an offset reset of the queue: the message was handed out before the reset,
                // which asked for it again; taken, the ack would count against the copy of the offset a read begun since
                // the reset has in flight, and move the committed offset past a message not handled since the reset
                return;
            }
            QueueAcks a = g.acks.get(tq);
            if (a == null) {
                return;
            }
            for (long off : offsets) {
                if (!a.moving.contains(off)) {
                    a.inflight.remove(off);
                }
            }
            commit(group, topic, queueId, newFloor(a));
        }
    }

    /**
     * Negative ack: the message goes to the retry topic (or, after too many redeliveries, to the
     * dead-letter topic) and then counts as done. {@code reconsumeTimes} >= 0 says how many
     * deliveries have failed (an orderly member retrying in place); -1 takes the record's count + 1.
     * More failures than the broker's {@link GroupConfig#maxReconsumeTimes()} go to the dead-letter
     * topic. Completes when the copy is stored. Ignored, as an ACK is, when sent at a generation
     * before the queue's last offset reset: what it nacks was handed out before the reset, and is to
     * be read again.
     */
    public CompletableFuture<Void> nack(String group, String clientId, long generation, String topic, int queueId, long offset,
                                        int reconsumeTimes) {
        return nack(group, clientId, generation, topic, queueId, offset, reconsumeTimes, -1);
    }

    /**
     * As {@link #nack(String, String, long, String, int, long, int)}, with the member's own limit of
     * failed deliveries before the dead-letter topic when {@code maxReconsumeTimes} >= 0: the
     * consumer's setting, which RocketMQ's consumer sends with each send-back too. -1 takes the
     * broker's, which also decides for a message whose invisible time ran out (no member spoke for it).
     */
    public CompletableFuture<Void> nack(String group, String clientId, long generation, String topic, int queueId, long offset,
                                        int reconsumeTimes, int maxReconsumeTimes) {
        boolean orderly;
        synchronized (this) {
            Group g = live(group);
            TopicQueue tq = new TopicQueue(topic, queueId);
            Member m = g.members.get(clientId);
            boolean beforeReset = generation < g.resetSince.getOrDefault(tq, Long.MIN_VALUE);
            if (m != null && !m.orderly && beforeReset) {
                // sent before the member heard of an offset reset of the queue (it nacks at the generation of the message's
                // FETCH): the message was handed out before the reset, which asked for it again. Checked, it was FENCED (the
                // queue's 'since' is the reset's); taken, it moved the copy of the offset the read begun since the reset has
                // in flight to the retry topic, and the message was handled twice (or that copy counted done unhandled)
                return CompletableFuture.completedFuture(null);
            }
            checkAck(g, clientId, generation, tq);
            if (beforeReset) {
                return CompletableFuture.completedFuture(null); // an orderly member holding the lock: as its ACK
            }
            QueueAcks a = g.acks.get(tq);
            if (a == null || !a.inflight.containsKey(offset) || !a.moving.add(offset)) {
                return CompletableFuture.completedFuture(null); // done already, or being moved
            }
            orderly = a.orderly;
        }
        // an orderly member retried in place already, and reads no retry topic: a copy there would be lost
        return move(group, new TopicQueue(topic, queueId), offset, reconsumeTimes, maxReconsumeTimes, orderly);
    }

    private CompletableFuture<Void> move(String group, TopicQueue tq, long offset, int reconsumeTimes, int maxReconsumeTimes,
                                         boolean deadLetter) {
        CompletableFuture<Void> stored;
        try {
            Optional<StoredMessage> found;
            String gone = null;
            try {
                found = broker.store().readMessages(tq.topic(), tq.queueId(), offset, 1).stream().findFirst();
            } catch (OffsetOutOfRangeException e) {
                found = Optional.empty();
                gone = e.getMessage(); // the store's cause: retention, or the topic deleted and created again (its floor)
            } catch (SegmentDeletedException e) {
                found = Optional.empty(); // retention won a race with this read
            }
            if (found.isEmpty()) {
                // not stored any more while handed out: nothing to retry, and the member never acked it
                LOG.warn("group {}: {} before it was acked; it is not retried", group, gone != null ? gone
                        : tq.topic() + "/" + tq.queueId() + ": offset " + offset + " was deleted by retention");
                stored = CompletableFuture.completedFuture(null);
            } else if (!broker.store().intact(found.get().physicalOffset())) {
                // damaged on disk (it fails its CRC32C): a copy would store it again under a fresh checksum, as good data
                LOG.error("group {}: {}/{}@{} is damaged on disk (it fails its checksum) and cannot be moved to the retry or "
                        + "dead-letter topic; counted as done (restore the segment from a copy to read it)", group, tq.topic(),
                        tq.queueId(), offset);
                stored = CompletableFuture.completedFuture(null);
            } else {
                stored = sendBack(group, found.get(), reconsumeTimes, maxReconsumeTimes, deadLetter);
            }
        } catch (RuntimeException e) {
            stored = CompletableFuture.failedFuture(e);
        }
        return stored.whenComplete((v, failure) -> {
            // a copy whose flush is not confirmed is stored all the same: moving it again would store a second one
            Throwable t = failure == null || FlushNotConfirmedException.writtenDespite(failure) != null ? null : failure;
            synchronized (this) {
                Group g = groups.get(group);
                QueueAcks a = g == null ? null : g.acks.get(tq);
                if (a != null) {
                    a.moving.remove(offset);
                    if (t == null) {
                        a.inflight.remove(offset);
                        commit(group, tq.topic(), tq.queueId(), newFloor(a));
                    } else {
                        a.inflight.put(offset, clock.millis() + config.invisibleTimeMs());
                    }
                }
            }
            if (t != null) {
                LOG.warn("group {}: cannot move {}/{}@{} to its retry topic; will retry: {}", group, tq.topic(), tq.queueId(), offset,
                        t.toString());
            }
        });
    }

    /**
     * Appends a copy of {@code s} to the group's retry topic (delayed) or dead-letter topic
     * ({@code deadLetter}: at once, whatever its count). The copy carries the {@code ORIGIN_*} (kept
     * from an earlier copy) and {@code RECONSUME_TIMES} properties as the broker's own
     * ({@link #RETRY_PROPERTIES}), and a retry copy the schedule's three more: the property limits
     * count none of them, so a message at the limits is retried like any other (and its copy
     * delivered to the retry topic, {@link DelayedDelivery}, keeps them uncounted). Kept for safety:
     * should a copy with them be refused all the same, the message goes to the dead-letter topic
     * with its own properties only (its record's reconsumeTimes field still counts), where it can be
     * read, rather than being retried forever. (A limit lowered below the user's own properties
     * since the message was stored refuses that copy too: the move fails and is retried.)
     */
    private CompletableFuture<Void> sendBack(String group, StoredMessage s, int reconsumeTimes, int maxReconsumeTimes,
                                             boolean deadLetter) {
        int failures = reconsumeTimes >= 0 ? reconsumeTimes : s.reconsumeTimes() + 1;
        boolean dead = deadLetter || failures > (maxReconsumeTimes >= 0 ? maxReconsumeTimes : config.maxReconsumeTimes());
        try {
            return sendBack(group, s, failures, dead, true);
        } catch (InvalidMessageException e) {
            LOG.warn("group {}: {}/{}@{} (message id {}) has no room for the properties of a {} copy ({}); moved to {} without them",
                    group, s.topic(), s.queueId(), s.queueOffset(), s.messageId(), dead ? "dead-letter" : "retry", e.getMessage(),
                    deadLetterTopic(group));
            return sendBack(group, s, failures, true, false);
        }
    }

    private CompletableFuture<Void> sendBack(String group, StoredMessage s, int failures, boolean dead, boolean withOrigin) {
        String target = dead ? deadLetterTopic(group) : retryTopic(group);
        if (dead) {
            broker.ensureTopic(target, 1);
        } else {
            ensureRetryTopic(broker, group); // a DELETE_GROUP may have run since the member joined
        }
        Map<String, String> props = new LinkedHashMap<>(s.properties());
        props.remove(LogMessage.TAGS);
        props.remove(LogMessage.KEYS);
        props.keySet().removeIf(k -> k.startsWith("%")); // the broker's own (schedule) properties
        // the five retry properties are the broker's own (internal: the user's limits do not count them), taken out of
        // the ordinary ones: a message at the limits has room for them, in its retry copy as in its dead-letter copy
        Map<String, String> retry = new LinkedHashMap<>();
        if (withOrigin) {
            if (props.containsKey(ORIGIN_TOPIC)) { // an earlier copy's (or the client's own), kept
                for (String k : RETRY_PROPERTIES) {
                    String v = props.remove(k);
                    if (v != null && !k.equals(RECONSUME_TIMES)) {
                        retry.put(k, v);
                    }
                }
            } else {
                RETRY_PROPERTIES.forEach(props::remove);
                retry.put(ORIGIN_TOPIC, s.topic());
                retry.put(ORIGIN_QUEUE_ID, Integer.toString(s.queueId()));
                retry.put(ORIGIN_QUEUE_OFFSET, Long.toString(s.queueOffset()));
                retry.put(ORIGIN_MSG_ID, s.messageId());
            }
            retry.put(RECONSUME_TIMES, Integer.toString(failures));
        }
        LogMessage.Builder b = LogMessage.builder(target, 0, s.body()).bornTimestamp(s.bornTimestamp()).reconsumeTimes(failures)
                .properties(props);
        retry.forEach(b::internalProperty);
        if (s.tags() != null && !s.tags().isEmpty()) {
            b.tags(s.tags());
        }
        s.keys().forEach(b::key);
        long deliverAt = dead ? 0 : broker.config().log().clock().millis() + config.retryDelayMs(failures);
        CompletableFuture<Void> stored = broker.send(List.of(b.build()), new long[] {deliverAt}).thenApply(r -> null);
        if (dead) {
            LOG.info("group {}: {}/{}@{} failed {} times; moved to {}", group, s.topic(), s.queueId(), s.queueOffset(), failures, target);
        }
        return stored;
    }

    /**
     * Makes {@code group}'s retry topic if it has none. A deleted group's retry topic, made again,
     * continues its offsets and holds its old copies (DELETE_TOPIC keeps records): the group starts
     * after them, as a new group, unless it already has an offset there. Besides a join, a move to
     * the retry topic makes it: a DELETE_GROUP can run between a join's two steps, or between a
     * sweep that collected a group's expired messages and their moves, and the group's members
     * then started the topic made again at its beginning, among the deleted group's copies. Static:
     * the delayed delivery, which starts before the coordinator exists, calls it too
     * ({@link #beforeRetryCopy}).
     */
    private static void ensureRetryTopic(Broker broker, String group) {
        String retry = retryTopic(group);
        boolean madeNow = broker.queueCountOf(retry) == 0;
        broker.ensureTopic(retry, 1);
        // where the topic made again starts (its floor, the old copies' end), not its end now: a copy appended since
        // the creation (a delayed retry copy due at that moment) lies between the two, and was skipped
        long oldCopies = madeNow ? broker.store().minOffset(retry, 0) : 0;
        if (oldCopies > 0 && broker.committedOffset(group, retry, 0).isEmpty()) {
            broker.commitOffset(group, retry, 0, oldCopies);
        }
    }

    private long newFloor(QueueAcks a) {
        long f = a.floor();
        if (f < 0 || f == a.written) {
            return -1;
        }
        a.written = f;
        return f;
    }

    /**
     * Writes a new committed offset. Called under the monitor, with the floor it computed: two
     * threads changing one queue's floor (an ack and a long poll's delivery) then write in the
     * order they computed, so the stored offset never goes back to an older floor.
     */
    private void commit(String group, String topic, int queueId, long offset) {
        if (offset >= 0) {
            broker.commitOffset(group, topic, queueId, offset);
        }
    }

    private Group live(String group) {
        Group g = groups.get(group);
        if (g == null) {
            throw new FencedException("group '" + group + "': no live members (expected: JOIN_GROUP first)");
        }
        return g;
    }

    // ---- the sweep -----------------------------------------------------------------------------

    /**
     * Expires sessions and locks and moves messages whose ack deadline passed; runs every sweep
     * interval. About once a minute it also forgets broadcasting positions past their retention.
     */
    public void tick() {
        record Due(String group, TopicQueue tq, long offset) {
        }
        List<Due> due = new ArrayList<>();
        // the pass over every committed offset runs outside the monitor: heartbeats, fetches and acks wait on it
        Set<BroadcastMember> stored = clock.millis() >= nextPositionCheck ? storedBroadcastMembers() : null;
        synchronized (this) {
            expireSessions();
            long now = clock.millis();
            if (stored != null && now >= nextPositionCheck) {
                nextPositionCheck = now + POSITION_CHECK_INTERVAL_MS;
                forgetPositionsPastRetention(now, stored);
            }
            for (Group g : groups.values()) {
                g.locks.values().removeIf(l -> l.expiresAt <= now);
                g.acks.forEach((tq, a) -> {
                    if (a.orderly) {
                        return;
                    }
                    for (Map.Entry<Long, Long> e : a.inflight.entrySet()) {
                        if (e.getValue() <= now && a.moving.add(e.getKey())) {
                            due.add(new Due(g.name, tq, e.getKey()));
                        }
                    }
                });
            }
        }
        for (Due d : due) {
            move(d.group, d.tq, d.offset, -1, -1, false); // invisible time out: the broker's limit
        }
    }

    /** The broadcasting members with positions stored, from one pass over every committed offset. Any thread. */
    private Set<BroadcastMember> storedBroadcastMembers() {
        Set<BroadcastMember> stored = new HashSet<>();
        for (CommittedOffset c : broker.committedOffsets()) {
            BroadcastMember m = BroadcastMember.of(c.group());
            if (m != null) {
                stored.add(m);
            }
        }
        return stored;
    }

    /**
     * Forgets the positions of every broadcasting member that has not been live for
     * {@link GroupConfig#broadcastPositionRetentionMs()} (see the class comment). Exactly its own:
     * {@code GROUP%CLIENT_ID/...}, not those of a longer name it begins. Under this.
     */
    private void forgetPositionsPastRetention(long now, Set<BroadcastMember> stored) {
        lastLive.keySet().retainAll(stored); // the others' positions went with their group or topic
        Set<String> past = new HashSet<>();
        for (BroadcastMember m : stored) {
            Group g = groups.get(m.group());
            if (g != null && g.model == MessageModel.BROADCASTING && g.members.containsKey(m.clientId())) {
                lastLive.remove(m);
                continue;
            }
            long since = lastLive.computeIfAbsent(m, k -> now);
            if (now - since >= config.broadcastPositionRetentionMs()) {
                past.add(m.offsetGroup());
                lastLive.remove(m);
                LOG.info("group {}: forgetting the positions of broadcasting member {} ({}), not live for {} ms", m.group(),
                        m.clientId(), m.offsetGroup(), now - since);
            }
        }
        if (!past.isEmpty()) {
            broker.forgetOffsetGroups(past); // one pass over the offsets, however many members
        }
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException | Error e) {
            // an Error too: one escaping a scheduleWithFixedDelay task cancels it silently, and sessions would never
            // expire nor nacked messages be retried again
            LOG.error("group sweep failed; will run again", e);
        }
    }

    // ---- admin ---------------------------------------------------------------------------------

    /**
     * Names of live groups and of groups with committed offsets, sorted; a broadcasting group's
     * members' positions ({@code GROUP%CLIENT_ID}) list it under GROUP, also when no member is live.
     */
    public synchronized List<String> listGroups() {
        expireSessions();
        Set<String> names = new TreeSet<>(groups.keySet());
        broker.committedOffsets().forEach(c -> {
            if (c.group().indexOf('%') < 0) {
                names.add(c.group());
            } else {
                BroadcastMember m = BroadcastMember.of(c.group());
                if (m != null) {
                    names.add(m.group());
                }
            }
        });
        return new ArrayList<>(names);
    }

    /**
     * If {@code group} is a broadcasting group — live ({@code g}) in that mode, or not live with
     * its members' positions stored — the queues of those positions by client id, members live or
     * not, sorted; else null.
     */
    private Map<String, Set<TopicQueue>> broadcastPositions(String group, Group g) {
        if (g != null && g.model != MessageModel.BROADCASTING) {
            return null;
        }
        Map<String, Set<TopicQueue>> out = new TreeMap<>();
        for (CommittedOffset c : broker.committedOffsets()) {
            BroadcastMember m = BroadcastMember.of(c.group());
            if (m != null && m.group().equals(group)) {
                out.computeIfAbsent(m.clientId(), k -> new TreeSet<>()).add(new TopicQueue(c.topic(), c.queueId()));
            }
        }
        return g == null && out.isEmpty() ? null : out;
    }

    /**
     * Members, assignment, committed offsets and lag of {@code group}. A broadcasting group (live
     * in that mode, or not live with its members' positions stored) has a queue line per live
     * member's assigned queue and per stored member position, members not live included, each
     * owned by its member; when not live, also a line per offset of its own (owner "").
     */
    public synchronized GroupDescription describe(String group) {
        expireSessions();
        Group g = groups.get(group);
        List<GroupDescription.Member> members = new ArrayList<>();
        List<GroupDescription.QueueState> queues = new ArrayList<>();
        if (g != null) {
            g.members.values().forEach(m -> members.add(new GroupDescription.Member(m.clientId, m.topics, m.orderly, m.lastSeen)));
        }
        Map<String, Set<TopicQueue>> positions = broadcastPositions(group, g);
        if (positions != null) {
            // a live member's assigned queues first, in its assignment's order, then its other positions
            Map<String, Set<TopicQueue>> byMember = new TreeMap<>();
            if (g != null) {
                for (Member m : g.members.values()) {
                    Set<TopicQueue> assigned = byMember.computeIfAbsent(m.clientId, k -> new LinkedHashSet<>());
                    assignment(g, m.clientId).queues().forEach(a -> assigned.add(new TopicQueue(a.topic(), a.queueId())));
                }
            }
            positions.forEach((clientId, stored) -> byMember.computeIfAbsent(clientId, k -> new LinkedHashSet<>()).addAll(stored));
            byMember.forEach((clientId, memberQueues) -> memberQueues.forEach(tq ->
                    queues.add(queueState(broadcastOffsetGroup(group, clientId), tq.topic(), tq.queueId(), clientId, ""))));
        }
        if (positions == null || g == null) { // a group not live shows every offset stored for it, its own too
            Set<TopicQueue> all = new TreeSet<>();
            if (g != null) {
                all.addAll(g.owners.keySet());
            }
            broker.committedOffsets(group).keySet().forEach(k -> {
                int slash = k.lastIndexOf('/');
                all.add(new TopicQueue(k.substring(0, slash), Integer.parseInt(k.substring(slash + 1))));
            });
            for (TopicQueue tq : all) {
                Owner o = g == null ? null : g.owners.get(tq);
                Lock l = g == null ? null : g.locks.get(tq);
                queues.add(queueState(group, tq.topic(), tq.queueId(), o == null ? "" : o.clientId,
                        l == null || l.expiresAt <= clock.millis() ? "" : l.clientId));
            }
        }
        if (g == null && queues.isEmpty()) {
            throw new GroupNotFoundException(group);
        }
        return new GroupDescription(group, g == null ? null : g.model, g == null ? null : g.strategy.name(),
                g == null ? 0 : g.generation, members, queues);
    }

    private GroupDescription.QueueState queueState(String offsetGroup, String topic, int queueId, String owner, String lockedBy) {
        boolean exists = broker.describeTopic(topic).isPresent();
        long max = exists ? broker.store().nextOffset(topic, queueId) : 0;
        long min = exists ? broker.store().minOffset(topic, queueId) : 0;
        OptionalLong c = broker.committedOffset(offsetGroup, topic, queueId);
        long lag = Math.max(0, max - Math.max(min, c.orElse(min)));
        return new GroupDescription.QueueState(topic, queueId, owner, c.orElse(-1), max, lag, lockedBy);
    }

    /**
     * Deletes a group that has no live member, as Kafka's and RocketMQ's tools do: its committed
     * offsets (its broadcasting members' too) and its retry topic, which only its members read.
     * Its dead-letter topic {@code %DLQ%GROUP} stays: it holds what failed, for someone to look at
     * (delete it as a topic). A group that joins again later starts where a new group starts.
     * Refused while a member is live; {@link GroupNotFoundException} if there is nothing to delete.
     * Returns true if the retry topic was deleted.
     */
    public boolean deleteGroup(String group) {
        checkName("group", group);
        String retry = retryTopic(group);
        boolean hadOffsets;
        synchronized (this) {
            expireSessions();
            Group g = groups.get(group);
            if (g != null) {
                throw new BrokerException("group '" + group + "': " + g.members.size() + " live members (expected: none; stop them, or"
                        + " wait " + config.sessionTimeoutMs() + " ms for their sessions to expire)");
            }
            hadOffsets = broker.forgetGroupOffsets(group);
        }
        // file work outside the monitor; a first join racing this one may have made the retry topic just now: the
        // topic is made again by that group's next join or move to it, starting at its end (ensureRetryTopic)
        boolean hadRetry = false;
        String change = "group " + group + " deleted";
        try {
            broker.deleteTopic(retry, change);
            hadRetry = true;
        } catch (TopicNotFoundException e) {
            // never made (an orderly or broadcasting group), or deleted already
        }
        if (!hadOffsets && !hadRetry) {
            throw new GroupNotFoundException(group); // nothing changed: nothing to write
        }
        broker.flushOffsets(change); // on disk before the answer: a crash must not bring the deleted offsets back
        LOG.info("deleted group {} (its committed offsets{})", group, hadRetry ? " and retry topic " + retry : "");
        return hadRetry;
    }

    /** The offset-store group name under which a broadcasting member keeps its positions: {@code GROUP%CLIENT_ID}. */
    public static String broadcastOffsetGroup(String group, String clientId) {
        return group + "%" + clientId;
    }

    /** Where RESET_OFFSETS moves a group's committed offsets. */
    public enum ResetTarget { EARLIEST, LATEST, TIMESTAMP, OFFSET }

    /**
     * Moves {@code group}'s committed offsets of {@code topic} (every queue, or {@code queueId} if
     * >= 0) to the earliest, the latest, the first at or after {@code value} ms, or offset
     * {@code value} (clamped to what is stored). Live members restart those queues there: their
     * queues get a new {@code since} generation (and in-flight acks are dropped). The new offsets are
     * written to disk before this returns, unlike the members' own commits. Returns queue id to new offset.
     *
     * <p>A broadcasting group — live in that mode, or not live with its members' positions stored —
     * has no offsets of its own: what moves is the position of every member that has one on
     * {@code topic} or is live and subscribes to it, live or not (resetting with the consumers
     * stopped is the usual practice, and a member that comes back reads from its own position).
     * Nothing is moved, and nothing returned, if there is no such member. A group not live that has
     * offsets of its own on {@code topic} as well (a group that was broadcasting, then clustering)
     * has those moved too.
     */
    public Map<Integer, Long> resetOffsets(String group, String topic, int queueId, ResetTarget target, long value) {
        int queues = broker.describeTopic(topic).orElseThrow(() -> new TopicNotFoundException(topic)).queueCount();
        if (queueId >= queues) {
            throw new BrokerException("queueId: " + queueId + " (expected: 0.." + (queues - 1) + " for topic " + topic + ")");
        }
        Map<Integer, Long> out = new TreeMap<>();
        synchronized (this) {
            Group g = groups.get(group);
            Map<String, Set<TopicQueue>> positions = broadcastPositions(group, g);
            List<String> offsetGroups; // none for a broadcasting group none of whose members reads the topic
            if (positions != null) {
                Set<String> readers = new TreeSet<>();
                positions.forEach((clientId, stored) -> {
                    if (stored.stream().anyMatch(tq -> tq.topic().equals(topic))) {
                        readers.add(clientId);
                    }
                });
                if (g != null) {
                    g.members.values().stream().filter(m -> m.topics.contains(topic)).forEach(m -> readers.add(m.clientId));
                }
                offsetGroups = new ArrayList<>(readers.stream().map(clientId -> broadcastOffsetGroup(group, clientId)).toList());
                if (g == null && broker.committedOffsets(group).keySet().stream().anyMatch(k -> k.startsWith(topic + "/"))) {
                    offsetGroups.add(group); // not live, with offsets of its own too: it may be a clustering group now
                }
            } else {
                offsetGroups = List.of(group);
            }
            if (g != null) {
                advance(g);
            }
            for (int q = queueId < 0 ? 0 : queueId; q < (queueId < 0 ? queues : queueId + 1) && !offsetGroups.isEmpty(); q++) {
                long min = broker.store().minOffset(topic, q);
                long max = broker.store().nextOffset(topic, q);
                long to = switch (target) {
                    case EARLIEST -> min;
                    case LATEST -> max;
                    case TIMESTAMP -> broker.store().offsetForTimestamp(topic, q, value);
                    case OFFSET -> Math.max(min, Math.min(max, value));
                };
                for (String offsetGroup : offsetGroups) {
                    broker.commitOffset(offsetGroup, topic, q, to);
                }
                out.put(q, to);
                if (g != null) {
                    TopicQueue tq = new TopicQueue(topic, q);
                    g.acks.remove(tq);
                    Owner o = g.owners.get(tq);
                    if (o != null) {
                        g.owners.put(tq, new Owner(o.clientId, g.generation, o.pendingFrom, g.generation));
                    }
                    g.resetSince.put(tq, g.generation);
                }
            }
        }
        String change = "group " + group + ": offsets of " + topic + " reset to " + target + " " + out;
        LOG.info(change);
        broker.flushOffsets(change); // outside the monitor; on disk before the answer: a reset lost in a crash skips or repeats messages
        return out;
    }

    private static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BrokerException(what + ": '" + name + "' (expected: 1..128 characters of [A-Za-z0-9._|-])");
        }
    }

    /**
     * Stops the sweeper, waiting up to 5 s for a sweep under way: it may be moving messages to a
     * retry topic, and the broker closes the store next. Not shutdownNow at once: an interrupt in
     * the middle of a file write closes the channel (ClosedByInterruptException) under the store.
     */
    @Override
    public void close() {
        sweeper.shutdown();
        try {
            if (!sweeper.awaitTermination(5, TimeUnit.SECONDS)) {
                sweeper.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
