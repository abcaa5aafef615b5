package dev.ferry.log;

import static dev.ferry.log.RecordLayout.STORE_TIMESTAMP_OFFSET;

import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes whole commit-log segments, oldest first, while the oldest is older than the time
 * limit or the log is over its size limit; then trims the offset and key indexes to match.
 * Never deletes the segment being written, bytes not yet flushed, or records not yet indexed:
 * the trim below sees only indexed entries, so a later pass of the {@link IndexDispatcher} would
 * write entries pointing into a deleted segment.
 *
 * <p>A segment's age is the store time of the first record of the segment after it: store
 * times never go backwards, so every record of the segment is at least that old.
 *
 * <p><b>Floor.</b> Nor does age delete a segment that reaches the retention floor, the lowest
 * commit-log position the store's user still needs (see {@link MessageStore#open(LogConfig,
 * LongSupplier, String)}). Size does, with an {@code ERROR}: {@code retentionBytes} is what keeps
 * the disk from filling, and on a full disk nothing is appended, so what holds the floor (a delayed
 * message waiting to be appended to its topic) could never let go. The floor is read once a pass,
 * when the limits first ask for a deletion. While it holds back segments the limits ask to delete,
 * one {@code WARN} says so (how many, their bytes, which limit, what needs them), not one a pass:
 * a broker with a delayed message 30 days ahead would log it every ten seconds for 30 days.
 *
 * <p><b>Thread safety.</b> {@link #run} holds the store's append lock while it decides and
 * deletes, so it never races with an append (nor with a floor computed from a queue's end);
 * readers are protected by segment reference counts.
 */
final class Retention {
    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);
    private static final String OVER_SIZE = "over size limit";
    private static final String EXPIRED = "expired";

    private final LogConfig config;
    private final CommitLog log;
    private final QueueTable queues;
    private final KeyIndex keys;
    private final Lock appendLock;
    /** Where the index dispatcher is: records from there on have no entries yet for the trim to see. */
    private final LongSupplier indexedPosition;
    /** The store was closed (set under the append lock): its files are being released, a pass deletes nothing. */
    private final BooleanSupplier storeClosed;
    /** The lowest commit-log position still needed (Long.MAX_VALUE: none); called under the append lock. */
    private final LongSupplier floor;
    /** What needs the floor, for the warning: asked when it is logged, as the holder may change (a broker's start). */
    private final Supplier<String> floorHolder;
    /** The last pass stopped at the floor, and the warning was logged; guarded by the append lock. */
    private boolean holding;

    Retention(LogConfig config, CommitLog log, QueueTable queues, KeyIndex keys, Lock appendLock, LongSupplier indexedPosition,
              BooleanSupplier storeClosed, LongSupplier floor, Supplier<String> floorHolder) {
        this.config = config;
        this.log = log;
        this.queues = queues;
        this.keys = keys;
        this.appendLock = appendLock;
        this.indexedPosition = indexedPosition;
        this.storeClosed = storeClosed;
        this.floor = floor;
        this.floorHolder = floorHolder;
    }

    /** Runs one pass; returns how many segments it deleted. */
    int run() {
        appendLock.lock();
        try {
            if (storeClosed.getAsBoolean()) {
                return 0;
            }
            long now = config.clock().millis();
            long floorPosition = -1; // not read yet
            boolean held = false;
            int deleted = 0;
            for (;;) {
                Segment oldest = log.first();
                String limit = limitAsking(oldest, now, log.totalBytes());
                if (limit == null) {
                    break;
                }
                if (floorPosition < 0) {
                    floorPosition = floor.getAsLong();
                }
                if (oldest.endOffset() > floorPosition) {
                    if (limit.equals(OVER_SIZE)) {
                        // retentionBytes guards the disk: it wins over the floor, or one message could fill the disk for good
                        // (on a full disk nothing is appended, and the message holding the floor needs an append to go)
                        LOG.error("retention: deleting segment {} over retentionBytes although {} needs commit-log position {}"
                                + " and on (the retention floor): what it needs in this segment is lost", oldest.path.getFileName(),
                                floorHolder.get(), floorPosition);
                    } else {
                        held = true;
                        if (!holding) {
                            warnHeld(oldest, now, floorPosition);
                        }
                        break;
                    }
                }
                LOG.info("retention: deleting segment {} ({})", oldest.path.getFileName(), limit);
                log.deleteOldest(oldest);
                deleted++;
            }
            if (holding && !held) {
                LOG.info("retention: the retention floor no longer holds back segments that the limits ask to delete ({} segment(s)"
                        + " deleted now)", deleted);
            }
            holding = held;
            if (deleted > 0) {
                long min = log.minOffset();
                for (OffsetIndex q : queues.all()) {
                    q.trimBefore(min);
                }
                keys.trimBefore(min);
            }
            return deleted;
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Why the limits ask to delete segment {@code s} of a log of {@code totalBytes} ({@link #OVER_SIZE},
     * {@link #EXPIRED}), or null if they do not, or if it may not go (the active segment, or not
     * all flushed or indexed). The floor is not asked here.
     */
    private String limitAsking(Segment s, long now, long totalBytes) {
        Segment next = s == null ? null : log.next(s);
        if (next == null || s.endOffset() >= log.writtenOffset() || s.endOffset() > log.flushedOffset()
                || s.endOffset() > indexedPosition.getAsLong()) {
            return null;
        }
        if (totalBytes > config.retentionBytes()) {
            return OVER_SIZE;
        }
        log.ensureWritten(next.baseOffset + 1); // staged writes: the first record of next may be only in the ring
        return now - next.map.getLong(STORE_TIMESTAMP_OFFSET) > config.retentionMs() ? EXPIRED : null;
    }

    /** Logs what the floor holds back: the segments from {@code first} on that the limits would delete without it. */
    private void warnHeld(Segment first, long now, long floorPosition) {
        long total = log.totalBytes();
        int segments = 0;
        long bytes = 0;
        boolean bySize = false;
        boolean byTime = false;
        for (Segment s = first; s != null; s = log.next(s)) {
            String limit = limitAsking(s, now, total);
            if (limit == null) {
                break;
            }
            bySize |= limit.equals(OVER_SIZE);
            byTime |= limit.equals(EXPIRED);
            segments++;
            bytes += s.size;
            total -= s.size;
        }
        String limits = bySize && byTime ? "retentionBytes and retentionMs ask" : bySize ? "retentionBytes asks" : "retentionMs asks";
        LOG.warn("retention: keeping {} segment(s), {} bytes from segment {} on, that {} to delete: {} needs commit-log position {}"
                + " and on (the retention floor); they are deleted once the floor moves past them", segments, bytes,
                first.path.getFileName(), limits, floorHolder.get(), floorPosition);
    }
}
