package dev.ferry.log;

import static dev.ferry.log.RecordLayout.STORE_TIMESTAMP_OFFSET;

import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
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
 * <p><b>Thread safety.</b> {@link #run} holds the store's append lock while it decides and
 * deletes, so it never races with an append; readers are protected by segment reference counts.
 */
final class Retention {
    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);

    private final LogConfig config;
    private final CommitLog log;
    private final QueueTable queues;
    private final KeyIndex keys;
    private final Lock appendLock;
    /** Where the index dispatcher is: records from there on have no entries yet for the trim to see. */
    private final LongSupplier indexedPosition;
    /** The store was closed (set under the append lock): its files are being released, a pass deletes nothing. */
    private final BooleanSupplier storeClosed;

    Retention(LogConfig config, CommitLog log, QueueTable queues, KeyIndex keys, Lock appendLock, LongSupplier indexedPosition,
              BooleanSupplier storeClosed) {
        this.config = config;
        this.log = log;
        this.queues = queues;
        this.keys = keys;
        this.appendLock = appendLock;
        this.indexedPosition = indexedPosition;
        this.storeClosed = storeClosed;
    }

    /** Runs one pass; returns how many segments it deleted. */
    int run() {
        appendLock.lock();
        try {
            if (storeClosed.getAsBoolean()) {
                return 0;
            }
            long now = config.clock().millis();
            int deleted = 0;
            for (;;) {
                Segment oldest = log.first();
                Segment next = oldest == null ? null : log.next(oldest);
                if (next == null || oldest.endOffset() >= log.writtenOffset() || oldest.endOffset() > log.flushedOffset()
                        || oldest.endOffset() > indexedPosition.getAsLong()) {
                    break;
                }
                boolean overSize = log.totalBytes() > config.retentionBytes();
                log.ensureWritten(next.baseOffset + 1); // staged writes: the first record of next may be only in the ring
                boolean expired = now - next.map.getLong(STORE_TIMESTAMP_OFFSET) > config.retentionMs();
                if (!overSize && !expired) {
                    break;
                }
                LOG.info("retention: deleting segment {} ({})", oldest.path.getFileName(), overSize ? "over size limit" : "expired");
                log.deleteOldest(oldest);
                deleted++;
            }
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
}
