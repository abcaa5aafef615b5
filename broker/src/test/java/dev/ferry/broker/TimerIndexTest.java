package dev.ferry.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class TimerIndexTest {
    @Test
    void givesEntriesOutInTimeOrderOnlyWhenDueLikeATreeSet() {
        TimerIndex idx = new TimerIndex(100);
        TreeSet<long[]> oracle = new TreeSet<>((x, y) -> x[0] != y[0] ? Long.compare(x[0], y[0]) : Long.compare(x[1], y[1]));
        SplittableRandom r = new SplittableRandom(1);
        long now = 1_000_000;
        long offset = 0;
        long[] out = new long[2];
        for (int step = 0; step < 20_000; step++) {
            if (r.nextInt(3) > 0) {
                long at = now + r.nextLong(-50, 5_000);
                idx.add(at, offset);
                oracle.add(new long[] {at, offset++});
            } else {
                now += r.nextInt(0, 40);
            }
            while (idx.pollDue(now, out)) {
                long[] want = oracle.pollFirst();
                assertEquals(want[0], out[0]);
                assertEquals(want[1], out[1]);
                assertTrue(out[0] <= now);
            }
            assertTrue(oracle.isEmpty() || oracle.first()[0] > now, "a due entry was not handed out");
        }
    }

    /** A million pending entries over 30 days: loose checks of memory and time, no timing assert. */
    @Test
    void holdsAMillionPendingCompactly() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        long t0 = System.nanoTime();
        TimerIndex idx = new TimerIndex(60_000);
        SplittableRandom r = new SplittableRandom(2);
        long now = 1_700_000_000_000L;
        for (int i = 0; i < 1_000_000; i++) {
            idx.add(now + r.nextLong(1, 30L * 24 * 3600 * 1000), i);
        }
        long addMs = (System.nanoTime() - t0) / 1_000_000;
        System.gc();
        long used = rt.totalMemory() - rt.freeMemory() - before;
        assertEquals(1_000_000, idx.size());
        long[] out = new long[2];
        long t1 = System.nanoTime();
        int n = 0;
        long last = Long.MIN_VALUE;
        while (idx.pollDue(now + 30L * 24 * 3600 * 1000, out)) {
            assertTrue(out[0] >= last);
            last = out[0];
            n++;
        }
        assertEquals(1_000_000, n);
        System.out.printf("TimerIndex: 1,000,000 pending: ~%d bytes each, add %d ms, drain %d ms%n", used / 1_000_000, addMs,
                (System.nanoTime() - t1) / 1_000_000);
        assertTrue(used < 100L << 20, "memory for 1M pending: " + used + " bytes");
    }
}
