package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Small helpers shared by the storage tests. */
final class StoreTestSupport {
    /** Record size of a message on topic "t" with no properties and IPv4 hosts: 96 + body. */
    static final int HEADER_FOR_TOPIC_T = RecordLayout.recordSize(0, 1, 0, 0);

    private StoreTestSupport() {}

    /**
     * For a child process of a kill test: a daemon thread that exits the process (status 3, which
     * the parent reports) after 60 s, so a child the parent lost never lingers.
     */
    static void exitAfterAMinute() {
        Thread guard = new Thread(() -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                return;
            }
            System.exit(3);
        });
        guard.setDaemon(true);
        guard.start();
    }

    /**
     * For a child process of a kill test: writes {@code line} to {@code out} in one {@code write}
     * (atomic on a pipe below PIPE_BUF), one thread at a time; halts (status 4) if the parent is gone.
     */
    static void emit(java.io.FileOutputStream out, String line) {
        byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
        synchronized (out) {
            try {
                out.write(bytes);
            } catch (IOException e) {
                Runtime.getRuntime().halt(4);
            }
        }
    }

    /**
     * A child JVM for a kill test: small heap, serial GC, C1 only (it starts fast and is killed
     * soon), this test run's class path, running {@code main} with {@code args}.
     */
    static ProcessBuilder childJvm(Class<?> main, String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /** Deletes {@code root} and everything under it; it must exist. */
    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    static LogConfig.Builder smallConfig(Path dir) {
        return LogConfig.builder(dir).segmentBytes(64 * 1024).indexEntriesPerFile(100).keyIndexSlots(64).keyIndexEntries(1000)
                .preTouch(false);
    }

    static byte[] body(int size, long seed) {
        byte[] b = new byte[size];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static LogMessage message(String topic, int queue, String body) {
        return LogMessage.builder(topic, queue, body.getBytes(StandardCharsets.UTF_8)).build();
    }

    static String text(StoredMessage m) {
        return new String(m.body(), StandardCharsets.UTF_8);
    }

    /** Every message of {@code topic}/{@code queueId} from its minimum offset to its end, in batches. */
    static List<StoredMessage> readAll(MessageStore store, String topic, int queueId) {
        List<StoredMessage> out = new ArrayList<>();
        long next = store.nextOffset(topic, queueId);
        for (long off = store.minOffset(topic, queueId); off < next; ) {
            List<StoredMessage> batch = store.readMessages(topic, queueId, off, 500);
            if (batch.isEmpty()) {
                throw new AssertionError(topic + "/" + queueId + ": read at " + off + " returned nothing (end " + next + ")");
            }
            out.addAll(batch);
            off += batch.size();
        }
        return out;
    }

    /** Base offsets of the segment-named files in {@code dir} (e.g. DIR/commitlog), read from disk. */
    static TreeSet<Long> filesOnDisk(Path dir) {
        TreeSet<Long> out = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString()).filter(FileNames::isSegmentName).forEach(n -> out.add(Long.parseLong(n)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** A clock the test moves by hand; thread-safe (the store reads it from its own threads). */
    static final class MutableClock extends Clock {
        private volatile long millis;

        MutableClock(long startMillis) {
            this.millis = startMillis;
        }

        void set(long ms) {
            millis = ms;
        }

        void advance(long ms) {
            millis += ms;
        }

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("fixed to UTC");
        }
    }

    /** Blocks a file occupies on disk, as {@code du} reports them (KiB); skips the test where there is no du. */
    static long allocatedKiB(Path file) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("du", "-k", file.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no du here: " + e.getMessage());
            return 0;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assumeTrue(p.waitFor() == 0, "du failed: " + out);
        return Long.parseLong(out.split("\\s+")[0]);
    }

    /** Pages of a file range in the page cache, and of those the ones not yet written back (dirty or under writeback). */
    record PageCache(long cached, long dirty) {}

    /**
     * The page cache's pages of {@code file} in [off, off + len), by cachestat(2) (Linux 6.5+, called
     * through python3); skips the test where it cannot be called.
     */
    static PageCache pageCache(Path file, long off, long len) throws IOException, InterruptedException {
        String script = String.join("\n",
                "import ctypes, os, sys",
                "libc = ctypes.CDLL(None, use_errno=True)",
                "class R(ctypes.Structure): _fields_ = [('off', ctypes.c_uint64), ('len', ctypes.c_uint64)]",
                "class S(ctypes.Structure): _fields_ = [(n, ctypes.c_uint64) for n in ('cache', 'dirty', 'writeback', 'evicted', 'recent')]",
                "fd = os.open(sys.argv[1], os.O_RDONLY)",
                "r = R(int(sys.argv[2]), int(sys.argv[3])); s = S()",
                "rc = libc.syscall(451, fd, ctypes.byref(r), ctypes.byref(s), 0)",
                "print(f'{s.cache} {s.dirty + s.writeback}' if rc == 0 else -1)");
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", script, file.toString(), Long.toString(off), Long.toString(len))
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no python3 to call cachestat(2): " + e.getMessage());
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor(30, TimeUnit.SECONDS);
        String[] fields = out.split(" ");
        assumeTrue(fields.length == 2 && fields[0].chars().allMatch(Character::isDigit) && fields[1].chars().allMatch(Character::isDigit),
                "cachestat(2) not available here: " + out);
        return new PageCache(Long.parseLong(fields[0]), Long.parseLong(fields[1]));
    }

    /** A copy of the store's checkpoint as it is now, for {@link #crashAfterCheckpoint}. */
    static Path saveCheckpoint(Path dir) throws IOException {
        return Files.copy(dir.resolve(Checkpoint.FILE), dir.resolve(Checkpoint.FILE + ".saved"));
    }

    /**
     * Leaves the store as a crash before the next checkpoint after {@code saved} would leave it:
     * that checkpoint back in place, and the abort marker.
     */
    static void crashAfterCheckpoint(Path dir, Path saved) throws IOException {
        Files.move(saved, dir.resolve(Checkpoint.FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.createFile(dir.resolve("abort"));
    }

    /** Spins until {@code path} exists or {@code task} is done (fails after 2 minutes): a test catching a creation under way. */
    static void awaitExistsOrDone(Path path, Future<?> task) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!Files.exists(path) && !task.isDone()) {
            assertThat(System.nanoTime()).as("%s within 2 minutes", path).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }
}
