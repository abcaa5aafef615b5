package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Append batches are all or nothing across a kill -9: a child JVM ({@link BatchCrashingWriter})
 * appends batches of 20..300 records; the parent kills it at a random moment, reopens the store
 * and checks that every batch it finds is whole (all n records, indexes 0..n-1, contiguous queue
 * offsets) — a batch cut by the kill must be gone entirely. Rounds share one directory.
 */
class BatchCrashTest {
    private static final int ROUNDS = 6;

    @TempDir
    Path tmp;

    @Test
    void everyBatchIsWhollyPresentOrWhollyAbsentAfterKillDashNine() throws Exception {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        Path dir = tmp.resolve("store");
        int tornDropped = 0;
        long batchesSeen = 0;
        for (int round = 1; round <= ROUNDS; round++) {
            Process child = StoreTestSupport.childJvm(BatchCrashingWriter.class, dir.toString(), Integer.toString(round))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] open = child.getInputStream().readNBytes(5);
            assertThat(new String(open)).as("child output (seed %d round %d)", seed, round).isEqualTo("OPEN\n");
            Thread.sleep(random.nextInt(50, 400));
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            try (MessageStore store = MessageStore.open(BatchCrashingWriter.config(dir))) {
                if (store.recoveryReport().truncateReason().contains("incomplete append batch")) {
                    tornDropped++;
                }
                Map<String, int[]> batches = new HashMap<>();
                for (String topic : List.of("batch-0", "batch-1")) {
                    for (int q : store.queueIds(topic)) {
                        long end = store.nextOffset(topic, q);
                        for (long off = store.minOffset(topic, q); off < end; ) {
                            List<StoredMessage> ms = store.readMessages(topic, q, off, 1000);
                            for (StoredMessage m : ms) {
                                String id = m.properties().get("batch");
                                int n = Integer.parseInt(m.properties().get("n"));
                                int i = Integer.parseInt(m.properties().get("i"));
                                int[] seen = batches.computeIfAbsent(id, k -> new int[] {0, n});
                                assertThat(i).as("batch %s record order (seed %d round %d)", id, seed, round).isEqualTo(seen[0]);
                                assertThat(m.flags()).as("engine flag bits are not reported").isZero();
                                seen[0]++;
                            }
                            off += ms.size();
                        }
                    }
                }
                for (Map.Entry<String, int[]> e : batches.entrySet()) {
                    assertThat(e.getValue()[0]).as("records of batch %s (seed %d round %d)", e.getKey(), seed, round)
                            .isEqualTo(e.getValue()[1]);
                }
                batchesSeen = batches.size();
            }
        }
        System.out.printf("BatchCrashTest: %d batches whole after %d kills; %d recoveries dropped a torn batch%n", batchesSeen, ROUNDS,
                tornDropped);
        assertThat(batchesSeen).isPositive();
    }
}
