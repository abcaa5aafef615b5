package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kill -9 while retention deletes segments and checkpoints are written all the time
 * ({@link RetainingWriter}), under SYNC flush and under ASYNC through the staging ring or through
 * the mappings (no other kill test covers that last one): after each kill the store opens, every
 * acknowledged record that retention has not deleted is served at its acknowledged offset,
 * byte-equal and found by its key;
 * none in a segment retention kept is missing from the front of its queue (as if deleted);
 * no record is served twice or at another offset; and each queue continues its offsets past every
 * acknowledged one, also when retention deleted all of its records (an offset handed out twice would
 * let a consumer skip the new record as already read).
 */
class RetentionKillTest {
    private static final int ROUNDS = 12;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}, staged writes: {1}")
    @CsvSource({"SYNC, false", "ASYNC, true", "ASYNC, false"})
    void everyAcknowledgedRecordRetentionKeptSurvivesKillDashNine(FlushMode mode, boolean staged) throws Exception {
        long runSeed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(runSeed);
        Path dir = tmp.resolve("store");
        Map<Integer, TreeMap<Long, Ack>> acked = new HashMap<>();
        for (int round = 1; round <= ROUNDS; round++) {
            String where = mode + (staged ? " staged" : "") + ", run seed " + runSeed + ", round " + round;
            runAndKill(dir, mode, staged, round, random.nextInt(1, 400), acked, where);
            verify(dir, mode, staged, acked, where);
        }
        try (MessageStore store = MessageStore.open(RetainingWriter.config(dir, mode, staged))) {
            store.runRetention(); // a pass now, whether or not the children ran one before they were killed
            int emptied = RetainingWriter.QUEUES - 1;
            assertThat(store.minOffset(RetainingWriter.TOPIC, emptied)).as("run seed %d: queue %d, written in round 1 only, was"
                    + " emptied by retention", runSeed, emptied).isEqualTo(store.nextOffset(RetainingWriter.TOPIC, emptied));
        }
    }

    /** Starts a child, kills it (SIGKILL) after {@code killAfter} acknowledged records, and keeps every acknowledgement it printed. */
    private void runAndKill(Path dir, FlushMode mode, boolean staged, int round, int killAfter,
                            Map<Integer, TreeMap<Long, Ack>> acked, String where) throws Exception {
        Path stderr = tmp.resolve("child-" + round + ".err");
        Process child = StoreTestSupport.childJvm(RetainingWriter.class, dir.toString(), Integer.toString(round), mode.name(),
                Boolean.toString(staged))
                .redirectError(stderr.toFile()).start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            int acks = 0;
            boolean open = false;
            String line;
            while (!(open && acks >= killAfter) && (line = in.readLine()) != null) {
                String[] f = line.split(" ");
                if (line.equals("OPEN")) {
                    open = true;
                } else if (f.length == 6 && f[0].equals("ACK") && f[5].equals(".")) {
                    Ack before = acked.computeIfAbsent(Integer.parseInt(f[1]), k -> new TreeMap<>())
                            .put(Long.parseLong(f[2]), new Ack(Long.parseLong(f[3]), Long.parseLong(f[4])));
                    if (before != null) {
                        fail("%s: queue %s offset %s acknowledged twice, for seeds %d and %s", where, f[1], f[2], before.seed(), f[3]);
                    }
                    acks++;
                }
            }
            if (!(open && acks >= killAfter)) {
                fail("%s: child ended before the kill point (%d of %d acks); stderr:%n%s", where, acks, killAfter,
                        Files.readString(stderr));
            }
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).as("%s: child gone after SIGKILL", where).isTrue();
        }
    }

    /** An acknowledgement the child printed: the record's seed and its commit-log position. */
    private record Ack(long seed, long position) {}

    /** Opens the store without retention (a pass during the checks would delete what they read) and checks it. */
    private static void verify(Path dir, FlushMode mode, boolean staged, Map<Integer, TreeMap<Long, Ack>> acked, String where) {
        LogConfig config = RetainingWriter.builder(dir, mode, staged).retentionCheckIntervalMs(3_600_000).build();
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).as("%s: %s", where, store.recoveryReport()).isTrue();
            long logStart = store.minPhysicalOffset();
            for (Map.Entry<Integer, TreeMap<Long, Ack>> e : acked.entrySet()) {
                int q = e.getKey();
                long min = store.minOffset(RetainingWriter.TOPIC, q);
                long next = store.nextOffset(RetainingWriter.TOPIC, q);
                String at = where + ", queue " + q + " [" + min + ", " + next + ")";
                assertThat(next).as("%s: the queue's end is past its last acknowledged offset", at).isGreaterThan(e.getValue().lastKey());
                List<StoredMessage> all = StoreTestSupport.readAll(store, RetainingWriter.TOPIC, q);
                assertThat(all).as("%s: records served", at).hasSize((int) (next - min));
                for (int i = 0; i < all.size(); i++) {
                    StoredMessage m = all.get(i);
                    long seed = Long.parseLong(m.properties().get(RetainingWriter.SEED_PROPERTY));
                    assertThat(m.queueOffset()).as("%s: offset of the record served at %d", at, min + i).isEqualTo(min + i);
                    assertThat(m.queueId()).as("%s: queue of seed %d", at, seed).isEqualTo(q);
                    assertThat(store.readAt(m.physicalOffset())).as("%s: record of seed %d passes its checks", at, seed).isPresent();
                    Ack ack = e.getValue().get(min + i);
                    if (ack != null) {
                        assertThat(seed).as("%s: seed at acknowledged offset %d", at, min + i).isEqualTo(ack.seed());
                        assertThat(m.physicalOffset()).as("%s: position of seed %d", at, seed).isEqualTo(ack.position());
                    }
                    assertThat(m.body()).as("%s: body of seed %d", at, seed)
                            .isEqualTo(StoreTestSupport.body(m.body().length, seed));
                    assertThat(store.lookupByKey(RetainingWriter.TOPIC, "k" + seed, 3)).as("%s: key of seed %d", at, seed)
                            .extracting(StoredMessage::physicalOffset).containsExactly(m.physicalOffset());
                }
                for (long offset : e.getValue().tailMap(min).keySet()) {
                    assertThat(offset).as("%s: acknowledged offset %d is served", at, offset).isLessThan(next);
                }
                // below the queue's first offset only what retention deleted: records whose segment is gone
                for (Map.Entry<Long, Ack> a : e.getValue().headMap(min).entrySet()) {
                    assertThat(a.getValue().position()).as("%s: position of acknowledged offset %d, not served (the log starts at"
                            + " %d)", at, a.getKey(), logStart).isLessThan(logStart);
                }
            }
        }
    }
}
