package dev.ferry.client;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.binary.BinaryCodec;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member of a consumer group, {@link #poll} style: joins the group, heartbeats every
 * {@link GroupConsumerConfig#heartbeatIntervalMs()}, and reads the queues the broker assigns it,
 * following every rebalance (docs/PROTOCOL.md, "Consumer groups").
 *
 * <p><b>Clustering</b> (default): each message goes to one member; {@link #ack} it once handled,
 * or {@link #nack} it to have the broker redeliver it later through the group's retry topic
 * (a message not acked within the broker's invisible time is redelivered too). The broker keeps
 * the committed offset (the lowest unacked one). <b>Broadcasting</b>: every member reads every
 * queue; {@link #ack} advances this member's own position, committed under the group name
 * {@code GROUP%CLIENT_ID} with the generation its read began at, so that the broker refuses a
 * position read before a RESET_OFFSETS of the queue (the member then reads the queue again from
 * where the reset put it). <b>Orderly</b>: the member locks each queue on the broker before
 * reading it; a queue taken away by a rebalance is unlocked at the next {@link #poll}, so
 * handle (ack or nack) a whole batch before polling again. A nack then gives the message up to
 * the dead-letter topic: retry in place before it (see {@link #nack}). A lost connection stops
 * the member's handling at once ({@link #owns} false): its queues are read again from the
 * committed offsets once it has joined again.
 *
 * <p>A queue gets a new FETCH only when its previous batch was polled, so at most about two
 * batches per queue wait in the client and acks come soon after the broker handed messages out.
 *
 * <p><b>Thread safety.</b> {@link #poll} and {@link #close} from one thread; {@link #ack} and
 * {@link #nack} from any thread (orderly: acks sent before {@link #poll} returns go out ahead of
 * the unlocks that poll sends, so ack a batch's messages before polling again, as said above; wait
 * for a nack's future). The event loop owns the connection, the heartbeat and the fetch
 * state; the map of owned queues is concurrent so any thread can look a queue up.
 */
public final class GroupConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupConsumer.class);

    private static final class QueueState {
        final String topic;
        final int queueId;
        final long since;
        final String key;
        // event loop
        /** How many times the queue's key had been assigned to this member when this state began (see {@link #assignments}). */
        int assignment;
        long fetchOffset;
        boolean started;
        /**
         * We may hold the queue's broker lock, so it is released when the queue is lost: set before
         * LOCK_QUEUE is sent (an answer lost with the connection may have granted it).
         */
        boolean locked;
        /**
         * LOCK_QUEUE answered OK for this state's current read; a restart clears it, so the lock is
         * asked for again before reading (a FENCED fetch: the lock may have expired).
         */
        boolean lockGranted;
        /** False once a rebalance took the queue away; volatile: read by the polling thread. */
        volatile boolean owned = true;
        /**
         * The latest FETCH of the current read was answered with nothing new and a next offset at
         * the queue's end (what a filter skips counts as read), every batch fetched
         * before it being queued for poll already (the next FETCH of a queue is sent only once its
         * batch is polled); set by the event loop, read by {@link #caughtUp()}.
         */
        volatile boolean caughtUp;
        /**
         * Bumped when reading restarts at the committed offset without a rebalance (a FENCED
         * fetch); batches fetched before are then dropped, so an orderly queue never goes back.
         * Written on the event loop, read by the polling thread.
         */
        volatile int epoch;
        /**
         * An error of this queue waits in {@code ready}: set by the event loop when it queues one,
         * cleared by the polling thread when poll reports it; one at a time, as in {@link Consumer}.
         */
        final AtomicBoolean errorQueued = new AtomicBoolean();
        /** Broadcasting: next offset to commit (acked position); polling thread. */
        long acked = -1;
        /**
         * Broadcasting: the read ({@link #epoch}) {@link #acked} belongs to; polling thread. A read
         * started again (a FENCED fetch after a RESET_OFFSETS) starts its acked position afresh, and
         * a position of the read before is never committed over the one it read back.
         */
        int ackedEpoch;
        /** Broadcasting: the last offset the broker confirmed committed; written by the event loop, read by the polling thread. */
        volatile long committed = -1;
        /** Broadcasting: the offset of the COMMIT_OFFSET on its way, or -1; both threads. */
        volatile long committing = -1;
        /** Broadcasting: the last offset whose COMMIT_OFFSET the broker refused for good (not retryable), or -1; both threads. */
        volatile long refused = -1;
        /**
         * Broadcasting: the read ({@link #epoch}) whose commit the broker FENCED, or -1: nothing more
         * of it is sent (the poll between the refusal and the read's restart sent its position again,
         * for another FENCED), while the next read commits as usual. Both threads.
         */
        volatile int fencedEpoch = -1;
        /**
         * Broadcasting: the member's generation when the current read ({@link #epoch}) began, that
         * is when it asked for the committed offset it reads on from. Its COMMIT_OFFSETs carry it,
         * so the broker refuses (FENCED) a position of a read begun before an offset reset, or in
         * an earlier session, instead of letting it put back the position the reset moved. Written
         * on the event loop before the read's first FETCH, read by the polling thread.
         */
        volatile long readGeneration;
        /**
         * Broadcasting: where the current read ({@link #epoch}) began, the committed offset it reads
         * on from; written on the event loop before the read's first FETCH, read by the polling thread.
         */
        volatile long readStart = -1;
        /**
         * Broadcasting: the last run of FETCH answers that had no message but moved {@code nextOffset}
         * on (the broker skipped those offsets for the tag filter); event loop writes, polling thread
         * reads. See {@link #skipFiltered}.
         */
        volatile Skipped skipped;
        /**
         * Broadcasting, polling thread: the offsets after the last message of the last batch polled up
         * to its {@code nextOffset} (skipped by the tag filter), of read {@link #tailEpoch}.
         */
        long tailFrom = -1;
        long tailTo = -1;
        int tailEpoch = -1;

        QueueState(String topic, int queueId, long since) {
            this.topic = topic;
            this.queueId = queueId;
            this.since = since;
            this.key = key(topic, queueId);
        }
    }

    /** Offsets {@code from} (inclusive) to {@code to} of read {@code epoch} that held no message for this member. */
    private record Skipped(int epoch, long from, long to) {
    }

    /**
     * A FETCH answer waiting to be polled; {@code offset} is the one the FETCH asked for, and
     * {@code generation} the member's generation it was sent at (a clustering member's ACK of its
     * messages carries it). Or, with {@code error} set (and no response), a refusal for poll to report.
     */
    private record Fetched(QueueState queue, int epoch, long offset, long generation, Command response, FerryException error) {
        /** Still the current read of a queue this member owns. */
        boolean current() {
            return queue.owned && queue.epoch == epoch;
        }
    }

    private final FerryClient client;
    private final GroupConsumerConfig config;
    private final ClientConfig clientConfig;
    private final Codec codec;
    private final boolean storedRecords;
    private final EventLoop loop;
    private final boolean broadcasting;
    private final String offsetGroup;
    /** Owned queues by "topic/queue"; written on the event loop only, read anywhere. */
    private final ConcurrentHashMap<String, QueueState> queues = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Fetched> ready = new LinkedBlockingQueue<>();
    /** The fetch each message of the last poll came from (by identity); synchronized: {@link #owns} may run on any thread. */
    private final Map<Message, Fetched> polled = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
    /** The generation of the last assignment; volatile: acks are sent from any thread. */
    private volatile long generation;
    /** An assignment (the JOIN_GROUP answer's, or a heartbeat's) has been applied; set by the event loop. */
    private volatile boolean assignmentKnown;
    /** {@link System#nanoTime} of the last refused ack logged at WARN. */
    private final AtomicLong lastRefusalWarning = new AtomicLong(System.nanoTime() - 2_000_000_000L);
    /** Set by close; volatile because close runs on the polling thread. */
    private volatile boolean stopping;
    /**
     * Orderly: the {@link System#nanoTime} until which this member may trust its queue locks: two
     * thirds of the broker's session timeout after the send of the last heartbeat (or join) the
     * broker answered. The broker frees a member's locks no earlier than a whole session timeout
     * after it last heard from it, so a member that stalls (GC pause, frozen process, lost network)
     * stops handling before another member can lock its queues. A lost connection ends it at once:
     * a broker restart forgets every lock. Written on the event loop, read by the polling thread.
     */
    private volatile long lockLeaseUntil;
    /** The broker's session timeout, from the JOIN_GROUP response (0: not told, no lease); written on the event loop. */
    private volatile long sessionTimeoutNanos;
    /**
     * Queues taken away (a rebalance, a lost connection) while we may hold their lock: added on the
     * event loop, taken by {@link #poll}, which unlocks them behind the acks of the batches handled
     * before it.
     */
    private final ConcurrentLinkedQueue<QueueState> revokedLocked = new ConcurrentLinkedQueue<>();
    // event loop
    /**
     * How many times each queue key was assigned to this member: a revoked queue whose key was
     * assigned again since holds the lock for its new state, so it is not unlocked.
     */
    private final Map<String, Integer> assignments = new HashMap<>();
    private Connection conn;
    private ScheduledFuture<?> heartbeat;
    private boolean rejoining;
    /** Set by {@link #close}; volatile so that {@link #ack} and {@link #nack}, from any thread, refuse after it. */
    private volatile boolean closed;
    /** The connection was lost and is not back yet (logged once at the loss, once when it is back). */
    private boolean disconnected;

    GroupConsumer(FerryClient client, GroupConsumerConfig config) {
        this.client = client;
        this.config = config;
        this.clientConfig = client.config();
        this.codec = client.codecInstance();
        this.storedRecords = codec instanceof BinaryCodec;
        this.loop = client.transport().nextLoop();
        this.broadcasting = config.model() == GroupConsumerConfig.Model.BROADCASTING;
        this.offsetGroup = broadcasting ? config.group() + "%" + config.clientId() : config.group();
        Connection c = client.await(Connection.open(client.transport(), loop, clientConfig, codec), clientConfig.connectTimeoutMs() * 2,
                "connect to " + clientConfig.host() + ":" + clientConfig.port());
        Command joined;
        long joinSent = System.nanoTime();
        try {
            joined = client.await(c.request(joinRequest(), clientConfig.requestTimeoutMs(), "JOIN_GROUP " + config.group()),
                    clientConfig.requestTimeoutMs() * 2, "JOIN_GROUP " + config.group());
            FerryClient.check(joined, "JOIN_GROUP " + config.group());
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        loop.execute(() -> {
            conn = c;
            c.onClose(this::connectionLost);
            // heartbeats first: an answer that cannot be read below must not leave the member without them (its
            // session would expire unseen); the next heartbeat's answer carries the assignment again
            heartbeat = loop.scheduleWithFixedDelay(this::heartbeat, config.heartbeatIntervalMs(), config.heartbeatIntervalMs(),
                    TimeUnit.MILLISECONDS);
            try {
                renewLease(joined, joinSent);
                apply(joined);
            } catch (RuntimeException e) {
                LOG.error("group {}: cannot read the JOIN_GROUP answer ({}); waiting for the next heartbeat's", config.group(),
                        e.toString());
            }
        });
    }

    private Command.Builder joinRequest() {
        return Command.builder().code(RequestCode.JOIN_GROUP).header(Headers.GROUP, config.group())
                .header(Headers.CLIENT_ID, config.clientId()).header(Headers.TOPICS, String.join(",", config.topics()))
                .header(Headers.MODE, config.model().name()).header(Headers.STRATEGY, config.allocation().name())
                .header(Headers.ORDERLY, Boolean.toString(config.orderly()));
    }

    /** The client that made this consumer. */
    FerryClient client() {
        return client;
    }

    public GroupConsumerConfig config() {
        return config;
    }

    /** The group generation of the assignment this member follows. */
    public long generation() {
        return generation;
    }

    /** The queues this member reads now, as "topic/queueId", sorted. */
    public List<String> assignment() {
        return queues.keySet().stream().sorted().toList();
    }

    /**
     * True once this member knows its assignment and the latest FETCH of each queue it owns brought
     * nothing new: a {@link #poll} that starts after this returned true and returns nothing has
     * returned everything those queues held when the broker answered. A member given no queue is
     * caught up as soon as it knows it. What {@code ferry consume --timeout-ms 0} ("read what is
     * there, then stop") waits for; a rebalance or a re-read makes it false again.
     */
    public boolean caughtUp() {
        if (!assignmentKnown) {
            return false;
        }
        for (QueueState q : queues.values()) {
            if (!q.caughtUp) {
                return false;
            }
        }
        return true;
    }

    /**
     * True while this member still owns the queue {@code m} (returned by {@link #poll}) was read
     * from; false once a rebalance took the queue away, even if it gave it back since (the queue
     * is then re-read from the committed offset). Orderly: false for every queue also while the
     * member's lease is out: from the moment its connection is lost, or once 2/3 of the session
     * timeout passed since it sent the last heartbeat the broker answered. Its queues are read again
     * from the committed offsets once it is back, so such a message comes again.
     */
    public boolean owns(Message m) {
        if (config.orderly() && sessionTimeoutNanos > 0 && System.nanoTime() - lockLeaseUntil > 0) {
            return false; // no heartbeat answered for too long: the broker may have given our locks away
        }
        Fetched f = polled.get(m);
        if (f != null) {
            return f.current();
        }
        QueueState q = queues.get(key(m.topic(), m.queueId()));
        return q != null && q.owned;
    }

    // ---- polling thread -------------------------------------------------------------------------

    /**
     * Messages fetched so far from the owned queues, waiting up to {@code timeout} for the first.
     *
     * @throws FerryException if the broker refused a queue's FETCH for a reason other than load
     *     (BUSY, TIMEOUT), for example BAD_REQUEST for a malformed tag expression; the member keeps
     *     asking, once a second at most, and reports it again
     * @throws DamagedRecordException if the next record of a queue fails its check (damaged on the
     *     broker's disk; with a tag filter a plain {@link FerryException} of reason CLIENT, the
     *     record being at or after the offset it names). Orderly, it is reported at every poll
     *     until the group's offset is reset past it; broadcasting, it is skipped and the queue reads
     *     on from the record after it; clustering, the queue reads on, and the broker redelivers the
     *     records after it that are not acked
     */
    public List<Message> poll(Duration timeout) {
        if (closed) {
            throw new IllegalStateException("consumer closed");
        }
        unlockRevoked();
        if (broadcasting) {
            commitPositions();
        }
        List<Message> out = new ArrayList<>();
        polled.clear();
        long deadline = System.nanoTime() + timeout.toNanos();
        FerryException bad = null;
        while (true) {
            Fetched f;
            try {
                long left = deadline - System.nanoTime();
                f = out.isEmpty() && left > 0 ? ready.poll(left, TimeUnit.NANOSECONDS) : ready.poll();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (f == null) {
                break;
            }
            if (!f.current()) {
                if (f.error() != null) {
                    f.queue().errorQueued.set(false); // of a read gone by: a restarted one reports its own
                }
                continue; // a restarted read has its own fetch going: this one must not start a second
            }
            if (f.error() != null) {
                if (out.isEmpty()) {
                    f.queue().errorQueued.set(false);
                    throw f.error();
                }
                ready.add(f); // the messages taken so far are returned first; the next poll reports it
                break;
            }
            List<Message> decoded = FetchedMessages.listFor(f.response());
            boolean readable = true;
            long readFrom = -1; // where the queue is read again from, if not from the fetch's end
            try {
                FetchedMessages.of(f.response(), storedRecords, decoded);
            } catch (RuntimeException e) { // a record that fails its check (or cannot be decoded at all)
                readable = false;
                // Where it is: first in the fetch, or after the last record decoded. Exactly there without a tag filter;
                // with one, at or after it (the records that do not match are left out of the fetch, not counted).
                long at = decoded.isEmpty() ? f.offset() : decoded.get(decoded.size() - 1).queueOffset() + 1;
                // The messages before it, and those taken so far, are returned. Orderly: the queue is read again from its
                // committed offset, so it stops at the bad record (reported at every poll) and nothing after it is handled
                // out of order; reset the group's offset past it to go on. Clustering: the queue reads on; at the ack timeout
                // the broker moves the unacked records after it to the retry topic, from which they come again, and counts
                // the damaged one as done with an ERROR line (it is never copied under a fresh checksum). Broadcasting: the
                // queue is read again from the record after it, so the intact ones after it come and it alone is skipped;
                // if records before it were decoded, from it, so that it comes first in a fetch and is reported with its
                // offset (as the plain Consumer does).
                if (config.orderly()) {
                    loop.execute(() -> {
                        if (f.current()) {
                            restart(f.queue());
                        }
                    });
                } else if (broadcasting) {
                    readFrom = decoded.isEmpty() ? at + 1 : at;
                }
                boolean filtered = !config.tags().isEmpty() || !config.sql().isEmpty(); // the answer skips offsets: not exact
                String what = "the record at offset " + at + (filtered ? " or after it (filter" + (config.tags().isEmpty() ? "" : " tags "
                        + config.tags()) + (config.sql().isEmpty() ? "" : " sql " + config.sql()) + ")" : "")
                        + " cannot be decoded: " + e.getMessage() + (broadcasting && decoded.isEmpty() ? " (skipped)" : "");
                bad = !filtered ? new DamagedRecordException(f.queue().topic, f.queue().queueId, at, what)
                        : FerryException.damagedRecord("FETCH " + f.queue().topic + "/" + f.queue().queueId, what);
            }
            if (readable || !config.orderly()) { // an orderly queue with a bad record is restarted instead, above
                long from = readFrom;
                loop.execute(() -> {
                    if (f.current()) {
                        if (from >= 0) {
                            f.queue().fetchOffset = from; // no FETCH of the queue is in flight: the next is sent here
                        }
                        fetch(f.queue());
                    }
                });
            }
            for (Message m : decoded) {
                out.add(m);
                polled.put(m, f);
            }
            if (broadcasting && readable && !decoded.isEmpty()) {
                QueueState q = f.queue();
                q.tailFrom = decoded.get(decoded.size() - 1).queueOffset() + 1;
                q.tailTo = FerryClient.number(f.response(), Headers.NEXT_OFFSET);
                q.tailEpoch = f.epoch();
            }
            if (bad != null) {
                break;
            }
            if (out.size() >= config.maxFetchMessages()) {
                break;
            }
        }
        if (bad != null && out.isEmpty()) {
            throw bad;
        }
        if (bad != null) {
            LOG.warn("group {}: {}", config.group(), bad.getMessage()); // the messages taken before it are returned
        }
        return out;
    }

    /**
     * The message is handled. Clustering (orderly or not): ACK to the broker, asynchronously. The
     * broker takes it also for a queue a rebalance took away since the poll (from an orderly member
     * until it unlocks the queue, at its next poll); a refused ack (the member left, or an orderly
     * member's lock was gone) is logged, and the queue's owner reads the message again. A message of
     * the last poll is acked at the generation its FETCH was sent at, so the broker ignores the ack
     * if a RESET_OFFSETS of the queue came after that fetch (the message comes again), and takes it
     * otherwise, also when the queue is read again since for another reason (a rebalance that gave
     * it back, a fenced fetch): the message was handled (so ack a batch before polling again).
     * Orderly: not sent for a message of the last poll whose queue this member reads again since
     * from the committed offset ({@link #owns} false, the queue still assigned). Broadcasting: advances this member's position, committed at the next poll or close; not for
     * a message of the last poll whose queue is read again since (see {@link #owns}), as after a
     * RESET_OFFSETS: it comes again.
     *
     * @throws IllegalStateException after {@link #close}: the ack is not sent, and the message comes again
     */
    public void ack(Message m) {
        checkOpen("ack", m);
        String key = key(m.topic(), m.queueId());
        if (broadcasting) {
            // Of the read the message was polled from (as owns goes by): once the queue is read again from its committed
            // offset (a RESET_OFFSETS gave it a new state at a heartbeat, or fenced the fetch), the message comes again,
            // and its ack applied to the new read would commit the old position over the reset
            Fetched f = polled.get(m);
            QueueState q = f == null ? queues.get(key) : f.current() ? f.queue() : null;
            if (q != null) {
                int epoch = f == null ? q.epoch : f.epoch();
                if (q.ackedEpoch != epoch) {
                    q.acked = m.queueOffset() + 1;
                    q.ackedEpoch = epoch;
                } else {
                    q.acked = Math.max(q.acked, m.queueOffset() + 1);
                }
            }
            return;
        }
        Fetched f = polled.get(m);
        if (config.orderly() && f != null && !f.current() && queues.containsKey(key)) {
            // Orderly: this member reads the queue again from its committed offset (an offset reset gave it a new state, a
            // fenced fetch restarted it, or a rebalance gave it back), and its acks carry its current generation (the
            // broker checks it against the lock): the message comes again in that read, and the ack would count against
            // the new read's copy of the offset, past a message not handled since a reset.
            return;
        }
        // Not orderly: sent with the generation the message's FETCH was sent at, so that the broker ignores it only if an
        // offset reset of the queue came after the fetch (the reset asks for the message again; counted, the ack would
        // move the committed offset past the new read's copy). A queue re-read for any other reason (a rebalance that
        // took it away and gave it back, a long poll fenced by a handover) still has the handled message acked: dropped,
        // it came again and was handled twice (ConsumerGroupTest.aClusteringMembersAcksOfABatchStillCount...).
        long ackGeneration = f != null && !config.orderly() ? f.generation() : generation;
        // sent also when a rebalance took the queue away since the message was polled (the message
        // in hand): the broker takes the ack of a clustering member, and of an orderly one still
        // holding the lock, which it releases only at its next poll
        String what = "ACK " + key + "@" + m.queueOffset();
        Connection.call(loop, () -> conn, memberRequest(RequestCode.ACK, m, ackGeneration).header(Headers.OFFSET, m.queueOffset()),
                clientConfig.requestTimeoutMs(), what).whenComplete((r, t) -> {
                    if (t instanceof FerryException e && e.status().isPresent() && config.orderly() && refusalToWarnOf()) {
                        // an orderly queue's next owner reads it again from below this message: out of order
                        LOG.warn("group {}: {} refused; the queue's next owner will handle it again (more refusals within a second "
                                + "are logged at debug): {}", config.group(), what, e.getMessage());
                    } else if (t != null) {
                        LOG.debug("{}: {}", what, t.getMessage());
                    }
                });
    }

    /**
     * An ack or nack after close is refused: it could not be sent (the connection is closed, a
     * broadcasting member's last position committed), and said nothing; the message comes again.
     */
    private void checkOpen(String what, Message m) {
        if (closed) {
            throw new IllegalStateException("consumer closed: " + what + " of " + m.topic() + "/" + m.queueId() + "@" + m.queueOffset()
                    + " not sent (the group delivers the message again)");
        }
    }

    /** True at most once a second: a member whose session expired has every ack of its batch refused. */
    private boolean refusalToWarnOf() {
        long now = System.nanoTime();
        long last = lastRefusalWarning.get();
        return now - last >= 1_000_000_000L && lastRefusalWarning.compareAndSet(last, now);
    }

    /**
     * The message failed. Clustering: the broker sends it to the group's retry topic (redelivered
     * after a growing delay) or, after more than {@link GroupConsumerConfig#maxReconsumeTimes()} failed
     * deliveries (if that is -1, the broker's limit), to its dead-letter topic. Orderly: to the
     * dead-letter topic at once, whatever its count: an orderly member reads no retry topic (a
     * copy there would come after the queue's later messages), so retry a failing message in place
     * first, as RocketMQ's orderly consumer suspends its queue and {@link Subscription} does, and
     * nack it only to give it up. A message of the last
     * poll is nacked (not orderly) at the generation its FETCH was sent at, as {@link #ack} acks
     * it: the broker ignores the nack if a RESET_OFFSETS of the queue came after that fetch (the
     * message comes again from the committed offset); an orderly member's is not sent at all for a
     * message whose queue it reads again since, as {@link #ack} says. Broadcasting: there is
     * neither, and the broker ignores a NACK; the message is skipped, as RocketMQ drops a failed
     * broadcast message: this member's position moves past it as {@link #ack} moves it.
     *
     * @throws IllegalStateException after {@link #close}: the nack is not sent, and the message comes again
     */
    public CompletableFuture<Void> nack(Message m) {
        return nack(m, -1);
    }

    /**
     * As {@link #nack(Message)}, saying that {@code reconsumeTimes} deliveries failed (an orderly
     * member that retried in place; -1: the message's deliveries so far) for the broker's count.
     * Broadcasting: skipped, as {@link #nack(Message)} says.
     */
    public CompletableFuture<Void> nack(Message m, int reconsumeTimes) {
        checkOpen("nack", m);
        if (broadcasting) {
            // the broker answers a broadcasting member's NACK OK and does nothing; left where it was, the member's
            // position stayed before the message when it was the last of its queue (a later ack moved past it
            // otherwise), and the member got it again when it came back (found by a reviewer; BroadcastFailureTest)
            ack(m);
            return CompletableFuture.completedFuture(null);
        }
        // Not orderly: sent, as an ack is, with the generation the message's FETCH was sent at, so that the broker ignores
        // it if an offset reset of the queue came after the fetch. Sent at the current generation it moved the copy of the
        // offset the read begun since the reset had in flight to the retry topic: the message was handled twice
        // (ConsumerGroupTest.aClusteringMembersNackOfAMessagePolledBeforeAResetLeavesTheReRead). Orderly: the current
        // generation, as its acks (the broker checks it against the lock).
        Fetched f = polled.get(m);
        if (config.orderly() && f != null && !f.current() && queues.containsKey(key(m.topic(), m.queueId()))) {
            // as ack: this member reads the queue again from its committed offset, and the message comes again in that
            // read; the nack, at the current generation, dead-lettered the new read's copy (ConsumerGroupTest.anOrderly...)
            return CompletableFuture.completedFuture(null);
        }
        long nackGeneration = f != null && !config.orderly() ? f.generation() : generation;
        Command.Builder b = memberRequest(RequestCode.NACK, m, nackGeneration).header(Headers.OFFSET, m.queueOffset());
        if (reconsumeTimes >= 0) {
            b.header(Headers.RECONSUME_TIMES, reconsumeTimes);
        }
        if (config.maxReconsumeTimes() >= 0 && !config.orderly()) {
            b.header(Headers.MAX_RECONSUME_TIMES, config.maxReconsumeTimes()); // an orderly member's nack is dead-lettered whatever
        }
        return send(b, "NACK " + key(m.topic(), m.queueId()) + "@" + m.queueOffset());
    }

    private Command.Builder memberRequest(RequestCode code, Message m) {
        return memberRequest(code, m, generation);
    }

    private Command.Builder memberRequest(RequestCode code, Message m, long generation) {
        return Command.builder().code(code).header(Headers.GROUP, config.group()).header(Headers.CLIENT_ID, config.clientId())
                .header(Headers.GENERATION, generation).header(Headers.TOPIC, m.topic()).header(Headers.QUEUE_ID, m.queueId());
    }

    private CompletableFuture<Void> send(Command.Builder b, String what) {
        return Connection.call(loop, () -> conn, b, clientConfig.requestTimeoutMs(), what).whenComplete((r, t) -> {
            if (t != null) {
                LOG.debug("{}: {}", what, t.getMessage());
            }
        }).thenApply(r -> null);
    }

    /**
     * Broadcasting: commits the acked position of each queue's current read, as the member's own
     * (group {@code GROUP%CLIENT_ID}), with {@code clientId} and the {@code generation} the read
     * began at (docs/PROTOCOL.md, "Consumer groups", Broadcasting). A commit the broker fences (the
     * read began before an offset reset of the queue, or in an earlier session) is not sent again:
     * the queue is read again from the committed offset, as after a fenced fetch.
     */
    private void commitPositions() {
        for (QueueState q : queues.values()) {
            // read before the epoch: a read started since has a newer generation, never to be sent with this read's position
            long readGeneration = q.readGeneration;
            int epoch = q.epoch;
            skipFiltered(q, epoch);
            long position = q.acked;
            if (position >= 0 && q.ackedEpoch == epoch && position != q.committed && position != q.committing
                    && position != q.refused && epoch != q.fencedEpoch) {
                // marked committed once the broker confirms it. A commit that failed is sent again at the next poll, but
                // not while one is on its way (every poll of its round trip sent it again), and not a position the broker
                // refused for good (a deleted topic; sent again at every poll for ever): the next ack moves on from it
                q.committing = position;
                String what = "COMMIT_OFFSET " + q.key + " " + position;
                send(Command.builder().code(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, offsetGroup).header(Headers.TOPIC, q.topic)
                        .header(Headers.QUEUE_ID, q.queueId).header(Headers.OFFSET, position).header(Headers.CLIENT_ID, config.clientId())
                        .header(Headers.GENERATION, readGeneration), what)
                        .whenComplete((v, t) -> {
                            Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                                    ? t.getCause() : t;
                            if (cause == null) {
                                q.committed = position;
                            } else if (cause instanceof FerryException e && e.status().orElse(null) == Status.FENCED) {
                                q.fencedEpoch = epoch;
                                // the broker's position is newer than the read this one came from (an offset reset moved it,
                                // or our session ended meanwhile): read the queue again from it, and hear the reset's
                                // assignment; what was acked since the last commit comes again
                                LOG.warn("group {}: {}; reading {} again from the committed offset", config.group(), e.getMessage(),
                                        q.key);
                                loop.execute(() -> {
                                    if (q.owned && queues.get(q.key) == q && q.epoch == epoch) {
                                        restart(q);
                                    }
                                    heartbeat();
                                });
                            } else if (!(cause instanceof FerryException e && e.retryable())) {
                                q.refused = position;
                                LOG.warn("group {}: {} refused: {}", config.group(), what, cause.getMessage());
                            }
                            q.committing = -1;
                        });
            }
        }
    }

    /**
     * Broadcasting: moves the acked position of read {@code epoch} (or, nothing acked yet, where
     * the read began) past offsets the broker skipped for the tag filter right after it: the tail
     * of the last batch after its last message, then a run of FETCH answers with no message. Such
     * offsets hold nothing for this member, so they are as done as in a clustering group (whose
     * committed offset the broker moves past them). Without this, a member whose filter matched
     * only now and then kept its position at its last matching message: its lag grew with every
     * message of other tags, and each start scanned them all again.
     */
    private static void skipFiltered(QueueState q, int epoch) {
        Skipped s = q.skipped; // before readStart: the loop writes a read's start before its runs
        long start = q.ackedEpoch == epoch && q.acked >= 0 ? q.acked : q.readStart;
        if (start < 0) {
            return;
        }
        long p = start;
        if (q.tailEpoch == epoch && p >= q.tailFrom && p < q.tailTo) {
            p = q.tailTo;
        }
        if (s != null && s.epoch() == epoch && p >= s.from() && p < s.to()) {
            p = s.to();
        }
        if (p != start) {
            q.acked = p;
            q.ackedEpoch = epoch;
        }
    }

    /**
     * Leaves the group (its queues go to the other members at once), unlocking and committing first.
     *
     * @throws IllegalStateException on the client's event loop (in a callback of a future): the wait
     *     for the leave's answer would hold the loop that brings it; nothing is closed then
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (client.transport().inEventLoop()) {
            // it held the loop for requestTimeoutMs (every send, fetch and heartbeat of the client with it), then left unconfirmed
            throw new IllegalStateException("close() from the client's event loop (a callback of a future) would wait for that loop; "
                    + "close from another thread");
        }
        closed = true;
        try {
            if (broadcasting) {
                commitPositions();
            }
            CompletableFuture<Void> left = new CompletableFuture<>();
            loop.execute(() -> {
                stopping = true;
                if (heartbeat != null) {
                    heartbeat.cancel(false);
                }
                Connection c = conn;
                if (c == null || !c.isOpen()) {
                    left.complete(null);
                    return;
                }
                for (QueueState q : queues.values()) {
                    q.owned = false;
                    if (q.locked) {
                        c.send(unlockRequest(q), clientConfig.requestTimeoutMs(), "UNLOCK_QUEUE " + q.key, (r, t) -> { });
                    }
                }
                c.send(Command.builder().code(RequestCode.LEAVE_GROUP).header(Headers.GROUP, config.group())
                        .header(Headers.CLIENT_ID, config.clientId()), clientConfig.requestTimeoutMs(), "LEAVE_GROUP",
                        (r, t) -> left.complete(null));
            });
            try {
                left.get(clientConfig.requestTimeoutMs(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warn("group {}: leave not confirmed: {}", config.group(), e.toString());
            }
        } finally {
            loop.execute(() -> {
                stopping = true;
                if (conn != null) {
                    conn.close();
                }
            });
            client.forget(this);
        }
    }

    // ---- event loop ---------------------------------------------------------------------------

    private void heartbeat() {
        Connection c = conn;
        if (stopping || c == null || !c.isOpen() || rejoining) {
            return;
        }
        long sent = System.nanoTime();
        c.send(Command.builder().code(RequestCode.GROUP_HEARTBEAT).header(Headers.GROUP, config.group())
                .header(Headers.CLIENT_ID, config.clientId()), clientConfig.requestTimeoutMs(), "GROUP_HEARTBEAT", (r, t) -> {
                    if (t != null || stopping) {
                        return; // no answer in time closed the connection: connectionLost joins again on a new one
                    }
                    if (r.status() == Status.OK) {
                        boolean lapsed = config.orderly() && sessionTimeoutNanos > 0 && System.nanoTime() - lockLeaseUntil > 0;
                        renewLease(r, sent);
                        if (lapsed) {
                            // messages were skipped while the lease was out: read every queue again from its committed offset
                            LOG.warn("group {}: {} went {} ms without an answered heartbeat; re-reading its queues from the committed offsets",
                                    config.group(), config.clientId(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent));
                            for (QueueState q : queues.values()) {
                                restart(q);
                            }
                        }
                        apply(r);
                    } else if (r.status() == Status.NOT_FOUND) {
                        LOG.info("group {}: member {} unknown to the broker (session expired or broker restarted); joining again",
                                config.group(), config.clientId());
                        rejoin();
                    } else {
                        LOG.warn("group {}: heartbeat {} {}", config.group(), r.status(), r.message());
                    }
                });
    }

    private void rejoin() {
        Connection c = conn;
        if (stopping || c == null || !c.isOpen() || rejoining) {
            return;
        }
        rejoining = true;
        long sent = System.nanoTime();
        c.send(joinRequest(), clientConfig.requestTimeoutMs(), "JOIN_GROUP", (r, t) -> {
            rejoining = false;
            if (t == null && r.status() == Status.OK && !stopping) {
                renewLease(r, sent);
                apply(r);
            } else if (t == null) {
                LOG.warn("group {}: join {} {}", config.group(), r.status(), r.message());
            }
        });
    }

    /** Follows an assignment (JOIN_GROUP / GROUP_HEARTBEAT response): stops lost queues, starts new ones. */
    private void apply(Command r) {
        generation = FerryClient.number(r, Headers.GENERATION);
        Map<String, QueueState> assigned = new HashMap<>();
        for (String line : StandardCharsets.UTF_8.decode(r.body()).toString().split("\n")) {
            String[] p = line.trim().split(" ");
            if (p.length == 3) {
                QueueState q = new QueueState(p[0], Integer.parseInt(p[1]), Long.parseLong(p[2]));
                assigned.put(q.key, q);
            }
        }
        for (QueueState q : List.copyOf(queues.values())) {
            QueueState now = assigned.get(q.key);
            if (now == null || now.since != q.since) {
                q.owned = false;
                queues.remove(q.key);
                if (q.locked) {
                    revokedLocked.add(q);
                }
                LOG.debug("group {}: {} no longer reads {}", config.group(), config.clientId(), q.key);
            }
        }
        for (QueueState q : assigned.values()) {
            if (!queues.containsKey(q.key)) {
                q.assignment = assignments.merge(q.key, 1, Integer::sum);
                if (config.orderly() && q.assignment > 1) {
                    // an earlier state of this queue may still hold its lock (its unlock is skipped now that it
                    // came back): this one counts as holding it, so losing it again unlocks (it locks anew first)
                    q.locked = true;
                }
                queues.put(q.key, q);
                start(q);
            }
        }
        assignmentKnown = true;
    }

    /**
     * Polling thread, at the start of a poll: unlocks the queues taken away before it, on the event
     * loop, behind the acks this thread sent for the batches it handled (the loop runs one thread's
     * tasks in order). Taken here, not when the loop gets to the task: a queue taken away in
     * between, while this poll's batch is handled, would be unlocked ahead of that batch's acks; the
     * broker refuses acks once the lock is gone, and the next owner, locking then, would read the
     * batch again from the committed offset, after it was handled (an orderly queue handled out of
     * order). Such a queue waits for the next poll.
     */
    private void unlockRevoked() {
        List<QueueState> revoked = new ArrayList<>();
        for (QueueState q; (q = revokedLocked.poll()) != null; ) {
            revoked.add(q);
        }
        if (revoked.isEmpty()) {
            return;
        }
        loop.execute(() -> {
            Connection c = conn;
            for (QueueState q : revoked) {
                // unless it came back (even if taken away again since: its new state's acks may still be on the
                // way; that state counts as locked, so its own revocation unlocks)
                if (assignments.getOrDefault(q.key, 0) != q.assignment || stopping) {
                    continue;
                }
                if (c == null || !c.isOpen()) {
                    revokedLocked.add(q); // not connected (a reconnect under way): the next poll tries again
                    continue;
                }
                c.send(unlockRequest(q), clientConfig.requestTimeoutMs(), "UNLOCK_QUEUE " + q.key, (r, t) -> {
                    if (t != null && !stopping) {
                        revokedLocked.add(q); // lost with the connection, or timed out: the next poll tries again
                    }
                });
            }
        });
    }

    private Command.Builder unlockRequest(QueueState q) {
        return Command.builder().code(RequestCode.UNLOCK_QUEUE).header(Headers.GROUP, config.group())
                .header(Headers.CLIENT_ID, config.clientId()).header(Headers.TOPIC, q.topic).header(Headers.QUEUE_ID, q.queueId);
    }

    /**
     * Locks (orderly), reads the committed offset, then fetches. A {@link #restart} (it bumps the
     * epoch) ends a start under way: its lock and offset answers go no further, so a queue is never
     * read by two chains at once (both would fetch at the new epoch, and an orderly queue could be
     * handled twice and out of order).
     */
    private void start(QueueState q) {
        Connection c = conn;
        if (stopping || !q.owned || c == null || !c.isOpen()) {
            return;
        }
        int epoch = q.epoch;
        if (config.orderly() && !q.lockGranted) {
            q.locked = true;
            c.send(Command.builder().code(RequestCode.LOCK_QUEUE).header(Headers.GROUP, config.group())
                    .header(Headers.CLIENT_ID, config.clientId()).header(Headers.GENERATION, generation).header(Headers.TOPIC, q.topic)
                    .header(Headers.QUEUE_ID, q.queueId), clientConfig.requestTimeoutMs(), "LOCK_QUEUE " + q.key, (r, t) -> {
                        if (t == null && r.status() == Status.OK) {
                            // if the queue was lost meanwhile, its loss queued the unlock (locked was set)
                            if (q.epoch == epoch) { // else restarted meanwhile: the restart asks again
                                q.lockGranted = true;
                                start(q);
                            }
                        } else if (q.epoch == epoch) {
                            later(q); // LOCKED: the previous owner still works on it; FENCED: a heartbeat will tell
                        }
                    });
            return;
        }
        long readGeneration = generation; // as heard before the read's GET_OFFSET: a reset after it fences the read's commits
        c.send(Command.builder().code(RequestCode.GET_OFFSET).header(Headers.TOPIC, q.topic).header(Headers.QUEUE_ID, q.queueId)
                .header(Headers.GROUP, offsetGroup), clientConfig.requestTimeoutMs(), "GET_OFFSET " + q.key, (r, t) -> {
                    if (q.epoch != epoch) {
                        return; // restarted meanwhile: the restart's own start goes on
                    }
                    if (t != null || r.status() != Status.OK) {
                        later(q);
                        return;
                    }
                    q.readGeneration = readGeneration;
                    long committed = FerryClient.number(r, Headers.OFFSET);
                    long min = FerryClient.number(r, Headers.MIN_OFFSET);
                    long max = FerryClient.number(r, Headers.MAX_OFFSET);
                    boolean latest = config.startFrom() == StartPosition.LATEST || config.startFrom() == StartPosition.COMMITTED_ELSE_LATEST;
                    // a retry queue without a position starts at its beginning whatever startFrom says: its copies are this
                    // group's own, made for messages it failed (a member that crashed before committing one must not skip them)
                    boolean retry = q.topic.startsWith("%RETRY%");
                    q.fetchOffset = committed >= 0 ? Consumer.fromCommitted(LOG, "group " + config.group(), q.key, committed, min, max)
                            : latest && !retry ? max : min;
                    q.committed = committed;
                    q.readStart = q.fetchOffset;
                    q.started = true;
                    fetch(q);
                });
    }

    /**
     * Reads {@code q} again from its committed offset, locking it first (if we still hold the lock,
     * losing the queue must still release it, so 'locked' stays); what was fetched before is dropped.
     */
    private void restart(QueueState q) {
        q.caughtUp = false;
        q.lockGranted = false;
        q.started = false;
        q.epoch++;
        later(q);
    }

    /** The broker answered a JOIN_GROUP or heartbeat sent at {@code sentNanos}: the member's locks hold for a while more. */
    private void renewLease(Command r, long sentNanos) {
        String timeout = r.header(Headers.SESSION_TIMEOUT_MS);
        if (timeout != null) {
            sessionTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(timeout));
        }
        if (sessionTimeoutNanos > 0) {
            lockLeaseUntil = sentNanos + sessionTimeoutNanos * 2 / 3;
        }
    }

    private void later(QueueState q) {
        int epoch = q.epoch;
        loop.schedule(() -> {
            if (q.owned && queues.get(q.key) == q && q.epoch == epoch) {
                start(q);
            }
        }, Math.min(config.retryBackoffMs(), config.heartbeatIntervalMs()), TimeUnit.MILLISECONDS);
    }

    private void fetch(QueueState q) {
        Connection c = conn;
        if (stopping || !q.owned || !q.started || c == null || !c.isOpen()) {
            return;
        }
        long offset = q.fetchOffset;
        int epoch = q.epoch;
        long fetchGeneration = generation;
        Command.Builder b = Command.builder().code(RequestCode.FETCH).header(Headers.TOPIC, q.topic).header(Headers.QUEUE_ID, q.queueId)
                .header(Headers.OFFSET, offset).header(Headers.MAX_MESSAGES, config.maxFetchMessages())
                .header(Headers.MAX_WAIT_MS, config.maxWaitMs()).header(Headers.GROUP, config.group())
                .header(Headers.CLIENT_ID, config.clientId()).header(Headers.GENERATION, fetchGeneration);
        if (!config.tags().isEmpty()) {
            b.header(Headers.TAGS, config.tags());
        }
        if (!config.sql().isEmpty()) {
            b.header(Headers.SQL, config.sql());
        }
        c.send(b, config.maxWaitMs() + clientConfig.requestTimeoutMs(), "FETCH " + q.key, (r, t) -> {
            if (stopping || !q.owned || q.epoch != epoch) {
                return;
            }
            if (t != null) {
                // a timeout closed the connection (Connection.sweep), and a lost connection restarts every queue once it is
                // back; one still open failed here (the request could not be encoded): try again
                if (c.isOpen()) {
                    loop.schedule(() -> {
                        if (q.epoch == epoch) {
                            fetch(q);
                        }
                    }, config.retryBackoffMs(), TimeUnit.MILLISECONDS);
                }
                return;
            }
            try {
                fetched(q, epoch, offset, fetchGeneration, r);
            } catch (RuntimeException e) {
                // an answer this client cannot read (a header missing or malformed): asked again later, never a silent stop
                LOG.warn("group {}: FETCH {}: {}; fetching again in 1 s", config.group(), q.key, e.getMessage());
                loop.schedule(() -> {
                    if (q.epoch == epoch) {
                        fetch(q);
                    }
                }, Math.max(1_000, config.retryBackoffMs()), TimeUnit.MILLISECONDS);
            }
        });
    }

    /** Handles a FETCH answer for {@code q} (fetched from {@code offset}); an unreadable answer throws. */
    private void fetched(QueueState q, int epoch, long offset, long generation, Command r) {
        switch (r.status()) {
            case OK -> {
                q.fetchOffset = FerryClient.number(r, Headers.NEXT_OFFSET);
                if (broadcasting && r.bodyLength() == 0 && r.messages().isEmpty() && q.fetchOffset > offset) {
                    Skipped s = q.skipped; // no message, yet past offset: the tag filter skipped these (see skipFiltered)
                    q.skipped = s != null && s.epoch() == epoch && s.to() == offset ? new Skipped(epoch, s.from(), q.fetchOffset)
                            : new Skipped(epoch, offset, q.fetchOffset);
                }
                boolean brought = r.bodyLength() > 0 || !r.messages().isEmpty();
                // Caught up: nothing new, and the answer's next offset is the queue's end as the broker read it. Not "the next
                // offset did not move": a filter's answer skips offsets without a message, and on a queue whose new messages
                // it skips each of them woke the long poll and moved it, so no answer ever left it unmoved.
                String end = r.header(Headers.MAX_OFFSET);
                q.caughtUp = !brought && (end == null ? q.fetchOffset == offset : q.fetchOffset >= Long.parseLong(end));
                if (brought) {
                    ready.add(new Fetched(q, epoch, offset, generation, r, null)); // the next FETCH is sent when this batch is polled
                } else if (config.maxWaitMs() < Consumer.MIN_IDLE_REFETCH_MS && q.fetchOffset == offset) {
                    loop.schedule(() -> { // nothing new and (almost) no long poll: do not ask again at once
                        if (q.epoch == epoch) {
                            fetch(q);
                        }
                    }, Consumer.MIN_IDLE_REFETCH_MS, TimeUnit.MILLISECONDS);
                } else {
                    fetch(q);
                }
            }
            case OFFSET_OUT_OF_RANGE -> {
                long min = FerryClient.number(r, Headers.MIN_OFFSET);
                q.fetchOffset = offset < min ? min : FerryClient.number(r, Headers.MAX_OFFSET);
                // as the plain Consumer: below min, retention deleted messages before this member read them
                LOG.warn("group {}: FETCH {}: offset {} out of range [{}, {}]; moving to {}", config.group(), q.key, offset, min,
                        r.header(Headers.MAX_OFFSET), q.fetchOffset);
                q.caughtUp = false;
                fetch(q);
            }
            case FENCED -> {
                LOG.debug("group {}: {} fenced on {}: {}", config.group(), config.clientId(), q.key, r.message());
                restart(q);
                heartbeat();
            }
            default -> {
                // BUSY or TIMEOUT: asked again after the backoff. Any other status would come again for the same FETCH
                // (a malformed tag expression, a deleted topic): poll reports it, as the plain Consumer's does, and the
                // queue is asked again every second at most, in case it was a passing state of the broker
                FerryException e = FerryException.broker(r.status(), "FETCH " + q.key, r.message());
                long backoff = config.retryBackoffMs();
                if (e.retryable()) {
                    LOG.debug("group {}: {}", config.group(), e.getMessage());
                } else {
                    backoff = Math.max(1_000, backoff);
                    if (q.errorQueued.compareAndSet(false, true)) {
                        ready.add(new Fetched(q, epoch, offset, generation, null, e));
                    }
                }
                loop.schedule(() -> {
                    if (q.epoch == epoch) {
                        fetch(q);
                    }
                }, backoff, TimeUnit.MILLISECONDS);
            }
        }
    }

    private void connectionLost() {
        if (stopping) {
            return;
        }
        if (!disconnected) {
            // said once, not at each attempt: before, a member whose broker stopped fell silent (ferry consume just
            // printed nothing more and ended at its timeout, "consumed N", exit 0)
            disconnected = true;
            LOG.warn("group {}: lost the connection to {}:{} (broker stopped or unreachable); reconnecting every {} ms",
                    config.group(), clientConfig.host(), clientConfig.port(), config.retryBackoffMs());
        }
        if (config.orderly()) {
            // The lease ends now: nothing handled from here on can be acked (the acks fail), and the locks may be gone
            // already (a broker restart forgets them all), so a member that is back before us may hold our queues while we
            // still worked through the batch in hand: one queue handled by two members at once (RmqScenariosTest). The
            // queues are read again from the committed offsets once the member has joined again.
            lockLeaseUntil = System.nanoTime();
        }
        loop.schedule(() -> Connection.open(client.transport(), loop, clientConfig, codec).whenComplete((c, t) -> loop.execute(() -> {
            if (t != null) {
                connectionLost();
                return;
            }
            if (stopping) {
                c.close();
                return;
            }
            conn = c;
            c.onClose(this::connectionLost);
            disconnected = false;
            LOG.info("group {}: connected to {}:{} again; joining the group again", config.group(), clientConfig.host(), clientConfig.port());
            for (QueueState q : queues.values()) {
                q.owned = false;
                if (q.locked) {
                    revokedLocked.add(q); // the broker keeps our locks (and heartbeats renew them all): a queue not given back is unlocked
                }
            }
            queues.clear();
            rejoin();
        })), config.retryBackoffMs(), TimeUnit.MILLISECONDS);
    }

    private static String key(String topic, int queueId) {
        return topic + "/" + queueId;
    }
}
