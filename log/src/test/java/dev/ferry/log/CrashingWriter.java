package dev.ferry.log;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The child process of {@link CrashRecoveryTest}: opens the store under the flush mode it is given
 * ({@link FlushMode#SYNC}: acknowledged after an fsync; {@link FlushMode#ASYNC}: acknowledged once in
 * the staging ring, see {@link StagingRing}) and appends from a few threads until it is killed, printing one line per acknowledged append
 * <i>after</i> {@code append()} returned:
 *
 * <pre>
 * OPEN                                    once, when the store is open
 * ACK topic queueId queueOffset seed .    per acknowledged record (the trailing "." marks a whole line)
 * </pre>
 *
 * Each line goes out in one {@code write} to the pipe (shorter than PIPE_BUF, so atomic). Every
 * message is a pure function of its seed ({@link #messageFor}), which the parent uses to
 * recompute and compare bodies. Usage: {@code CrashingWriter DIR ROUND THREADS SYNC|ASYNC}. As a guard
 * against orphans it exits by itself (status 3) after 60 s, which the parent would report.
 */
public final class CrashingWriter {
    static final String[] TOPICS = {"crash-a", "crash-b", "crash-c"};
    static final int QUEUES = 4;
    static final String SEED_PROPERTY = "seed";

    private CrashingWriter() {}

    /** The store configuration shared by the child and the parent that verifies it. */
    static LogConfig config(Path dir, FlushMode mode) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(128 * 1024).indexEntriesPerFile(64).flushMode(mode)
                .keyIndexEntries(100_000).preTouch(true).build(); // the default: the page warmer runs beside the appender
    }

    /** The one message that {@code seed} stands for: topic, queue, body size and bytes, tag and key derive from it. */
    static LogMessage messageFor(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        String topic = TOPICS[r.nextInt(TOPICS.length)];
        int queue = r.nextInt(QUEUES);
        int size = r.nextInt(10) == 0 ? r.nextInt(8_000, 20_000) : r.nextInt(0, 2_000);
        LogMessage.Builder b = LogMessage.builder(topic, queue, StoreTestSupport.body(size, seed))
                .property(SEED_PROPERTY, Long.toString(seed))
                .bornTimestamp(seed);
        if (r.nextBoolean()) {
            b.tags("tag" + r.nextInt(3));
        }
        if (r.nextInt(4) == 0) {
            b.key("k" + seed);
        }
        return b.build();
    }

    /** Seeds never repeat across rounds and threads. */
    static long seed(int round, int thread, int i) {
        return ((long) round << 40) | ((long) thread << 32) | i;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int round = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        FlushMode mode = FlushMode.valueOf(args[3]);
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        StoreTestSupport.exitAfterAMinute();
        MessageStore store = MessageStore.open(config(dir, mode));
        StoreTestSupport.emit(out, "OPEN\n");
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread w = new Thread(() -> {
                for (int i = 0; ; i++) {
                    long seed = seed(round, thread, i);
                    AppendResult a = store.append(messageFor(seed));
                    StoreTestSupport.emit(out, "ACK " + a.topic() + " " + a.queueId() + " " + a.queueOffset() + " " + seed + " .\n");
                }
            }, "writer-" + t);
            w.start();
        }
        Thread.sleep(Long.MAX_VALUE);
    }
}
