package dev.ferry.log;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The child process of {@link StagedWritesTest}: opens the store with staged writes whose
 * committer, flusher and checkpoint never run on their own ({@link #config}), appends records of
 * {@link #message} until the log reaches {@code UNTIL}, printing one line per acknowledged append,
 * then {@code DONE}, and waits to be killed. What it appended is then only in the staging ring.
 *
 * <pre>
 * ACK queueOffset physicalOffset .     per acknowledged record, after append() returned
 * DONE                                 once the log reached UNTIL
 * </pre>
 *
 * Usage: {@code HoldingWriter DIR FIRST_SEED UNTIL}. It exits by itself (status 3) after 60 s.
 */
public final class HoldingWriter {
    static final String TOPIC = "held";
    /** Not a power of two, so the ring's end (a power of two) falls inside a segment and records wrap around it. */
    static final int SEGMENT = 100_000;

    private HoldingWriter() {}

    /** Staged writes that commit only when a reader, a flush or a full ring asks (all intervals: an hour). */
    static LogConfig config(Path dir) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(SEGMENT).flushMode(FlushMode.ASYNC).stagedWrites(true)
                .commitIntervalMs(3_600_000).flushIntervalMs(3_600_000).checkpointIntervalMs(3_600_000).build();
    }

    /** Record {@code seed}: bodies of 700 to 2,699 B, so records end at every kind of position. */
    static LogMessage message(long seed) {
        return LogMessage.builder(TOPIC, 0, StoreTestSupport.body(700 + (int) (seed * 7919 % 2000), seed))
                .property("seed", Long.toString(seed)).build();
    }

    /**
     * The parent's side: reads {@code child}'s lines until DONE, adding each acknowledged record's
     * queue offset and commit-log position; false if its output ended before DONE.
     */
    static boolean readAcks(Process child, List<Long> offsets, List<Long> positions) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ");
            if (line.equals("DONE")) {
                return true;
            }
            if (f.length == 4 && f[0].equals("ACK") && f[3].equals(".")) {
                offsets.add(Long.parseLong(f[1]));
                positions.add(Long.parseLong(f[2]));
            }
        }
        return false;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long until = Long.parseLong(args[2]);
        StoreTestSupport.exitAfterAMinute();
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        MessageStore store = MessageStore.open(config(dir));
        while (store.writtenOffset() < until) {
            AppendResult a = store.append(message(seed++));
            StoreTestSupport.emit(out, "ACK " + a.queueOffset() + " " + a.physicalOffset() + " .\n");
        }
        StoreTestSupport.emit(out, "DONE\n");
        Thread.sleep(Long.MAX_VALUE);
    }
}
