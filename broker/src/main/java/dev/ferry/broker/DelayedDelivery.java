package dev.ferry.broker;

import dev.ferry.log.AppendResult;
import dev.ferry.log.FlushNotConfirmedException;
import dev.ferry.log.InvalidMessageException;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageFlags;
import dev.ferry.log.MessageStore;
import dev.ferry.log.OffsetOutOfRangeException;
import dev.ferry.log.ReadResult;
import dev.ferry.log.StoredMessage;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delayed (scheduled) messages, in the manner of RocketMQ 5's timer: a message with a future
 * {@code deliverAt} is stored at once, durably, in the internal topic {@value #TOPIC} (queue 0,
 * flag {@link MessageFlags#DELAYED}, its destination in the properties {@value #REAL_TOPIC} and
 * {@value #REAL_QUEUE_ID}, its time in {@value #DELIVER_AT}); and the record's tag-hash field,
 * copied into the schedule topic's offset index, holds {@code deliverAt}. So the schedule
 * topic's index <em>is</em> the on-disk time index: 20 bytes per message, read without touching
 * the records. In memory a {@link TimerIndex} holds (deliverAt, offset) pairs of the pending
 * ones; {@link DeliveredLog} records, one bit per message, which were delivered.
 *
 * <p>One delivery thread takes due entries in (deliverAt, offset) order and re-appends each to its
 * real topic and queue (the queue as sent, unless the topic was created again with fewer queues
 * meanwhile: see {@link QueueChoice}; body, tags, keys, properties, born time and host kept; DELAYED cleared;
 * property {@value #SCHEDULE_ID} added, the schedule message's id), marks it delivered, then wakes
 * the long polls of that queue.
 *
 * <p><b>Retention.</b> The schedule records live in the commit log, whose retention deletes whole
 * segments by age and size, and a message may be due {@code maxDelayMs} (30 days) ahead, far past
 * the default 72 h. So the broker gives the store a retention floor, {@link #retentionFloor}: the
 * position of the lowest schedule record not yet delivered. Retention deletes only segments below
 * it, and a delayed message (a consumer group's retry too) is never deleted before it is delivered.
 * The price: while one waits, the commit log after it (every topic's records) stays on disk, which
 * retention's warning says.
 *
 * <p><b>Restart.</b> Pending = schedule offsets from the delivered watermark to the topic's end
 * whose bit is clear, read from the index (no record is decoded). Overdue ones are delivered at
 * once. Exactly once for a process crash: the one message whose re-append may have happened
 * without its bit ({@link DeliveredLog#inFlight()}) is looked for by its {@value #SCHEDULE_ID}
 * among the last {@value #IN_FLIGHT_SEARCH} messages of its target queue before it is delivered
 * again (not only the last: other producers may append to the queue between the copy and its bit).
 * After a machine crash under ASYNC flush the bit and the re-appended record are lost together or
 * kept together as far as the page cache made it to disk; a duplicate is possible there and is
 * counted ({@link #duplicatesAvoided} counts the in-flight hits).
 *
 * <p><b>Thread safety.</b> {@link #schedule} and {@link #scheduled} may be called from any thread;
 * the index is guarded by {@code lock}, the delivered log is the delivery thread's own.
 */
final class DelayedDelivery implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DelayedDelivery.class);

    static final String TOPIC = "%SCHEDULE%";
    static final String REAL_TOPIC = "%REAL_TOPIC";
    static final String REAL_QUEUE_ID = "%REAL_QID";
    static final String DELIVER_AT = "%DELIVER_AT";
    /** Property of a delivered message: the id of its record in the schedule topic. */
    static final String SCHEDULE_ID = "%SCHEDULE_ID";
    /** Longest the thread sleeps without looking at the clock (an injected clock may jump). */
    private static final long MAX_SLEEP_MS = 50;
    private static final int LOAD_CHUNK = 65_536;
    /**
     * How many of its target queue's last messages a restart searches for the copy of the delivery
     * in flight at a crash. Between the copy's append and its bit are a few stores into a mapping,
     * or, once every {@code bitsPerChunk} deliveries, the creation of a bitmap chunk (a 1 MiB write
     * and an fsync): room for a few appends of other producers, or thousands. The search reads
     * properties only; 10,000 take milliseconds, once, at a start after a crash.
     */
    static final int IN_FLIGHT_SEARCH = 10_000;

    /** Called after a delivery with the target queue and its new end. */
    interface Arrivals {
        void arrived(String topic, int queueId, long end);
    }

    /** Called on the delivery thread with a copy's topic before the copy is stored there. */
    interface BeforeDelivery {
        void delivering(String topic);
    }

    /**
     * The queue of {@code topic} that a message sent for queue {@code queueId} is stored in now:
     * {@code queueId} itself unless the topic was deleted and created again with fewer queues
     * since the message was sent ({@link Broker#landingQueue}). No side effects: a restart asks it
     * again to find the copy in flight at a crash.
     */
    interface QueueChoice {
        int queue(String topic, int queueId);
    }

    private final MessageStore store;
    private final Clock clock;
    private final Arrivals arrivals;
    private final BeforeDelivery beforeDelivery;
    private final QueueChoice queueChoice;
    private final DeliveredLog delivered;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when an entry is added that may be due before the thread's planned wake-up. */
    private final Condition changed = lock.newCondition();
    private final TimerIndex index;
    private final Thread thread;
    private final AtomicLong deliveredCount = new AtomicLong();
    private long duplicatesAvoided;
    /** How often the delivered bitmap is forced to disk when something was delivered. */
    private static final long FORCE_INTERVAL_MS = 1_000;
    private final java.util.concurrent.ScheduledExecutorService forcer;
    /** {@link #deliveredCount} at the last force; forcer thread only. */
    private long forcedAt;
    /** Longest wait before a failed delivery is tried again; also the interval of its stack traces. */
    private static final long MAX_RETRY_MS = 60_000;
    /** Failed deliveries by schedule offset, for their back-off; delivery thread only. */
    private final Map<Long, Integer> failures = new HashMap<>();
    /** When a failed delivery's stack trace was last logged; delivery thread only. */
    private long lastStackTraceMs = Long.MIN_VALUE / 2;
    /** The schedule offset whose copy was appended but whose bit is not set yet (-1: none); delivery thread only. */
    private long appendedUnmarked = -1;
    /** When {@link #appendedUnmarked}'s bit is tried again; delivery thread only. */
    private long bitRetryAt;
    /** Set by close(); volatile so the delivery loop sees it without the lock. */
    private volatile boolean stopping;

    DelayedDelivery(MessageStore store, Path dir, Clock clock, Arrivals arrivals, BeforeDelivery beforeDelivery,
                    QueueChoice queueChoice, long bucketMs, long bitsPerChunk) {
        this.store = store;
        this.clock = clock;
        this.arrivals = arrivals;
        this.beforeDelivery = beforeDelivery;
        this.queueChoice = queueChoice;
        Opened opened = new Opened();
        try {
            this.delivered = opened.add(new DeliveredLog(dir, bitsPerChunk));
            this.index = new TimerIndex(bucketMs);
            load();
        } catch (RuntimeException | Error e) {
            opened.closeAfter(e);
            throw e;
        }
        this.thread = new Thread(this::run, "ferry-delayed-delivery");
        thread.setDaemon(true);
        thread.start();
        // the bitmap is forced apart from the delivery thread: an fsync takes milliseconds (far
        // more while the disk is busy), which made deliveries due meanwhile late
        this.forcer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ferry-delayed-delivery-force");
            t.setDaemon(true);
            return t;
        });
        forcer.scheduleWithFixedDelay(this::forceIfDelivered, FORCE_INTERVAL_MS, FORCE_INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    private void forceIfDelivered() {
        long count = deliveredCount.get();
        if (count != forcedAt) {
            try {
                // the re-appended copies first: a bit on disk whose copy is not (ASYNC flush)
                // would lose the message in a machine crash. Bits set while this runs may still
                // reach the disk before their copies: a window of one commit-log flush.
                store.forceLog();
                delivered.force();
                forcedAt = count;
            } catch (RuntimeException e) {
                LOG.warn("cannot force the delayed-delivery state; will retry: {}", e.toString());
            }
        }
    }

    /** The schedule-topic form of {@code m}, due at {@code deliverAt}. */
    static LogMessage schedule(LogMessage m, long deliverAt) {
        return m.toBuilder(TOPIC, 0)
                .flags(m.flags() | MessageFlags.DELAYED)
                .internalProperty(REAL_TOPIC, m.topic())
                .internalProperty(REAL_QUEUE_ID, Integer.toString(m.queueId()))
                .internalProperty(DELIVER_AT, Long.toString(deliverAt))
                .tagHash(deliverAt)
                .build();
    }

    /** Registers a stored schedule record (after its append returned). */
    void scheduled(AppendResult r, long deliverAt) {
        lock.lock();
        try {
            index.add(deliverAt, r.queueOffset());
            changed.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The store's retention floor for the delayed messages: the commit-log position of the lowest
     * schedule record not yet delivered, {@link Long#MAX_VALUE} if there is none. Retention keeps it
     * and everything after it: the pending messages, the retries' copies, and the one in flight,
     * whose record a restart reads to look for its copy. Called by retention under the store's
     * append lock (see {@link MessageStore#open(dev.ferry.log.LogConfig, java.util.function.LongSupplier, String)}):
     * no schedule record is appended meanwhile, so "none pending" holds for the whole pass.
     */
    long retentionFloor() {
        // below the topic's minimum nothing is left to keep (an older version's retention deleted it)
        long lowest = Math.max(delivered.lowWatermark(), store.minOffset(TOPIC, 0));
        if (lowest >= store.nextOffset(TOPIC, 0)) {
            return Long.MAX_VALUE;
        }
        long[] physical = new long[1];
        store.readIndex(TOPIC, 0, lowest, 1, physical, new int[1], new long[1]);
        return physical[0];
    }

    long pending() {
        lock.lock();
        try {
            return index.size();
        } finally {
            lock.unlock();
        }
    }

    long deliveredCount() {
        return deliveredCount.get();
    }

    long duplicatesAvoided() {
        return duplicatesAvoided;
    }

    /** Wakes the delivery thread (tests that move an injected clock). */
    void wake() {
        lock.lock();
        try {
            changed.signal();
        } finally {
            lock.unlock();
        }
    }

    private void load() {
        long t0 = System.nanoTime();
        long inFlight = delivered.inFlight();
        if (inFlight >= 0 && !delivered.isDelivered(inFlight) && alreadyAppended(inFlight)) {
            delivered.markDelivered(inFlight);
            duplicatesAvoided++;
        }
        delivered.setInFlight(-1);
        // schedule records deleted before retention had a floor (an older version) are never due
        delivered.forgetBelow(store.minOffset(TOPIC, 0));
        long from = delivered.lowWatermark();
        long end = store.nextOffset(TOPIC, 0);
        long[] phys = new long[LOAD_CHUNK];
        int[] sizes = new int[LOAD_CHUNK];
        long[] times = new long[LOAD_CHUNK];
        long loaded = 0;
        for (long off = from; off < end; ) {
            int n;
            try {
                n = store.readIndex(TOPIC, 0, off, (int) Math.min(LOAD_CHUNK, end - off), phys, sizes, times);
            } catch (OffsetOutOfRangeException e) {
                // gone meanwhile (which the broker's retention floor, everything during the load, rules out): none to deliver
                delivered.forgetBelow(e.earliest());
                off = e.earliest();
                continue;
            }
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                if (!delivered.isDelivered(off + i)) {
                    index.add(times[i], off + i);
                    loaded++;
                }
            }
            off += n;
        }
        if (end > 0) {
            LOG.info("delayed messages: {} pending loaded from schedule offsets {}..{} in {} ms", loaded, from, end,
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /**
     * True if a copy of the message at schedule offset {@code off} (its {@value #SCHEDULE_ID}) is
     * among the last {@value #IN_FLIGHT_SEARCH} messages of its target queue. Reads properties
     * only, through the store's filtered read.
     */
    private boolean alreadyAppended(long off) {
        Optional<StoredMessage> s = store.readMessage(TOPIC, 0, off);
        if (s.isEmpty()) {
            return false;
        }
        StoredMessage m = s.get();
        String topic = m.properties().get(REAL_TOPIC);
        int queue = queueChoice.queue(topic, Integer.parseInt(m.properties().getOrDefault(REAL_QUEUE_ID, "0")));
        String id = m.messageId();
        long end = store.nextOffset(topic, queue);
        for (long from = Math.max(end - IN_FLIGHT_SEARCH, store.minOffset(topic, queue)); from < end; ) {
            // a filtered read examines at most about 1,024 entries, or 10 ms of them: one or more reads
            try (ReadResult r = store.read(topic, queue, from, IN_FLIGHT_SEARCH, Integer.MAX_VALUE, null,
                    p -> id.equals(p.get(SCHEDULE_ID)))) {
                if (r.messageCount() > 0) {
                    return true;
                }
                from = r.nextOffset();
            } catch (RuntimeException e) {
                // a record whose properties cannot be read (damaged): not the copy; the broker must still start
                LOG.warn("looking for the copy of delayed message {} in {}/{} at offset {}: {}; going on after it", id, topic, queue,
                        from, e.toString());
                from++;
            }
        }
        return false;
    }

    private void run() {
        long[] due = new long[2];
        while (!stopping) {
            if (appendedUnmarked >= 0 && !markPending()) {
                continue; // nothing else is delivered until that bit is set: see markPending
            }
            boolean got;
            lock.lock();
            try {
                long now = clock.millis();
                got = index.pollDue(now, due);
                if (!got) {
                    long next = index.nextDue(now);
                    long sleep = Math.min(MAX_SLEEP_MS, Math.max(1, next - now));
                    changed.await(sleep, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            if (got) {
                try {
                    deliver(due[1]);
                    if (!failures.isEmpty()) {
                        failures.remove(due[1]);
                    }
                } catch (RuntimeException | Error e) { // an Error too (a SIGBUS on a full disk): the thread must not die
                    if (stopping) {
                        return;
                    }
                    if (appendedUnmarked == due[1]) {
                        bitFailed(e); // appended: only its bit is tried again
                    } else {
                        retryLater(due[1], e);
                    }
                }
            }
        }
    }

    /**
     * Tries again to set the bit of the message whose copy was appended but whose bit failed
     * ({@link #appendedUnmarked}); returns true once it is set. Until then nothing else is
     * delivered: the state file's inFlight field, which a restart uses to tell whether a copy was
     * appended, holds one offset, and another delivery would overwrite it (and, where the bits
     * cannot be written, fail the same way). Messages due meanwhile wait in the index.
     */
    private boolean markPending() {
        long now = clock.millis();
        if (now < bitRetryAt) {
            lock.lock();
            try {
                changed.await(Math.min(MAX_SLEEP_MS, bitRetryAt - now), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                stopping = true;
            } finally {
                lock.unlock();
            }
            return false;
        }
        try {
            delivered.markDelivered(appendedUnmarked);
            delivered.setInFlight(-1);
            failures.remove(appendedUnmarked);
            appendedUnmarked = -1;
            return true;
        } catch (RuntimeException | Error e) {
            if (!stopping) {
                bitFailed(e);
            }
            return false;
        }
    }

    private void bitFailed(Throwable e) {
        bitRetryAt = clock.millis() + backoff(appendedUnmarked, e, "its copy is delivered, its delivered bit could not be set");
    }

    /** Puts a delivery that failed back in the index, after {@link #backoff}. */
    private void retryLater(long off, Throwable e) {
        long at = clock.millis() + backoff(off, e, "could not be delivered");
        lock.lock();
        try {
            index.add(at, off);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Counts a failure of {@code off}, logs it (with a stack trace at most once a minute, whatever
     * the number of messages failing) and returns the wait before the next try: 1 s, doubling up
     * to {@value #MAX_RETRY_MS} ms.
     */
    private long backoff(long off, Throwable e, String what) {
        int n = failures.merge(off, 1, Integer::sum);
        long delay = Math.min(MAX_RETRY_MS, 1_000L << Math.min(n - 1, 16));
        long now = clock.millis();
        if (now - lastStackTraceMs >= MAX_RETRY_MS) {
            lastStackTraceMs = now;
            LOG.error("delayed message at schedule offset {} {} (attempt {}); retrying in {} ms", off, what, n, delay, e);
        } else {
            LOG.warn("delayed message at schedule offset {} {} (attempt {}); retrying in {} ms: {}", off, what, n, delay, e.toString());
        }
        return delay;
    }

    private void deliver(long off) {
        if (delivered.isDelivered(off)) {
            return;
        }
        Optional<StoredMessage> found = store.readMessage(TOPIC, 0, off);
        if (found.isEmpty()) {
            LOG.warn("delayed message at schedule offset {} is gone from the commit log; skipping it", off);
            delivered.markDelivered(off);
            return;
        }
        if (!store.intact(found.get().physicalOffset())) {
            // damaged on disk (it fails its CRC32C): delivering it would store it again under a fresh checksum, as good data
            LOG.error("delayed message at schedule offset {} is damaged on disk (it fails its checksum); skipping it", off);
            delivered.markDelivered(off);
            return;
        }
        String topic = found.get().properties().get(REAL_TOPIC);
        beforeDelivery.delivering(topic);
        // chosen after beforeDelivery, which may have made the topic (a retry topic) again
        LogMessage copy = delivery(found.get(), queueChoice.queue(topic, Integer.parseInt(found.get().properties().get(REAL_QUEUE_ID))));
        delivered.setInFlight(off);
        AppendResult r;
        try {
            r = store.append(copy);
        } catch (InvalidMessageException e) {
            // refused for good (a limit lowered since it was stored): retrying would hold it, and the retention floor
            // with it, for ever
            LOG.error("delayed message at schedule offset {} cannot be delivered: {}; skipping it", off, e.getMessage());
            delivered.markDelivered(off);
            delivered.setInFlight(-1);
            return;
        } catch (FlushNotConfirmedException e) {
            // written (and readable) all the same: appending it again would deliver it twice
            LOG.warn("delayed message at schedule offset {} delivered, its flush not confirmed: {}", off, e.getMessage());
            r = e.written().get(0);
        }
        appendedUnmarked = off; // from here on, a failure retries only the bit
        deliveredCount.incrementAndGet();
        try {
            delivered.markDelivered(off);
            delivered.setInFlight(-1);
            appendedUnmarked = -1;
        } finally {
            // after the bit: the long polls it wakes read on this thread, and a crash between the copy and
            // its bit leaves a restart to search for the copy, among what other producers appended meanwhile
            arrivals.arrived(r.topic(), r.queueId(), r.queueOffset() + 1);
        }
    }

    /** The message to append to its real topic, in {@code queueId}, for the schedule record {@code s}. */
    private static LogMessage delivery(StoredMessage s, int queueId) {
        Map<String, String> props = new LinkedHashMap<>(s.properties()); // the delivered copy keeps their order
        String topic = props.remove(REAL_TOPIC);
        props.remove(REAL_QUEUE_ID);
        props.remove(DELIVER_AT);
        // a group's retry copy: its five retry properties were the broker's own (internal) in its schedule record, and
        // are again here (the stored record keeps no such mark); counted, the copy of a message at the property limits
        // would be refused, and the message lost. Only the broker writes to a retry topic through the schedule with
        // them as its own; a client's delayed SEND there had them counted in its record, so the copy still fits.
        Map<String, String> retry = new LinkedHashMap<>();
        if (GroupCoordinator.isRetryTopic(topic)) {
            for (String k : GroupCoordinator.RETRY_PROPERTIES) {
                String v = props.remove(k);
                if (v != null) {
                    retry.put(k, v);
                }
            }
        }
        LogMessage.Builder b = LogMessage.builder(topic, queueId, s.body())
                .flags(s.flags() & ~MessageFlags.DELAYED)
                .bornTimestamp(s.bornTimestamp())
                .bornHost(s.bornHost())
                .reconsumeTimes(s.reconsumeTimes())
                .properties(props)
                .internalProperty(SCHEDULE_ID, s.messageId());
        retry.forEach(b::internalProperty);
        if (!s.tags().isEmpty()) {
            b.tags(s.tags());
        }
        for (String k : s.keys()) {
            b.key(k);
        }
        return b.build();
    }

    @Override
    public void close() {
        stopping = true;
        forcer.shutdown();
        try {
            forcer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wake(); // not interrupt(): an interrupt would close the FileChannels the thread may be using
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        delivered.close();
    }
}
