package dev.ferry.log;

import static dev.ferry.log.RecordLayout.*;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
 * <p><b>Visibility.</b> A queue's entries are readable once the dispatcher has written them and
 * moved the queue's {@link OffsetIndex#indexedOffset()}; that trails the appender by one pass
 * (microseconds, up to a millisecond when idle). {@link #awaitIndexed} wakes the thread and waits
 * for a queue offset to be indexed: readers that ask for an offset the appender has assigned but
 * the dispatcher not yet indexed wait there, so a message is readable as soon as its append has
 * returned, as before.
 *
 * <p><b>Position.</b> {@link #position()} is the commit-log position up to which every record is
 * indexed. The checkpoint records it (recovery re-indexes from there after a crash) and retention
 * deletes no segment the dispatcher has not passed.
 *
 * <p><b>Failure.</b> An error (an index file that cannot be created) is logged and the pass is
 * retried after a second; readers waiting for an offset get the error. Nothing is lost: the records
 * are in the log, and recovery indexes them at the next open if the dispatcher never could.
 *
 * <p><b>Thread safety.</b> The per-queue chain fields of {@link OffsetIndex} and the entry writes
 * belong to the dispatcher thread (recovery writes entries before it starts). {@code position} and
 * {@code failure} are volatile; {@link #awaitIndexed}, {@link #awaitAll} and {@link #close} may be
 * called by any thread.
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
    /** Every record below it is indexed; written by the dispatcher thread only. */
    private volatile long position;
    /** The segment holding {@code position}; dispatcher thread only. */
    private Segment segment;
    /** Set while a pass keeps failing; readers waiting for an offset report it. */
    private volatile RuntimeException failure;
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
     * Waits until {@code queueOffset} of {@code q} is indexed (the appender assigned it before the
     * caller asked). Throws the dispatcher's error if it is failing, or {@link LogException} if the
     * store closes or nothing moves for {@value #AWAIT_TIMEOUT_NS} ns.
     */
    void awaitIndexed(OffsetIndex q, long queueOffset) {
        if (q.indexedOffset() > queueOffset) {
            return;
        }
        LockSupport.unpark(thread);
        long lastProgress = System.nanoTime();
        long seen = position;
        for (int spins = 0; q.indexedOffset() <= queueOffset; spins++) {
            checkWaiting(lastProgress);
            if (spins < 100) {
                Thread.onSpinWait();
            } else {
                LockSupport.unpark(thread);
                LockSupport.parkNanos(this, 20_000L);
            }
            if (position != seen) {
                seen = position;
                lastProgress = System.nanoTime();
            }
        }
    }

    /** Waits until every record appended before the call is indexed (a flush, a close, a benchmark's end). */
    void awaitAll() {
        long end = log.writtenOffset();
        if (position >= end) {
            return;
        }
        LockSupport.unpark(thread);
        long lastProgress = System.nanoTime();
        long seen = position;
        while (position < end) {
            checkWaiting(lastProgress);
            LockSupport.unpark(thread);
            LockSupport.parkNanos(this, 20_000L);
            if (position != seen) {
                seen = position;
                lastProgress = System.nanoTime();
            }
        }
    }

    private void checkWaiting(long lastProgress) {
        RuntimeException f = failure;
        if (f != null) {
            throw new LogException("offset index dispatcher is failing: " + f.getMessage(), f);
        }
        if (stopping) {
            throw new LogException("store closed while waiting for the offset index");
        }
        if (System.nanoTime() - lastProgress > AWAIT_TIMEOUT_NS) {
            throw new LogException("offset index dispatcher made no progress for " + TimeUnit.NANOSECONDS.toSeconds(AWAIT_TIMEOUT_NS)
                    + " s (at " + position + ", log end " + log.writtenOffset() + ")");
        }
    }

    private void run() {
        while (!stopping) {
            try {
                long end = log.writtenOffset();
                boolean more = position < end && pass(end);
                failure = null;
                if (!more) {
                    // caught up: sleep until a reader wakes us or the pause is over, so that passes
                    // are long under load (and do not read the lines the appender is still writing)
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
