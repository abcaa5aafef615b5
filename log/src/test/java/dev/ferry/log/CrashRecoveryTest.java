package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Kill -9 durability: a child JVM ({@link CrashingWriter}) appends, under {@link FlushMode#SYNC}
 * (acknowledged after an fsync) and under {@link FlushMode#ASYNC} (acknowledged once in the
 * staging ring's page cache: recovery writes back what the committer had not copied yet), from three threads to three topics x four queues, with bodies of 0 B to 20 KB in 128 KiB
 * segments (so every round rolls segments), and prints each acknowledged record. The parent
 * kills it with {@link Process#destroyForcibly()} (SIGKILL) after a random number of acks
 * (sometimes none: right after it opened), reopens the store and checks that
 *
 * <ul>
 *   <li>recovery knows it was a crash ({@code crashed=true}) and the child did not exit on its own;</li>
 *   <li>every acknowledged record is there, at its acknowledged queue offset, byte-equal;</li>
 *   <li>every record the store serves passes its CRC ({@link MessageStore#readAt}), decodes to the
 *       message its seed stands for, lies at consecutive queue offsets, and appears once.</li>
 * </ul>
 *
 * <p>All rounds share one directory: the parent closes the store cleanly after checking it, and
 * the next child appends on top of what the previous recoveries kept, so later rounds also test
 * that appends continue correctly after a recovery. The random seed is in every failure message.
 */
class CrashRecoveryTest {
    private static final int ROUNDS = 24;
    private static final int THREADS = 3;
    private static final long CHILD_DEADLINE_S = 30;

    @TempDir
    Path tmp;

    private record Queue(String topic, int queueId) {}

    @ParameterizedTest(name = "{0}")
    @EnumSource(FlushMode.class)
    void everyAcknowledgedRecordSurvivesKillDashNine(FlushMode mode) throws Exception {
        long runSeed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(runSeed);
        Path dir = tmp.resolve("store");
        Map<Queue, TreeMap<Long, Long>> acked = new HashMap<>();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crash-test-watchdog");
            t.setDaemon(true);
            return t;
        });
        try {
            long totalAcks = 0;
            long restored = 0;
            for (int round = 1; round <= ROUNDS; round++) {
                String where = mode + ", run seed " + runSeed + ", round " + round;
                int killAfter = random.nextInt(6) == 0 ? 0 : random.nextInt(1, 300);
                totalAcks += runAndKill(dir, mode, round, killAfter, acked, watchdog, where);
                restored += verify(dir, mode, acked, where);
            }
            assertThat(totalAcks).as("acks over all rounds (run seed %d)", runSeed).isGreaterThan(ROUNDS);
            System.out.printf("CrashRecoveryTest %s: %d acks in %d rounds, %d records restored from the staging ring%n", mode,
                    totalAcks, ROUNDS, restored);
        } finally {
            watchdog.shutdownNow();
        }
    }

    /** Starts a child, kills it after {@code killAfter} acks, records every ack it printed; returns their number. */
    private long runAndKill(Path dir, FlushMode mode, int round, int killAfter, Map<Queue, TreeMap<Long, Long>> acked,
                            ScheduledExecutorService watchdog, String where) throws Exception {
        Path stderr = tmp.resolve("child-" + round + ".err");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), CrashingWriter.class.getName(),
                dir.toString(), Integer.toString(round), Integer.toString(THREADS), mode.name())
                .redirectError(stderr.toFile())
                .start();
        // if the child hangs, kill it so the pipe closes and the read below fails with a message
        ScheduledFuture<?> deadline = watchdog.schedule(child::destroyForcibly, CHILD_DEADLINE_S, TimeUnit.SECONDS);
        long acks = 0;
        boolean open = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            String line;
            while (!(open && acks >= killAfter) && (line = in.readLine()) != null) {
                if (line.equals("OPEN")) {
                    open = true;
                } else if (record(line, acked, where)) {
                    acks++;
                }
            }
            if (!(open && acks >= killAfter)) {
                fail("%s: child ended before the kill point (open=%s, %d of %d acks, exit %s); stderr:%n%s", where, open, acks,
                        killAfter, child.isAlive() ? "none" : child.exitValue(), Files.readString(stderr));
            }
            // Process.destroyForcibly() sends SIGKILL and closes our end of the pipe, so acks the
            // child printed after the kill point are not seen: the checked set is a subset of the
            // real acks, which keeps the check sound.
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).as("%s: child gone 10 s after SIGKILL", where).isTrue();
        } finally {
            deadline.cancel(false);
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).as("%s: exit status of the child (137 = killed by SIGKILL, not a graceful exit); stderr: %s",
                where, Files.readString(stderr)).isEqualTo(128 + 9);
        return acks;
    }

    /** Records one "ACK topic queue offset seed ." line; false for anything else (a torn last line). */
    private static boolean record(String line, Map<Queue, TreeMap<Long, Long>> acked, String where) {
        String[] f = line.split(" ");
        if (f.length != 6 || !f[0].equals("ACK") || !f[5].equals(".")) {
            return false;
        }
        Queue q = new Queue(f[1], Integer.parseInt(f[2]));
        long offset = Long.parseLong(f[3]);
        long seed = Long.parseLong(f[4]);
        Long before = acked.computeIfAbsent(q, k -> new TreeMap<>()).put(offset, seed);
        if (before != null) {
            fail("%s: %s offset %d acknowledged twice, for seeds %d and %d", where, q, offset, before, seed);
        }
        return true;
    }

    /** Checks the reopened store; returns how many records recovery restored from the staging ring. */
    private static long verify(Path dir, FlushMode mode, Map<Queue, TreeMap<Long, Long>> acked, String where) {
        try (MessageStore store = MessageStore.open(CrashingWriter.config(dir, mode))) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.crashed()).as("%s: recovery report says crashed: %s", where, report).isTrue();
            Set<Long> seeds = new HashSet<>();
            Map<Queue, List<StoredMessage>> stored = new HashMap<>();
            for (String topic : store.topics()) {
                for (int queueId : store.queueIds(topic)) {
                    List<StoredMessage> all = readAll(store, topic, queueId);
                    stored.put(new Queue(topic, queueId), all);
                    long first = store.minOffset(topic, queueId);
                    assertThat(first).as("%s: %s/%d minOffset (no retention here: every queue starts at 0; queue end %d)",
                            where, topic, queueId, store.nextOffset(topic, queueId)).isZero();
                    for (int i = 0; i < all.size(); i++) {
                        StoredMessage m = all.get(i);
                        String at = where + ", " + topic + "/" + queueId + " offset " + (first + i);
                        assertThat(m.queueOffset()).as("%s: queue offset of the record served there", at).isEqualTo(first + i);
                        assertThat(store.readAt(m.physicalOffset()))
                                .as("%s: record at %d must pass its checks (length, magic, position, CRC)", at, m.physicalOffset())
                                .isPresent();
                        String seedText = m.properties().get(CrashingWriter.SEED_PROPERTY);
                        assertThat(seedText).as("%s: seed property", at).isNotNull();
                        long seed = Long.parseLong(seedText);
                        assertThat(seeds.add(seed)).as("%s: seed %d served twice", at, seed).isTrue();
                        LogMessage expected = CrashingWriter.messageFor(seed);
                        assertThat(m.topic()).as("%s: topic of seed %d", at, seed).isEqualTo(expected.topic());
                        assertThat(m.queueId()).as("%s: queue of seed %d", at, seed).isEqualTo(expected.queueId());
                        assertThat(m.body()).as("%s: body of seed %d", at, seed).isEqualTo(bytes(expected));
                        assertThat(m.tags()).as("%s: tags of seed %d", at, seed)
                                .isEqualTo(expected.tags() == null ? "" : expected.tags());
                        assertThat(m.keys()).as("%s: keys of seed %d", at, seed).isEqualTo(expected.keys());
                        for (String key : expected.keys()) { // the dispatcher writes keys a step behind the appender
                            assertThat(store.lookupByKey(topic, key, 2)).as("%s: lookup of key %s", at, key)
                                    .extracting(StoredMessage::physicalOffset).containsExactly(m.physicalOffset());
                        }
                    }
                }
            }
            for (Map.Entry<Queue, TreeMap<Long, Long>> e : acked.entrySet()) {
                Queue q = e.getKey();
                List<StoredMessage> all = stored.getOrDefault(q, List.of());
                for (Map.Entry<Long, Long> ack : e.getValue().entrySet()) {
                    long offset = ack.getKey();
                    assertThat(offset).as("%s: acknowledged %s offset %d (seed %d) is missing: queue holds %d records",
                            where, q, offset, ack.getValue(), all.size()).isLessThan(all.size());
                    long servedSeed = Long.parseLong(all.get((int) offset).properties().get(CrashingWriter.SEED_PROPERTY));
                    assertThat(servedSeed).as("%s: seed of the record at acknowledged %s offset %d", where, q, offset)
                            .isEqualTo(ack.getValue());
                }
            }
            return store.recoveryReport().recordsRestored();
        }
    }

    private static byte[] bytes(LogMessage m) {
        java.nio.ByteBuffer b = m.body();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
