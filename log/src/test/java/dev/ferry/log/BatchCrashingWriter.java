package dev.ferry.log;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The child process of {@link BatchCrashTest}: appends batches of 20..300 records (ASYNC flush,
 * small segments, so batches often span two segments) until it is killed. Each record carries
 * the properties {@code batch} (the batch's id), {@code n} (its size) and {@code i} (its index).
 * Prints {@code OPEN} once. Usage: {@code BatchCrashingWriter DIR ROUND}.
 */
public final class BatchCrashingWriter {
    private BatchCrashingWriter() {}

    static LogConfig config(Path dir) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(256 * 1024).indexEntriesPerFile(4096).keyIndexEntries(10_000).build();
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int round = Integer.parseInt(args[1]);
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        SplittableRandom r = new SplittableRandom(round);
        try (MessageStore store = MessageStore.open(config(dir))) {
            out.write("OPEN\n".getBytes(StandardCharsets.US_ASCII));
            long deadline = System.nanoTime() + 60_000_000_000L;
            for (long batch = (long) round << 32; System.nanoTime() < deadline; batch++) {
                int n = r.nextInt(20, 300);
                List<LogMessage> msgs = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    msgs.add(LogMessage.builder("batch-" + (batch % 2), (int) (batch % 3), StoreTestSupport.body(r.nextInt(0, 900), batch + i))
                            .property("batch", Long.toString(batch)).property("n", Integer.toString(n))
                            .property("i", Integer.toString(i)).build());
                }
                store.appendBatchAsync(msgs).join();
            }
        }
        System.exit(3);
    }
}
