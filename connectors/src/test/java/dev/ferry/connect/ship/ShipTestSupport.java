package dev.ferry.connect.ship;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.TaskContext;
import dev.ferry.log.AppendResult;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** A real store with small files, a task context, and waiting helpers for the shipping tests. */
final class ShipTestSupport {
    static final int SEGMENT_BYTES = 1 << 20;
    static final int INDEX_ENTRIES = 1000;
    static final int KEY_ENTRIES = 2000;
    static final String TOPIC = "orders";
    static final int QUEUES = 4;
    static final int BODY_BYTES = 900;

    private ShipTestSupport() {
    }

    static LogConfig.Builder storeConfig(Path dir) {
        return LogConfig.builder(dir).segmentBytes(SEGMENT_BYTES).indexEntriesPerFile(INDEX_ENTRIES).keyIndexSlots(256)
                .keyIndexEntries(KEY_ENTRIES).preTouch(false).retentionCheckIntervalMs(3_600_000)
                .checkpointIntervalMs(3_600_000);
    }

    static MessageStore openStore(Path dir) {
        MessageStore store = MessageStore.open(storeConfig(dir).build());
        store.createQueues(TOPIC, QUEUES);
        return store;
    }

    /** Appends keyed messages worth about {@code bytes} of commit log, then flushes and checkpoints. */
    static List<AppendResult> fill(MessageStore store, long bytes, int firstSeq) {
        List<AppendResult> out = new ArrayList<>();
        long written = 0;
        for (int seq = firstSeq; written < bytes; seq++) {
            AppendResult r = store.append(LogMessage.builder(TOPIC, seq % QUEUES, body(seq)).key("k" + seq).build());
            out.add(r);
            written += r.size();
        }
        store.flush();
        return out;
    }

    static byte[] body(int seq) {
        byte[] b = new byte[BODY_BYTES];
        long x = seq * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < b.length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static ConnectorConfig config(String... keyValues) {
        Map<String, String> m = new HashMap<>();
        m.put("name", "ship-test");
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return new ConnectorConfig(m);
    }

    /** A real (not mocked) context: what the runtime would hand a task. */
    record Context(ConnectorConfig config, Path stateDir) implements TaskContext {
        @Override
        public Map<String, String> committedPosition() {
            return Map.of();
        }

        @Override
        public Clock clock() {
            return Clock.systemUTC();
        }

        @Override
        public String server() {
            return "127.0.0.1:9876";
        }
    }

    /** Files (relative path to bytes) under {@code root} whose last name component is a 20-digit number. */
    static TreeMap<String, byte[]> numberedFiles(Path root, String sub) {
        TreeMap<String, byte[]> out = new TreeMap<>();
        Path dir = root.resolve(sub);
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isRegularFile(p) && n.matches("[0-9]{20}")) {
                    out.put(root.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Asserts every file of the archive (outside MANIFEST and parts) is byte-identical to the broker's. */
    static void assertIdenticalToSource(Path archive, Path logDir) {
        for (String sub : List.of("commitlog", "index", "keyindex")) {
            TreeMap<String, byte[]> shipped = numberedFiles(archive, sub);
            for (var e : shipped.entrySet()) {
                Path src = logDir.resolve(e.getKey());
                try {
                    assertThat(Files.readAllBytes(src)).as("archive file %s equals the broker's", e.getKey())
                            .isEqualTo(e.getValue());
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
        }
    }

    /** Waits up to {@code timeout} for {@code condition}, polling; fails naming {@code what}. */
    static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object monitor = new Object();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            synchronized (monitor) {
                monitor.wait(2); // polling a condition, bounded by the deadline above
            }
        }
    }

    /** Runs a task on its own thread; the returned thread records a failure in {@code failure[0]}. */
    static Thread start(String name, dev.ferry.connect.ServiceTask task, TaskContext ctx, Throwable[] failure) {
        Thread t = new Thread(() -> {
            try {
                task.run(ctx);
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
