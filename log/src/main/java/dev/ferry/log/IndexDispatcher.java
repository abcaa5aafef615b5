package dev.ferry.log;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the offset indexes and the key index a step behind the appender, on its own thread,
 * following the commit log in its order. For each record it appends, the appender hands over what
 * the record's entries need — its queue, queue offset, commit-log position, size and tag hash, the
 * same fields the record's header holds, and for a record with keys its topic, keys and store time
 * — through a ring of slots ({@link #add}, made visible with the log's end by {@link #publish}); the
 * dispatcher writes the entries. The appender only assigns queue offsets and claims key-index room,
 * and never writes an index entry. Recovery builds the same entries from the records themselves.
 *
 * <p>Key-index entries are written in the first loop of a pass, in slot (log) order, and their
 * slot's keys cleared, so a pass that fails after them and runs again writes them once. Writing
 * them on the appender had cost it about 270 ns per keyed record (a cache and TLB miss in the 4 MiB
 * slot table), most of a keyed append.
 *
 * <p><b>Why a thread of its own.</b> An index entry is 20 bytes written into the page of its queue's
 * index file. With many queues every append lands on another page: measured here, with 1,000 queues
 * of 100 B records the entry write cost the appender ~260 ns per record (a TLB and a cache miss on
 * the queue's page, in a VM whose page walks are nested), more than the rest of the append. The
 * dispatcher takes that off the appender and makes it cheaper: each pass takes every published
 * slot, sorts their entries by queue (a counting sort into run arrays) and writes each queue's
 * entries as one run, so a page is visited once per pass instead of once per record.
 *
 * <p><b>Why a counting sort.</b> Until session 18 a pass linked each queue's slots into a chain
 * and followed it. With 1,000 queues a chain's next slot lies 1,000 slots further on, so each
 * entry cost four dependent cache misses (the link and the three fields): half the dispatcher's
 * samples in a 1,000-queue run, and ~100 ns per record more than with 8 queues. The sort reads the
 * slots twice in order, and its scattered writes stay within the pass's runs.
 *
 * <p><b>Why slots and not the records' headers.</b> Reading each record's header back from the log
 * (its queue id, offset and tag hash, and the topic, on a second cache line) cost the dispatcher two
 * cache misses per 1 KiB record, as much CPU as 40 % of the appender's; the slots are written
 * sequentially, read back from cache, and cost the appender a few stores.
 *
 * <p><b>Visibility.</b> A queue's entries are readable once a pass has written them and moved the
 * queue's {@link OffsetIndex#indexedOffset()}. The thread runs a pass, then sleeps 5 ms (20 ms
 * after a pass over 256 queues or more) unless a quarter of the ring was published meanwhile, so
 * that under load passes are long. A
 * reader that asks for an offset the appender has assigned but no pass has indexed yet runs a pass
 * itself ({@link #awaitIndexed}), so a message is readable as soon as its append has returned,
 * without waiting for a thread to wake (tens of microseconds on this VM). An appender that finds the
 * ring full does the same.
 *
 * <p><b>Position.</b> {@link #position()} is the commit-log position up to which every record is
 * indexed; a pass ends at a published end, so it is never inside an append batch. The checkpoint
 * records it (recovery re-indexes from there after a crash) and retention deletes no segment the
 * dispatcher has not passed.
 *
 * <p><b>Failure.</b> An error in a pass (an index file that cannot be created) is logged and the
 * pass retried after a second (entries a failed pass published are skipped); a reader whose own pass
 * fails gets the error. Nothing is lost: the records are in the log, and recovery indexes them at
 * the next open if no pass could. While passes keep failing (a broken disk), reads of what is not
 * indexed fail, appends fail once the ring is full, and the checkpoint and retention stay where
 * the dispatcher stopped. Lookups by key wait for every record appended before them to be
 * indexed, so they fail too, and so do appends with keys once the last key file is full.
 *
 * <p><b>Thread safety.</b> {@link #reserveSlots}, {@link #add} and {@link #publish} are the
 * appender's (under the store's append lock). A pass runs under {@code passLock}, on the dispatcher
 * thread, a helping reader or the appender: the consumer's side of the ring, the pass fields of
 * {@link OffsetIndex}, the entry writes and {@code position} belong to the lock's holder (recovery
 * writes entries before the dispatcher exists). {@code published}, {@code consumed} and
 * {@code position} are read by anyone.
 */
final class IndexDispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexDispatcher.class);
    /** How long the thread sleeps when it has caught up. */
    private static final long IDLE_PARK_NS = 5_000_000L;
    /** How long it sleeps instead after a pass that wrote to at least {@link #MANY_QUEUES} queues. */
    private static final long MANY_QUEUES_IDLE_PARK_NS = 20_000_000L;
    /**
     * A pass over this many queues writes a few entries to each, a page (a TLB miss) and a cache
     * line or two for each: the thread sleeps longer after it, so that the next pass writes longer
     * runs. With 1,000 queues of 1 KiB records, a 20 ms sleep instead of 5 ms cut the dispatcher's
     * CPU by ~50 ns per record (PERFORMANCE.md, session 18).
     */
    private static final int MANY_QUEUES = 256;
    private static final long RETRY_PARK_NS = 1_000_000_000L;
    /** A reader gives up after an offset it waits for stays unpublished this long (the appender is stuck). */
    private static final long AWAIT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    private static final VarHandle PUBLISHED;
    private static final VarHandle CONSUMED;
    private static final VarHandle KEYED_END;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            PUBLISHED = lookup.findVarHandle(IndexDispatcher.class, "published", long.class);
            CONSUMED = lookup.findVarHandle(IndexDispatcher.class, "consumed", long.class);
            KEYED_END = lookup.findVarHandle(IndexDispatcher.class, "keyedEnd", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Thread thread;
    // the ring: slot s of sequence number n is n & mask; the appender writes slots below consumed + ring
    private final int mask;
    private final OffsetIndex[] slotQueue;
    private final long[] slotQueueOffset;
    private final long[] slotPhysical;
    private final int[] slotSize;
    private final long[] slotTagHash;
    // a keyed record's topic, keys and store time (the key index's fields the other slots lack); null
    // keys: none. The pass clears them once indexed, so a pass that runs again indexes them once
    private final String[] slotTopic;
    private final List<String>[] slotKeys;
    private final long[] slotStoreTimestamp;
    private final KeyIndex keys;
    /**
     * One past the sequence number of the last keyed slot: a pass over slots below reads no key
     * slots. Written by the appender (opaque: a whole long, no fence) before it publishes the slot.
     */
    @SuppressWarnings("unused") // through KEYED_END
    private long keyedEnd;
    /**
     * A pass's entries sorted by queue: each touched queue's entries lie together, in offset order,
     * from its {@code passStart}; a pass's only.
     */
    private final long[] runPhysical;
    private final int[] runSize;
    private final long[] runTagHash;
    /** Queues with slots in the current pass, in the order first seen. */
    private final OffsetIndex[] touched;
    /** Slots written; appender only. */
    private long added;
    /** Slots the consumer may read; the appender writes it with a release store. */
    private volatile long published;
    /** Slots indexed; written under {@code passLock} with a release store, read by the appender for room. */
    private volatile long consumed;
    /** The appender may write slots below it without checking {@code consumed} again; appender only. */
    private long room;
    /** How many queues the last pass wrote to; under {@code passLock}. */
    private int lastPassQueues;
    /** Runs passes one at a time, whichever thread runs them. */
    private final ReentrantLock passLock = new ReentrantLock();
    /** Every record below it is indexed; written under {@code passLock}, read by anyone. */
    private volatile long position;
    /** The thread's last pass failed with it (logged once until a pass succeeds); dispatcher thread only. */
    private Throwable failure;
    private volatile boolean stopping;
    /** Set by {@link #close}: see {@link #stopped()}. */
    private volatile boolean stopped;

    /**
     * @param position where the log ends (recovery indexed everything before it)
     * @param maxBatch the most records one append hands over at once: the ring holds at least twice that
     */
    @SuppressWarnings("unchecked")
    IndexDispatcher(long position, int maxBatch, KeyIndex keys) {
        int ring = Integer.highestOneBit(Math.max(256 * 1024, 2 * maxBatch) - 1) << 1;
        this.mask = ring - 1;
        this.slotQueue = new OffsetIndex[ring];
        this.slotQueueOffset = new long[ring];
        this.slotPhysical = new long[ring];
        this.slotSize = new int[ring];
        this.slotTagHash = new long[ring];
        this.slotTopic = new String[ring];
        this.slotKeys = new List[ring];
        this.slotStoreTimestamp = new long[ring];
        this.keys = keys;
        this.runPhysical = new long[ring];
        this.runSize = new int[ring];
        this.runTagHash = new long[ring];
        this.touched = new OffsetIndex[ring];
        this.room = ring;
        this.position = position;
        this.thread = new Thread(this::run, "ferry-index-dispatcher");
        thread.setDaemon(true);
        thread.start();
    }

    /** Commit-log position below which every record is indexed. */
    long position() {
        return position;
    }

    /**
     * Appender, before it writes {@code n} records: makes room for their slots, running passes
     * itself while the ring is full (every slot already added is published at this point).
     */
    void reserveSlots(int n) {
        while (added + n > room) {
            room = consumed + mask + 1;
            if (added + n > room && !help()) {
                room = consumed + mask + 1; // fresh under the lock: nothing left to index
                if (added + n > room) {
                    throw new LogException(n + " records do not fit the index ring of " + (mask + 1) + " slots");
                }
            }
        }
    }

    /**
     * Appender: hands over one written record, after {@link #reserveSlots}; readable once
     * {@link #publish}ed. A record with keys ({@code m.keys} not empty) also hands over its topic,
     * keys and store time for the key index, whose room {@link KeyIndex#claim} took.
     */
    void add(OffsetIndex q, long queueOffset, long physicalOffset, int size, LogMessage m, long storeTimestamp) {
        int s = (int) (added & mask);
        slotQueue[s] = q;
        slotQueueOffset[s] = queueOffset;
        slotPhysical[s] = physicalOffset;
        slotSize[s] = size;
        slotTagHash[s] = m.tagHash;
        if (!m.keys.isEmpty()) {
            slotTopic[s] = m.topic;
            slotKeys[s] = m.keys;
            slotStoreTimestamp[s] = storeTimestamp;
            KEYED_END.setOpaque(this, added + 1);
        }
        added++;
    }

    /** Appender, after the log's end was published: the slots added so far may be indexed. */
    void publish() {
        PUBLISHED.setRelease(this, added);
    }

    /**
     * Returns once {@code queueOffset} of {@code q} is indexed (the appender assigned it before the
     * caller asked). If it is not yet, the caller runs a pass itself (waiting first for one under
     * way on another thread). Throws {@link LogException} if the pass fails, the store closes, or
     * the offset stays unpublished for 30 s.
     */
    void awaitIndexed(OffsetIndex q, long queueOffset) {
        long since = 0;
        for (int idle = 0; q.indexedOffset() <= queueOffset; ) {
            if (help()) {
                idle = 0;
                since = 0;
            } else {
                // assigned but not yet published: the appender is between the two, under its lock
                since = since == 0 ? System.nanoTime() : since;
                checkWaiting(since);
                pause(idle++);
            }
        }
    }

    /** Returns once every record appended before the call is indexed (a flush, a close, a benchmark's end), helping as above. */
    void awaitAll() {
        long end = published;
        while (consumed < end) {
            if (!help()) {
                checkWaiting(System.nanoTime());
                Thread.onSpinWait(); // a pass under way elsewhere finished between the two reads
            }
        }
    }

    /** Runs a pass on the caller's thread if there is anything to index; returns true if it indexed something. */
    private boolean help() {
        passLock.lock();
        try {
            if (stopping) {
                throw new LogException("store closed while waiting for the offset index");
            }
            return pass();
        } catch (LogException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new LogException("cannot write the indexes at commit-log position " + position + ": " + e.getMessage(), e);
        } finally {
            passLock.unlock();
        }
    }

    private static void pause(int idle) {
        if (idle < 100) {
            Thread.onSpinWait();
        } else if (idle < 200) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(20_000L);
        }
    }

    private void checkWaiting(long since) {
        if (stopping) {
            throw new LogException("store closed while waiting for the offset index");
        }
        if (System.nanoTime() - since > AWAIT_TIMEOUT_NS) {
            throw new LogException("an assigned offset was not handed to the index for " + TimeUnit.NANOSECONDS.toSeconds(AWAIT_TIMEOUT_NS)
                    + " s (" + published + " slots published, " + consumed + " indexed)");
        }
    }

    private void run() {
        while (!stopping) {
            try {
                boolean more;
                long idle;
                passLock.lock();
                try {
                    // what was published during the pass waits for the next sleep too, unless the thread falls behind:
                    // passing it at once made passes short, and with many queues a short pass writes a page per entry
                    more = !stopping && pass() && published - consumed > (mask + 1) / 4;
                    idle = lastPassQueues >= MANY_QUEUES ? MANY_QUEUES_IDLE_PARK_NS : IDLE_PARK_NS;
                } finally {
                    passLock.unlock();
                }
                failure = null;
                if (!more) {
                    // caught up, or nearly: sleep, so that passes are long under load; a reader that cannot wait runs a pass itself
                    LockSupport.parkNanos(this, idle);
                }
            } catch (RuntimeException | Error e) {
                // the thread keeps going: without it checkpoints and retention would stall at its position
                if (failure == null) {
                    LOG.error("offset index dispatcher failed at commit-log position {}; retrying every second", position, e);
                }
                failure = e;
                LockSupport.parkNanos(this, RETRY_PARK_NS);
            }
        }
    }

    /**
     * One pass, under {@code passLock}: takes the published slots (at most the ring: a few
     * milliseconds of work), writes each queue's entries as one run and moves the queue's indexed
     * offset, then moves {@code consumed} and {@link #position}. Returns false if there was nothing
     * to do.
     */
    private boolean pass() {
        long from = consumed;
        long to = (long) PUBLISHED.getAcquire(this); // a published end: never inside a batch
        if (from >= to) {
            lastPassQueues = 0;
            return false;
        }
        int touchedCount = 0;
        boolean keyed = (long) KEYED_END.getOpaque(this) > from; // read after `published`, which the appender wrote after it
        try {
            // 1: in log order, key entries, and each queue's count (its offsets must follow on)
            for (long n = from; n < to; n++) {
                int s = (int) (n & mask);
                List<String> recordKeys = keyed ? slotKeys[s] : null;
                if (recordKeys != null) { // in log order, as the key index wants them
                    keys.add(slotTopic[s], recordKeys, slotPhysical[s], slotSize[s], slotStoreTimestamp[s]);
                    slotKeys[s] = null;
                    slotTopic[s] = null;
                }
                OffsetIndex q = slotQueue[s];
                long queueOffset = slotQueueOffset[s];
                boolean first = q.passCount == 0;
                long expected = first ? q.indexedOffset() : q.passNext;
                if (first && queueOffset < expected) {
                    continue; // indexed by an earlier pass that failed before it moved `consumed`
                }
                if (queueOffset != expected) {
                    throw new LogException("record at " + slotPhysical[s] + " has offset " + queueOffset + " of " + q.topic + "/"
                            + q.queueId + " (expected: " + expected + ")");
                }
                if (first) {
                    q.passFirst = queueOffset;
                    touched[touchedCount++] = q;
                }
                q.passCount++;
                q.passNext = queueOffset + 1;
            }
            // 2: each queue's run in the run arrays, in the order the queues were first seen
            int runEnd = 0;
            for (int t = 0; t < touchedCount; t++) {
                touched[t].passStart = runEnd;
                runEnd += touched[t].passCount;
            }
            // 3: each entry's fields to its place in its queue's run (reads in slot order, writes within the pass's runs)
            for (long n = from; n < to; n++) {
                int s = (int) (n & mask);
                OffsetIndex q = slotQueue[s];
                long queueOffset = slotQueueOffset[s];
                if (queueOffset >= q.passFirst) { // below it: skipped in 1
                    int r = q.passStart + (int) (queueOffset - q.passFirst);
                    runPhysical[r] = slotPhysical[s];
                    runSize[r] = slotSize[s];
                    runTagHash[r] = slotTagHash[s];
                }
            }
            // 4: each queue's run to its file, then its new end
            for (int t = 0; t < touchedCount; t++) {
                OffsetIndex q = touched[t];
                q.writeRun(q.passFirst, runPhysical, runSize, runTagHash, q.passStart, q.passCount);
                q.publishIndexed(q.passFirst + q.passCount);
            }
        } finally {
            lastPassQueues = touchedCount;
            for (int t = 0; t < touchedCount; t++) {
                touched[t].passCount = 0;
                touched[t].passFirst = Long.MAX_VALUE;
                touched[t] = null;
            }
        }
        int last = (int) ((to - 1) & mask);
        position = slotPhysical[last] + slotSize[last];
        CONSUMED.setRelease(this, to);
        return true;
    }

    /**
     * Stops the thread after the pass under way, and waits for a pass a reader may be running, so
     * that the files can be closed; call {@link #awaitAll} first to index everything.
     */
    @Override
    public void close() {
        stopping = true;
        LockSupport.unpark(thread);
        boolean passesOver = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
            if (passLock.tryLock(10, TimeUnit.SECONDS)) {
                passLock.unlock(); // passes check `stopping` under the lock: none runs after this
                passesOver = true;
            } else {
                LOG.warn("a pass of the offset index still runs after 10 s; closing anyway (index files stay mapped until GC)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the files stay mapped then: stopped() is false
        }
        if (thread.isAlive()) {
            LOG.warn("offset index dispatcher did not stop within 10 s");
        }
        stopped = passesOver && !thread.isAlive();
    }

    /**
     * True once {@link #close} has seen the thread end and no pass running: nothing writes the
     * offset-index files through their mappings any more, so they may be unmapped.
     */
    boolean stopped() {
        return stopped;
    }
}
