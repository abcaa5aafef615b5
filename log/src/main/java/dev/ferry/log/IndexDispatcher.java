package dev.ferry.log;

import static dev.ferry.log.RecordLayout.*;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the offset indexes by following the commit log, on its own thread: it reads each record
 * the appender has published (its queue, queue offset, size and tag hash are in the record's
 * fixed header) and writes the record's entry into its queue's {@link OffsetIndex}. The appender
 * only assigns queue offsets; it never touches an index file.
 *
 * <p><b>Why a thread of its own.</b> An index entry is 20 bytes written into the page of its queue's
 * index file. With many queues every append lands on another page: measured here, with 1,000 queues
 * of 100 B records the entry write cost the appender ~260 ns per record (a TLB and a cache miss on
 * the queue's page, in a VM whose page walks are nested), more than the rest of the append. The
 * dispatcher takes that off the appender and makes it cheaper: it takes the records published since
 * its last pass, up to {@link #BATCH} at a time, links each queue's records into a chain, and then
 * writes each queue's entries as one run, so a page is visited once per pass instead of once per
 * record.
 *
 * <p><b>Visibility.</b> A queue's entries are readable once a pass has written them and moved the
 * queue's {@link OffsetIndex#indexedOffset()}. The thread runs a pass as soon as the previous one
 * found a full batch, and otherwise sleeps up to a millisecond, so that under load passes are long
 * (and do not read the lines the appender is still writing). A reader that asks for an offset the
 * appender has assigned but no pass has indexed yet runs a pass itself ({@link #awaitIndexed}), so
 * a message is readable as soon as its append has returned, without waiting for a thread to wake.
 *
 * <p><b>Position.</b> {@link #position()} is the commit-log position up to which every record is
 * indexed. The checkpoint records it (recovery re-indexes from there after a crash) and retention
 * deletes no segment the dispatcher has not passed.
 *
 * <p><b>Failure.</b> An error in a pass (an index file that cannot be created) is logged and the
 * pass retried after a second; a reader whose own pass fails gets the error. Nothing is lost: the
 * records are in the log, and recovery indexes them at the next open if no pass could.
 *
 * <p><b>Thread safety.</b> A pass runs under {@code passLock}, on the dispatcher thread or a
 * helping reader: the per-queue chain fields of {@link OffsetIndex}, the entry writes and the
 * pass's arrays belong to the lock's holder (recovery writes entries before the dispatcher
 * exists). {@code position} is volatile; {@link #awaitIndexed},
 * {@link #awaitAll} and {@link #close} may be called by any thread.
 */
final class IndexDispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexDispatcher.class);
    /** Records indexed per pass at most (the size of the arrays below: 24 bytes a record). */
    static final int BATCH = 16 * 1024;
    /** How long the thread sleeps when it has caught up and nobody wakes it. */
    private static final long IDLE_PARK_NS = 1_000_000L;
    private static final long RETRY_PARK_NS = 1_000_000_000L;
    /** A reader gives up waiting for an offset to be indexed after this long without progress. */
    private static final long AWAIT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    private final CommitLog log;
    private final QueueTable queues;
    private final Thread thread;
    private final RecordCodec.DecodeCache topics = new RecordCodec.DecodeCache();
    // one pass's records, in log order; next[i] links record i to the next record of its queue
    private final long[] recordPhysical = new long[BATCH];
    private final int[] recordSize = new int[BATCH];
    private final long[] recordTagHash = new long[BATCH];
    private final int[] next = new int[BATCH];
    /** Queues with records in the current pass, in the order first seen. */
    private final OffsetIndex[] touched = new OffsetIndex[BATCH];
    /**
     * Held for a pass, by the dispatcher thread or a reader that helps ({@link #awaitIndexed}): it
     * guards {@code position}'s writes, {@code segment}, the arrays above, the topic cache and the
     * queues' chain fields.
     */
    private final ReentrantLock passLock = new ReentrantLock();
    /** Every record below it is indexed; written under {@code passLock}, read by anyone. */
    private volatile long position;
    /** The segment holding {@code position}. */
    private Segment segment;
    /** The thread's last pass failed with it (logged once until a pass succeeds); dispatcher thread only. */
    private RuntimeException failure;
    private volatile boolean stopping;

    IndexDispatcher(CommitLog log, QueueTable queues) {
        this.log = log;
        this.queues = queues;
        this.position = log.writtenOffset(); // recovery indexed everything before it
        this.thread = new Thread(this::run, "ferry-index-dispatcher");
        thread.setDaemon(true);
        thread.start();
    }

    /** Commit-log position below which every record is indexed. */
    long position() {
        return position;
    }

    /**
     * Returns once {@code queueOffset} of {@code q} is indexed (the appender assigned it before the
     * caller asked). If it is not yet, the caller runs a pass itself (waiting first for one under
     * way on the dispatcher thread): no thread has to be woken, which on this VM costs tens of
     * microseconds. Throws {@link LogException} if the pass fails, the store closes, or nothing
     * moves for {@value #AWAIT_TIMEOUT_NS} ns.
     */
    void awaitIndexed(OffsetIndex q, long queueOffset) {
        if (q.indexedOffset() > queueOffset) {
            return;
        }
        long lastProgress = System.nanoTime();
        for (int idle = 0; q.indexedOffset() <= queueOffset; ) {
            if (help()) {
                lastProgress = System.nanoTime();
                idle = 0;
            } else {
                // assigned but not yet published: the appender is between the two, under its lock
                checkWaiting(lastProgress);
                pause(idle++);
            }
        }
    }

    /** Returns once every record appended before the call is indexed (a flush, a close, a benchmark's end), helping as above. */
    void awaitAll() {
        long end = log.writtenOffset();
        long lastProgress = System.nanoTime();
        for (int idle = 0; position < end; ) {
            if (help()) {
                lastProgress = System.nanoTime();
                idle = 0;
            } else {
                checkWaiting(lastProgress);
                pause(idle++);
            }
        }
    }

    /** Runs a pass on the caller's thread if there is anything to index; returns true if it indexed something. */
    private boolean help() {
        if (stopping) {
            throw new LogException("store closed while waiting for the offset index");
        }
        passLock.lock();
        try {
            long end = log.writtenOffset();
            long before = position;
            if (before >= end) {
                return false;
            }
            pass(end);
            return position > before;
        } catch (RuntimeException e) {
            throw new LogException("cannot index the commit log at " + position + ": " + e.getMessage(), e);
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

    /** While waiting for the appender to publish what it assigned: the store may close, or the appender be stuck. */
    private void checkWaiting(long lastProgress) {
        if (stopping) {
            throw new LogException("store closed while waiting for the offset index");
        }
        if (System.nanoTime() - lastProgress > AWAIT_TIMEOUT_NS) {
            throw new LogException("an offset assigned " + TimeUnit.NANOSECONDS.toSeconds(AWAIT_TIMEOUT_NS)
                    + " s ago is still not in the commit log (indexed to " + position + ", log end " + log.writtenOffset() + ")");
        }
    }

    private void run() {
        while (!stopping) {
            try {
                boolean more;
                passLock.lock();
                try {
                    long end = log.writtenOffset();
                    more = position < end && pass(end);
                } finally {
                    passLock.unlock();
                }
                failure = null;
                if (!more) {
                    // caught up: sleep, so that passes are long under load (and do not read the lines the
                    // appender is still writing); a reader that cannot wait runs a pass itself
                    LockSupport.parkNanos(this, IDLE_PARK_NS);
                }
            } catch (RuntimeException e) {
                if (failure == null) {
                    LOG.error("offset index dispatcher failed at commit-log position {}; retrying every second", position, e);
                }
                failure = e;
                LockSupport.parkNanos(this, RETRY_PARK_NS);
            }
        }
    }

    /**
     * One pass: reads up to {@link #BATCH} records from {@code position} (below {@code end}, the
     * published end: whole records only), then writes each queue's entries as one run and moves
     * the queue's indexed offset, then moves {@link #position}. Returns true if it stopped at
     * {@code BATCH} records, with more to do.
     */
    private boolean pass(long end) {
        long p = position;
        int n = 0;
        int touchedCount = 0;
        try {
            while (p < end && n < BATCH) {
                Segment s = segment;
                if (s == null || p < s.baseOffset || p >= s.endOffset()) {
                    s = log.segmentFor(p);
                    if (s == null) {
                        throw new LogException("no commit-log segment holds position " + p + " (log end " + end + ")");
                    }
                    segment = s;
                }
                int pos = (int) (p - s.baseOffset);
                if (s.size - pos < END_MARKER_SIZE || s.map.getShort(pos + MAGIC_OFFSET) == END_OF_SEGMENT_MAGIC) {
                    p = s.endOffset(); // the rest of the segment is its end marker: the log goes on in the next one
                    continue;
                }
                int length = s.map.getInt(pos + LENGTH_OFFSET);
                if (length < MIN_RECORD_SIZE || s.map.getLong(pos + PHYSICAL_OFFSET_OFFSET) != p) {
                    throw new LogException("no record at commit-log position " + p + " (length " + length + ", log end " + end + ")");
                }
                OffsetIndex q = queueOf(s, pos);
                long queueOffset = s.map.getLong(pos + QUEUE_OFFSET_OFFSET);
                boolean first = q.chainTail < 0;
                long expected = first ? q.indexedOffset() : q.chainNextOffset;
                if (first && queueOffset < expected) {
                    p += length; // indexed by an earlier pass that failed before it moved the position
                    continue;
                }
                if (queueOffset != expected) {
                    throw new LogException("record at " + p + " has offset " + queueOffset + " of " + q.topic + "/" + q.queueId
                            + " (expected: " + expected + ")");
                }
                recordPhysical[n] = p;
                recordSize[n] = length;
                recordTagHash[n] = s.map.getLong(pos + TAG_HASH_OFFSET);
                next[n] = -1;
                if (first) {
                    q.chainHead = n;
                    touched[touchedCount++] = q;
                } else {
                    next[q.chainTail] = n;
                }
                q.chainTail = n;
                q.chainNextOffset = queueOffset + 1;
                n++;
                p += length;
            }
            for (int t = 0; t < touchedCount; t++) {
                OffsetIndex q = touched[t];
                long off = q.indexedOffset();
                for (int i = q.chainHead; i >= 0; i = next[i]) {
                    q.write(off++, recordPhysical[i], recordSize[i], recordTagHash[i]);
                }
                q.publishIndexed(off);
            }
        } finally {
            for (int t = 0; t < touchedCount; t++) {
                touched[t].chainTail = -1;
                touched[t] = null;
            }
        }
        position = p;
        return n == BATCH;
    }

    /** The offset index of the record at {@code pos} of {@code s} (the appender created it before writing the record). */
    private OffsetIndex queueOf(Segment s, int pos) {
        int topicAt = pos + topicLengthOffset(s.map.getInt(pos + FLAGS_OFFSET));
        String topic = topics.topic(s.map, topicAt + 1, s.map.get(topicAt) & 0xFF);
        int queueId = s.map.getInt(pos + QUEUE_ID_OFFSET);
        OffsetIndex q = queues.get(topic, queueId);
        if (q == null) {
            throw new LogException("record at " + (s.baseOffset + pos) + " is of " + topic + "/" + queueId + ", which has no offset index");
        }
        return q;
    }

    /** Stops the thread after the pass under way; call {@link #awaitAll} first to index everything. */
    @Override
    public void close() {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("offset index dispatcher did not stop within 10 s");
        }
    }
}
