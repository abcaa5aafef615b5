package dev.ferry.log;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;

/**
 * Settings of one {@link MessageStore}, validated when built. Immutable.
 *
 * @param dir                    the store's directory (created if missing)
 * @param segmentBytes           commit-log segment size (default 1 GiB)
 * @param indexEntriesPerFile    entries per offset-index file (default 300,000 = 6 MB), for a store without index files:
 *                               one that has them keeps their size
 * @param flushMode              {@link FlushMode#ASYNC} (default) or {@link FlushMode#SYNC}
 * @param flushIntervalMs        ASYNC: how often the flusher looks at dirty pages (default 500)
 * @param flushMinDirtyPages     ASYNC: flush only when at least this many 4 KiB pages are dirty,
 *                               except every 10th interval, which flushes whatever is dirty (default 4)
 * @param syncFlushTimeoutMs     SYNC: an append whose fsync has not come back by then fails (default 5000)
 * @param checkpointIntervalMs   how often the indexes written since the last time are forced and the checkpoint
 *                               is written, on a thread apart from the flusher (default 10,000); a crash makes
 *                               recovery re-verify at most about this much of the log
 * @param retentionMs            segments whose records are all older than this are deleted (default 72 h)
 * @param retentionBytes         the commit log is kept under this many bytes, oldest segments deleted first
 *                               (default: no limit)
 * @param retentionCheckIntervalMs how often retention runs (default 10 s)
 * @param preTouch               after writing zeros over commit-log space ahead of the appender
 *                               ({@link SegmentFiller}), also touch each page through the appender's mapping,
 *                               so appends take no page faults (default true)
 * @param fillAheadBytes         how much commit-log space is kept prepared ahead of the appender, on a
 *                               background thread; appends wait for it only if they outrun it (default 64 MiB);
 *                               mapped writes only
 * @param stagedWrites           ASYNC: append into a small mapped ring that a committer thread copies into the
 *                               segments with {@code write()} ({@link StagingRing}; default true); false, or SYNC
 *                               flush: append straight into the segments' mappings, prepared ahead by
 *                               {@link SegmentFiller}
 * @param commitIntervalMs       staged writes: the committer copies the ring into the segments each time 256 KiB
 *                               were appended, and at the latest after this long (default 100); readers and the
 *                               flusher commit what they need themselves
 * @param maxTopicBytes          longest topic name in UTF-8 bytes (default and maximum 200)
 * @param maxProperties          most properties per message, tags and keys included (default 64)
 * @param maxPropertiesBytes     largest encoded properties area (default 32,767; at most 64,511, the rest of the
 *                               format's 65,535 kept for the broker's internal properties, which neither limit counts)
 * @param maxBodyBytes           largest body (default 4 MiB); a whole record must also fit in one segment
 * @param maxQueuesPerTopic      queue ids are 0..this-1 (default 4096)
 * @param maxBatchMessages       most messages in one {@link MessageStore#appendBatchAsync} (default 4,096)
 * @param maxBatchBytes          most record bytes (headers included) in one batch (default 16 MiB); a batch is also
 *                               refused beyond {@code segmentBytes}, the most space prepared before its first record
 * @param keyIndexSlots          hash slots per key-index file (default 1,048,576)
 * @param keyIndexEntries        entries per key-index file (default 4,194,304)
 * @param storeHost              address written into each record as the store host
 * @param clock                  time source (store timestamps, retention, checkpoints)
 */
public record LogConfig(
        Path dir,
        int segmentBytes,
        int indexEntriesPerFile,
        FlushMode flushMode,
        int flushIntervalMs,
        int flushMinDirtyPages,
        long syncFlushTimeoutMs,
        int checkpointIntervalMs,
        long retentionMs,
        long retentionBytes,
        long retentionCheckIntervalMs,
        boolean preTouch,
        long fillAheadBytes,
        boolean stagedWrites,
        int commitIntervalMs,
        int maxTopicBytes,
        int maxProperties,
        int maxPropertiesBytes,
        int maxBodyBytes,
        int maxQueuesPerTopic,
        int maxBatchMessages,
        long maxBatchBytes,
        int keyIndexSlots,
        int keyIndexEntries,
        InetSocketAddress storeHost,
        Clock clock) {
    /**
     * The largest {@code maxQueuesPerTopic} accepted, so the most queues any broker gives a topic:
     * tools check a queue count against it before they ask a broker (whose own limit may be lower).
     */
    public static final int MAX_QUEUES_PER_TOPIC = 65_536;

    /** The largest {@code indexEntriesPerFile}: an offset-index file (16-byte header, 20-byte entries) stays below 2 GiB. */
    static final int MAX_INDEX_ENTRIES_PER_FILE = (Integer.MAX_VALUE - OffsetIndex.HEADER_SIZE) / OffsetIndex.ENTRY_SIZE;


    public static final int MIN_SEGMENT_BYTES = 4096;
    /** The largest staging ring (staged writes); {@code maxBodyBytes} and {@code maxBatchBytes} must fit it. */
    public static final int MAX_STAGING_RING_BYTES = 1 << 30;

    public LogConfig {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(flushMode, "flushMode");
        Objects.requireNonNull(storeHost, "storeHost");
        Objects.requireNonNull(clock, "clock");
        check("segmentBytes", segmentBytes, MIN_SEGMENT_BYTES, Integer.MAX_VALUE);
        check("indexEntriesPerFile", indexEntriesPerFile, 1, MAX_INDEX_ENTRIES_PER_FILE);
        check("flushIntervalMs", flushIntervalMs, 1, 3_600_000);
        check("flushMinDirtyPages", flushMinDirtyPages, 0, Integer.MAX_VALUE);
        check("syncFlushTimeoutMs", syncFlushTimeoutMs, 1, Long.MAX_VALUE);
        check("checkpointIntervalMs", checkpointIntervalMs, 1, 3_600_000);
        check("retentionMs", retentionMs, 1, Long.MAX_VALUE);
        check("retentionBytes", retentionBytes, segmentBytes, Long.MAX_VALUE);
        check("retentionCheckIntervalMs", retentionCheckIntervalMs, 1, Long.MAX_VALUE);
        check("fillAheadBytes", fillAheadBytes, SegmentFiller.CHUNK, 1L << 40);
        check("commitIntervalMs", commitIntervalMs, 1, 3_600_000);
        check("maxTopicBytes", maxTopicBytes, 1, RecordLayout.MAX_TOPIC_BYTES);
        check("maxProperties", maxProperties, 0, 10_000);
        check("maxPropertiesBytes", maxPropertiesBytes, 0, LogMessage.MAX_USER_PROPERTIES_BYTES);
        check("maxBodyBytes", maxBodyBytes, 0, segmentBytes);
        check("maxQueuesPerTopic", maxQueuesPerTopic, 1, MAX_QUEUES_PER_TOPIC);
        check("maxBatchMessages", maxBatchMessages, 1, 1 << 20);
        check("maxBatchBytes", maxBatchBytes, 1, Long.MAX_VALUE);
        check("keyIndexSlots", keyIndexSlots, 1, 64 << 20);
        check("keyIndexEntries", keyIndexEntries, 1, 64 << 20);
        long ringNeed = stagingRingNeed(segmentBytes, maxBodyBytes, maxBatchBytes);
        if (stagedWrites && flushMode == FlushMode.ASYNC && ringNeed > MAX_STAGING_RING_BYTES) {
            throw new IllegalArgumentException("stagedWrites: a largest batch (maxBatchBytes " + maxBatchBytes + ", at most segmentBytes "
                    + segmentBytes + ") and two largest records (maxBodyBytes " + maxBodyBytes + ") need a staging ring of "
                    + ringNeed + " bytes (expected: <= " + MAX_STAGING_RING_BYTES + "); lower them, or set stagedWrites false");
        }
    }

    /** True if appends go through a {@link StagingRing} (ASYNC flush with {@code stagedWrites}). */
    public boolean staged() {
        return stagedWrites && flushMode == FlushMode.ASYNC;
    }

    /**
     * The staging ring's size: a power of two that holds the largest batch, plus a largest record
     * and the end of a segment it does not fit (so a batch never commits halfway to make room),
     * at least 1 MiB and at most 1 GiB (32 MiB with the defaults).
     */
    public int stagingRingBytes() {
        long ring = Math.max(1L << 20, Long.highestOneBit(stagingRingNeed(segmentBytes, maxBodyBytes, maxBatchBytes) - 1) << 1);
        return (int) Math.min(ring, MAX_STAGING_RING_BYTES);
    }

    /** Bytes the staging ring must hold: the largest batch, a largest record and the end of a segment it does not fit. */
    private static long stagingRingNeed(int segmentBytes, int maxBodyBytes, long maxBatchBytes) {
        long maxRecord = Math.min(segmentBytes, (long) maxBodyBytes + RecordWriter.scratchSize());
        return Math.min(maxBatchBytes, segmentBytes) + 2 * maxRecord;
    }

    private static void check(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: " + min + ".." + max + ")");
        }
    }

    public static Builder builder(Path dir) {
        return new Builder(dir);
    }

    /** Builds a {@link LogConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private final Path dir;
        private int segmentBytes = 1 << 30;
        private int indexEntriesPerFile = 300_000;
        private FlushMode flushMode = FlushMode.ASYNC;
        private int flushIntervalMs = 500;
        private int flushMinDirtyPages = 4;
        private long syncFlushTimeoutMs = 5_000;
        private int checkpointIntervalMs = 10_000;
        private long retentionMs = 72L * 3600 * 1000;
        private long retentionBytes = Long.MAX_VALUE;
        private long retentionCheckIntervalMs = 10_000;
        private boolean preTouch = true;
        private long fillAheadBytes = 64L << 20;
        private boolean stagedWrites = true;
        private int commitIntervalMs = 100;
        private int maxTopicBytes = RecordLayout.MAX_TOPIC_BYTES;
        private int maxProperties = 64;
        private int maxPropertiesBytes = 32_767;
        private int maxBodyBytes = 4 << 20;
        private int maxQueuesPerTopic = 4096;
        private int maxBatchMessages = 4096;
        private long maxBatchBytes = 16L << 20;
        private int keyIndexSlots = 1 << 20;
        private int keyIndexEntries = 4 << 20;
        private InetSocketAddress storeHost = new InetSocketAddress("127.0.0.1", 0);
        private Clock clock = Clock.systemUTC();

        private Builder(Path dir) {
            this.dir = dir;
        }

        public Builder segmentBytes(int v) { segmentBytes = v; maxBodyBytes = Math.min(maxBodyBytes, v); return this; }
        public Builder indexEntriesPerFile(int v) { indexEntriesPerFile = v; return this; }
        public Builder flushMode(FlushMode v) { flushMode = v; return this; }
        public Builder flushIntervalMs(int v) { flushIntervalMs = v; return this; }
        public Builder flushMinDirtyPages(int v) { flushMinDirtyPages = v; return this; }
        public Builder syncFlushTimeoutMs(long v) { syncFlushTimeoutMs = v; return this; }
        public Builder checkpointIntervalMs(int v) { checkpointIntervalMs = v; return this; }
        public Builder retentionMs(long v) { retentionMs = v; return this; }
        public Builder retentionBytes(long v) { retentionBytes = v; return this; }
        public Builder retentionCheckIntervalMs(long v) { retentionCheckIntervalMs = v; return this; }
        public Builder preTouch(boolean v) { preTouch = v; return this; }
        public Builder fillAheadBytes(long v) { fillAheadBytes = v; return this; }
        public Builder stagedWrites(boolean v) { stagedWrites = v; return this; }
        public Builder commitIntervalMs(int v) { commitIntervalMs = v; return this; }
        public Builder maxTopicBytes(int v) { maxTopicBytes = v; return this; }
        public Builder maxProperties(int v) { maxProperties = v; return this; }
        public Builder maxPropertiesBytes(int v) { maxPropertiesBytes = v; return this; }
        public Builder maxBodyBytes(int v) { maxBodyBytes = v; return this; }
        public Builder maxQueuesPerTopic(int v) { maxQueuesPerTopic = v; return this; }
        public Builder maxBatchMessages(int v) { maxBatchMessages = v; return this; }
        public Builder maxBatchBytes(long v) { maxBatchBytes = v; return this; }
        public Builder keyIndexSlots(int v) { keyIndexSlots = v; return this; }
        public Builder keyIndexEntries(int v) { keyIndexEntries = v; return this; }
        public Builder storeHost(InetSocketAddress v) { storeHost = v; return this; }
        public Builder clock(Clock v) { clock = v; return this; }

        public LogConfig build() {
            return new LogConfig(dir, segmentBytes, indexEntriesPerFile, flushMode, flushIntervalMs, flushMinDirtyPages,
                    syncFlushTimeoutMs, checkpointIntervalMs, retentionMs, retentionBytes, retentionCheckIntervalMs,
                    preTouch, fillAheadBytes, stagedWrites, commitIntervalMs, maxTopicBytes, maxProperties, maxPropertiesBytes, maxBodyBytes, maxQueuesPerTopic,
                    maxBatchMessages, maxBatchBytes, keyIndexSlots, keyIndexEntries, storeHost, clock);
        }
    }
}
