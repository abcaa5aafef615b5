package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Kill -9 (no power loss) with many small key files under ASYNC flush: a child JVM ({@link Writer})
 * appends a mix of keyed and unkeyed records (several keys on some, keys shared by records and
 * across topics, single appends and batches) and prints each acknowledged one; the parent kills it
 * at a random moment. Unkeyed records between the last keyed record of one key file and the first
 * of the next leave "gaps", so recovery ({@link KeyIndex#dropAfterFirstGap}) deletes the key files
 * made since the last checkpoint and indexes their keys again: that must lose and invent nothing.
 *
 * <p>After each kill the parent reopens the store and checks that every acknowledged record is
 * there, that every (topic, key) of every record present is found by {@link MessageStore#lookupByKey}
 * exactly at the records carrying it, that keys of records not present find nothing, and that the
 * key files hold an entry for each; then closes cleanly and reopens, which must delete no key file
 * and answer the same. Some rounds go on from the state the kill left (a copy taken before the
 * parent's check): the next child recovers it, appends, and is killed in turn (sometimes during its
 * own open), so the parent checks a recovery after a recovery.
 */
class KeyIndexKillTest {
    private static final int ROUNDS = Integer.getInteger("keykill.rounds", 12);
    private static final int THREADS = 2;
    private static final String[] TOPICS = {"ka", "kb", "kc"};
    private static final String SEED_PROPERTY = "seed";
    private static final String DELETING = "deleting the files from";

    @TempDir
    Path tmp;

    static LogConfig config(Path dir) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(256 * 1024).keyIndexSlots(16).keyIndexEntries(60)
                .flushMode(FlushMode.ASYNC).checkpointIntervalMs(150).build();
    }

    static LogMessage messageFor(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        String topic = TOPICS[r.nextInt(TOPICS.length)];
        int queue = r.nextInt(3);
        int size = r.nextInt(20) == 0 ? r.nextInt(1_000, 4_000) : r.nextInt(0, 300);
        LogMessage.Builder b = LogMessage.builder(topic, queue, StoreTestSupport.body(size, seed))
                .property(SEED_PROPERTY, Long.toString(seed));
        // about half the records carry no key: long unkeyed stretches between keyed ones
        int keys = r.nextInt(10) < 5 ? 0 : 1 + (r.nextInt(4) == 0 ? r.nextInt(1, 3) : 0);
        Set<String> used = new HashSet<>();
        for (int j = 0; j < keys; j++) {
            String k = r.nextInt(5) == 0 ? "shared" + r.nextInt(6) : "u" + seed + "-" + j;
            if (used.add(k)) {
                b.key(k);
            }
        }
        return b.build();
    }

    static long seed(int round, int thread, int i) {
        return ((long) round << 40) | ((long) thread << 32) | i;
    }

    /** The child: {@code Writer DIR ROUND}. Prints OPEN, then "ACK topic queue offset seed ." per acknowledged record. */
    public static final class Writer {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            int round = Integer.parseInt(args[1]);
            FileOutputStream out = new FileOutputStream(FileDescriptor.out);
            StoreTestSupport.exitAfterAMinute();
            MessageStore store = MessageStore.open(config(dir));
            StoreTestSupport.emit(out, "OPEN\n");
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(seed(round, thread, 0) + 7);
                    int i = 0;
                    try {
                        while (true) {
                            if (r.nextInt(5) == 0) {
                                List<LogMessage> batch = new ArrayList<>();
                                for (int n = r.nextInt(2, 6); n > 0; n--) {
                                    batch.add(messageFor(seed(round, thread, i++)));
                                }
                                List<AppendResult> rs = store.appendBatchAsync(batch).join();
                                StringBuilder s = new StringBuilder();
                                for (int n = 0; n < rs.size(); n++) {
                                    AppendResult a = rs.get(n);
                                    s.append("ACK ").append(a.topic()).append(' ').append(a.queueId()).append(' ')
                                            .append(a.queueOffset()).append(' ').append(seed(round, thread, i - rs.size() + n)).append(" .\n");
                                }
                                StoreTestSupport.emit(out, s.toString());
                            } else {
                                long seed = seed(round, thread, i++);
                                AppendResult a = store.append(messageFor(seed));
                                StoreTestSupport.emit(out, "ACK " + a.topic() + " " + a.queueId() + " " + a.queueOffset() + " " + seed + " .\n");
                            }
                            if (r.nextInt(3) == 0) {
                                Thread.sleep(1);
                            }
                        }
                    } catch (Throwable e) {
                        e.printStackTrace();
                        Runtime.getRuntime().halt(5);
                    }
                }, "writer-" + t).start();
            }
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    private record Queue(String topic, int queueId) {}

    private record KeyFileState(Object inode, long size, int entries) {}

    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final List<Integer> childDeletions = new ArrayList<>();
    private List<Integer> recoveryDeletions = List.of();

    @Test
    void keysSurviveKillDashNineWithManySmallKeyFiles() throws Exception {
        long runSeed = Long.getLong("keykill.seed", System.nanoTime());
        SplittableRandom random = new SplittableRandom(runSeed);
        Path dir = tmp.resolve("store");
        Map<Queue, TreeMap<Long, Long>> acked = new HashMap<>();
        Logger keyLogger = (Logger) LoggerFactory.getLogger(KeyIndex.class);
        logged.start();
        keyLogger.addAppender(logged);
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "key-kill-watchdog");
            t.setDaemon(true);
            return t;
        });
        long t0 = System.nanoTime();
        List<String> summary = new ArrayList<>();
        try {
            long totalAcks = 0;
            boolean chained = false;
            for (int round = 1; round <= ROUNDS; round++) {
                String where = "run seed " + runSeed + ", round " + round;
                // in a chained round the child recovers the last kill itself; sometimes it is killed during that open
                long killAtMs = chained && random.nextInt(3) == 0 ? random.nextInt(150, 700) : -1;
                long runMs = random.nextInt(50, 700);
                int childDeletedBefore = childDeletions.size();
                long acks = runAndKill(dir, round, killAtMs, runMs, acked, watchdog, where);
                totalAcks += acks;
                boolean chainNext = round < ROUNDS && random.nextInt(2) == 0;
                Path snapshot = tmp.resolve("snap-" + round);
                if (chainNext) {
                    copyTree(dir, snapshot);
                }
                int keyFilesBefore = keyFiles(dir).size();
                // sometimes the state a kill right after recovery's deletions leaves (before it indexed a key again)
                String interrupted = random.nextInt(3) == 0 ? ", " + deleteAsRecoveryWould(dir) + " files deleted as by a recovery killed then" : "";
                logged.list.clear();
                String checked = verify(dir, acked, where);
                List<Integer> deleted = recoveryDeletions;
                summary.add(String.format("round %d%s%s: %d acks, kill %s; key files at kill %d, deleted by the child's recovery %s,"
                                + " by the parent's %s; %s", round, chained ? " (child recovered the last kill)" : "", interrupted, acks,
                        killAtMs >= 0 ? "at " + killAtMs + " ms from start" : runMs + " ms after OPEN", keyFilesBefore,
                        childDeletions.subList(childDeletedBefore, childDeletions.size()), deleted, checked));
                if (chainNext) {
                    StoreTestSupport.deleteTree(dir);
                    Files.move(snapshot, dir);
                }
                chained = chainNext;
            }
            assertThat(totalAcks).as("acks over all rounds (run seed %d)", runSeed).isGreaterThan(ROUNDS * 50L);
        } finally {
            watchdog.shutdownNow();
            keyLogger.detachAppender(logged);
            summary.forEach(s -> System.out.println("KeyIndexKillTest " + s));
            System.out.printf("KeyIndexKillTest: run seed %d, %d s%n", runSeed, (System.nanoTime() - t0) / 1_000_000_000L);
        }
    }

    /** Sizes of the file lists of the "deleting the files" warnings logged since the last clear. */
    private List<Integer> deletions() {
        List<Integer> out = new ArrayList<>();
        for (ILoggingEvent e : logged.list) {
            if (e.getMessage().contains(DELETING)) {
                out.add(filesListed(e.getFormattedMessage())); // formatted when logged: the argument is a live view
            }
        }
        return out;
    }

    /** How many files a "deleting the files from X on ([a, b]), ..." warning lists. */
    private static int filesListed(String message) {
        int from = message.indexOf(" on ([");
        int to = message.indexOf("]), recovery");
        return from < 0 || to < 0 ? -1 : message.substring(from + 6, to).split(",").length;
    }

    /**
     * The child's next line, or null at its end, also when the kill from the watchdog thread closed
     * the stream under the read ({@code Process.destroyForcibly} closes the child's streams after
     * the signal: "Stream closed" instead of the end of the stream).
     */
    private static String readLine(BufferedReader in, ScheduledFuture<?> kill) throws IOException {
        try {
            return in.readLine();
        } catch (IOException e) {
            if (kill != null && kill.isDone()) {
                return null;
            }
            throw e;
        }
    }

    private long runAndKill(Path dir, int round, long killAtMs, long runMs, Map<Queue, TreeMap<Long, Long>> acked,
                            ScheduledExecutorService watchdog, String where) throws Exception {
        Path stderr = tmp.resolve("child-" + round + ".err");
        Process child = StoreTestSupport.childJvm(Writer.class, dir.toString(), Integer.toString(round))
                .redirectError(stderr.toFile()).start();
        long started = System.nanoTime();
        ScheduledFuture<?> deadline = watchdog.schedule(child::destroyForcibly, 30, TimeUnit.SECONDS);
        ScheduledFuture<?> kill = killAtMs >= 0 ? watchdog.schedule(child::destroyForcibly, killAtMs, TimeUnit.MILLISECONDS) : null;
        long acks = 0;
        long openAt = -1;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            String line;
            while ((line = readLine(in, kill)) != null) {
                if (line.equals("OPEN")) {
                    openAt = System.nanoTime();
                } else if (line.contains(DELETING)) {
                    childDeletions.add(filesListed(line));
                } else if (record(line, acked, where)) {
                    acks++;
                }
                if (killAtMs < 0 && openAt >= 0 && System.nanoTime() - openAt >= runMs * 1_000_000) {
                    break;
                }
            }
            if (killAtMs < 0 && openAt < 0) {
                fail("%s: child ended before OPEN (exit %s); stderr:%n%s", where, child.isAlive() ? "none" : child.exitValue(),
                        Files.readString(stderr));
            }
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).as("%s: child gone 10 s after SIGKILL", where).isTrue();
        } finally {
            deadline.cancel(false);
            if (kill != null) {
                kill.cancel(false);
            }
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).as("%s: exit status of the child (137 = SIGKILL); stderr: %s", where,
                Files.readString(stderr)).isEqualTo(128 + 9);
        return acks;
    }

    private static boolean record(String line, Map<Queue, TreeMap<Long, Long>> acked, String where) {
        String[] f = line.split(" ");
        if (f.length != 6 || !f[0].equals("ACK") || !f[5].equals(".")) {
            return false;
        }
        Queue q = new Queue(f[1], Integer.parseInt(f[2]));
        Long before = acked.computeIfAbsent(q, k -> new TreeMap<>()).put(Long.parseLong(f[3]), Long.parseLong(f[4]));
        if (before != null) {
            fail("%s: %s offset %s acknowledged twice", where, q, f[3]);
        }
        return true;
    }

    /** Recovery open + checks, clean close, clean reopen + checks; returns a line of numbers. */
    private String verify(Path dir, Map<Queue, TreeMap<Long, Long>> acked, String where) throws IOException {
        Map<String, Set<Long>> expected; // "topic#key" -> positions of the records carrying it
        long records;
        try (MessageStore store = MessageStore.open(config(dir))) {
            assertThat(store.recoveryReport().crashed()).as("%s: crashed", where).isTrue();
            Map<Long, StoredMessage> bySeed = new HashMap<>();
            expected = new HashMap<>();
            for (String topic : store.topics()) {
                for (int queueId : store.queueIds(topic)) {
                    for (StoredMessage m : readAll(store, topic, queueId)) {
                        long seed = Long.parseLong(m.properties().get(SEED_PROPERTY));
                        assertThat(bySeed.put(seed, m)).as("%s: seed %d served twice", where, seed).isNull();
                        LogMessage want = messageFor(seed);
                        assertThat(m.topic()).isEqualTo(want.topic());
                        assertThat(m.keys()).as("%s: keys of seed %d", where, seed).isEqualTo(want.keys());
                        for (String k : m.keys()) {
                            expected.computeIfAbsent(topic + "#" + k, x -> new HashSet<>()).add(m.physicalOffset());
                        }
                    }
                }
            }
            records = bySeed.size();
            for (Map.Entry<Queue, TreeMap<Long, Long>> e : acked.entrySet()) {
                for (Map.Entry<Long, Long> ack : e.getValue().entrySet()) {
                    StoredMessage m = bySeed.get(ack.getValue());
                    assertThat(m).as("%s: acknowledged seed %d (%s offset %d) missing", where, ack.getValue(), e.getKey(), ack.getKey())
                            .isNotNull();
                    assertThat(m.queueOffset()).isEqualTo(ack.getKey());
                }
            }
            checkLookups(store, expected, bySeed.keySet(), where + ", after recovery");
        }
        recoveryDeletions = deletions();
        Map<String, KeyFileState> afterRecovery = keyFiles(dir);
        String entries = checkKeyFiles(dir, expected, where);
        logged.list.clear();
        try (MessageStore store = MessageStore.open(config(dir))) {
            assertThat(store.recoveryReport().crashed()).as("%s: clean reopen", where).isFalse();
            assertThat(deletions()).as("%s: key files deleted by a clean reopen", where).isEmpty();
            assertThat(keyFiles(dir)).as("%s: key files after a clean reopen", where).isEqualTo(afterRecovery);
            checkLookups(store, expected, Set.of(), where + ", after a clean reopen");
        }
        assertThat(keyFiles(dir)).as("%s: key files after a clean reopen and close", where).isEqualTo(afterRecovery);
        return records + " records, " + expected.size() + " distinct keys, " + afterRecovery.size() + " key files after recovery, " + entries;
    }

    /** Every key finds exactly its records, once each; keys of seeds near the acknowledged ones that are not present find nothing. */
    private static void checkLookups(MessageStore store, Map<String, Set<Long>> expected, Set<Long> present, String where) {
        for (Map.Entry<String, Set<Long>> e : expected.entrySet()) {
            int hash = e.getKey().indexOf('#');
            String topic = e.getKey().substring(0, hash);
            String key = e.getKey().substring(hash + 1);
            List<Long> found = store.lookupByKey(topic, key, 1_000_000).stream().map(StoredMessage::physicalOffset).toList();
            assertThat(found).as("%s: lookupByKey(%s, %s) (%d records carry it)", where, topic, key, e.getValue().size())
                    .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(e.getValue());
        }
        for (String topic : TOPICS) {
            for (int k = 0; k < 6; k++) {
                if (!expected.containsKey(topic + "#shared" + k)) {
                    assertThat(store.lookupByKey(topic, "shared" + k, 100)).as("%s: shared%d in %s", where, k, topic).isEmpty();
                }
            }
        }
        // seeds just past each thread's last present one: not present, so their keys find nothing
        Map<Long, Long> lastPerThread = new HashMap<>();
        for (long s : present) {
            lastPerThread.merge(s >>> 32, s, Math::max);
        }
        for (long last : lastPerThread.values()) {
            for (long s = last + 1; s < last + 40; s++) {
                LogMessage m = messageFor(s);
                for (String k : m.keys()) {
                    if (k.startsWith("u")) {
                        assertThat(store.lookupByKey(m.topic(), k, 10)).as("%s: key %s of seed %d not present", where, k, s).isEmpty();
                    }
                }
            }
        }
    }

    /** Reads the key files: every (hash, position) a record present has must be there; reports duplicates and strays. */
    private static String checkKeyFiles(Path dir, Map<String, Set<Long>> expected, String where) throws IOException {
        Set<List<Long>> want = new HashSet<>();
        for (Map.Entry<String, Set<Long>> e : expected.entrySet()) {
            int hash = e.getKey().indexOf('#');
            long h = KeyIndex.hash(e.getKey().substring(0, hash), e.getKey().substring(hash + 1));
            for (long p : e.getValue()) {
                want.add(List.of(h, p));
            }
        }
        Set<List<Long>> have = new HashSet<>();
        long entries = 0;
        long duplicates = 0;
        long strays = 0;
        for (Path f : keyFilePaths(dir)) {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f));
            int slots = b.getInt(8);
            int count = b.getInt(16);
            for (int i = 0; i < count; i++) {
                int p = KeyIndex.HEADER_SIZE + slots * KeyIndex.SLOT_SIZE + i * KeyIndex.ENTRY_SIZE;
                List<Long> entry = List.of(b.getLong(p), b.getLong(p + 8));
                entries++;
                if (!have.add(entry)) {
                    duplicates++;
                }
                if (!want.contains(entry)) {
                    strays++;
                }
            }
        }
        Set<List<Long>> missing = new HashSet<>(want);
        missing.removeAll(have);
        assertThat(missing).as("%s: key entries of records present missing from the key files", where).isEmpty();
        return entries + " key entries (" + want.size() + " expected, " + duplicates + " duplicate, " + strays + " stray)";
    }

    /** What recovery does to the key files before it indexes keys again (dropAfterFirstGap), then stops as if killed; returns the files deleted. */
    private static int deleteAsRecoveryWould(Path dir) throws IOException {
        int before = keyFilePaths(dir).size();
        LogConfig c = config(dir);
        KeyIndex keys = new KeyIndex(dir.resolve("keyindex"), c.keyIndexSlots(), c.keyIndexEntries());
        try {
            keys.dropUncounted();
            keys.dropAfterFirstGap(Checkpoint.read(dir).map(Checkpoint::indexFlushedOffset).orElse(0L));
        } finally {
            keys.close();
        }
        return before - keyFilePaths(dir).size();
    }

    private static List<Path> keyFilePaths(Path dir) throws IOException {
        Path keys = dir.resolve("keyindex");
        if (!Files.isDirectory(keys)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(keys)) {
            return s.filter(p -> FileNames.isSegmentName(p.getFileName().toString())).sorted().toList();
        }
    }

    private static Map<String, KeyFileState> keyFiles(Path dir) throws IOException {
        Map<String, KeyFileState> out = new TreeMap<>();
        for (Path p : keyFilePaths(dir)) {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            ByteBuffer head = ByteBuffer.allocate(KeyIndex.HEADER_SIZE);
            try (var ch = java.nio.channels.FileChannel.open(p)) {
                ch.read(head, 0);
            }
            out.put(p.getFileName().toString(), new KeyFileState(a.fileKey(), a.size(), head.getInt(16)));
        }
        return out;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
