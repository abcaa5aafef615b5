package dev.ferry.log;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The child process of {@link RetentionKillTest}: appends single records and batches while
 * retention deletes the oldest segments and checkpoints are written every few milliseconds, so a
 * kill lands inside a retention pass, a checkpoint, a segment roll-over or a key-file roll as
 * often as between them. Prints one line per acknowledged record after its append returned:
 *
 * <pre>
 * OPEN                                     once, when the store is open
 * ACK queueId queueOffset seed position .  per acknowledged record (position: its commit-log position)
 * </pre>
 *
 * Usage: {@code RetainingWriter DIR ROUND SYNC|ASYNC STAGED} (STAGED: true or false, {@code stagedWrites}).
 * It exits by itself (status 3) after 60 s.
 */
public final class RetainingWriter {
    static final String TOPIC = "kept";
    static final int QUEUES = 3;
    static final int SEGMENT = 64 * 1024;
    static final String SEED_PROPERTY = "seed";

    private RetainingWriter() {}

    /**
     * Retention by size keeps about four segments; checkpoints and retention passes every 2 ms; small
     * key files; {@code staged}: ASYNC appends go through the staging ring, or through the mappings.
     */
    static LogConfig config(Path dir, FlushMode mode, boolean staged) {
        return builder(dir, mode, staged).build();
    }

    static LogConfig.Builder builder(Path dir, FlushMode mode, boolean staged) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(SEGMENT).indexEntriesPerFile(50).keyIndexSlots(16)
                .keyIndexEntries(40).flushMode(mode).retentionBytes(4L * SEGMENT).retentionCheckIntervalMs(2)
                .checkpointIntervalMs(2).stagedWrites(staged);
    }

    /**
     * Record {@code seed}: its queue, body and key derive from it. The last queue gets records in
     * round 1 only (seeds {@code 1 << 32} on), so retention later deletes every record it has.
     */
    static LogMessage messageFor(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int queue = (seed >>> 32) == 1 ? r.nextInt(QUEUES) : r.nextInt(QUEUES - 1);
        return LogMessage.builder(TOPIC, queue, StoreTestSupport.body(r.nextInt(50, 3_000), seed))
                .property(SEED_PROPERTY, Long.toString(seed)).key("k" + seed).build();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long round = Long.parseLong(args[1]);
        FlushMode mode = FlushMode.valueOf(args[2]);
        boolean staged = Boolean.parseBoolean(args[3]);
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        StoreTestSupport.exitAfterAMinute();
        MessageStore store = MessageStore.open(config(dir, mode, staged));
        StoreTestSupport.emit(out, "OPEN\n");
        SplittableRandom r = new SplittableRandom(round);
        for (long seed = round << 32; ; ) {
            int n = r.nextInt(4) == 0 ? r.nextInt(2, 6) : 1;
            List<LogMessage> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                batch.add(messageFor(seed++));
            }
            List<AppendResult> acks = n == 1 ? List.of(store.appendAsync(batch.get(0)).join()) : store.appendBatchAsync(batch).join();
            StringBuilder lines = new StringBuilder();
            for (int i = 0; i < n; i++) {
                lines.append("ACK ").append(acks.get(i).queueId()).append(' ').append(acks.get(i).queueOffset()).append(' ')
                        .append(seed - n + i).append(' ').append(acks.get(i).physicalOffset()).append(" .\n");
            }
            StoreTestSupport.emit(out, lines.toString());
        }
    }
}
