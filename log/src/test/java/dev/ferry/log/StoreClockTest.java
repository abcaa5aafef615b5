package dev.ferry.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Store timestamps come from a ticking cached clock when the store runs on the system clock
 * ({@link StoreClock}). What a user relies on: a record's store timestamp is the wall-clock time
 * of its append (to within the documented few milliseconds; these tests allow a second, far
 * beyond any scheduling delay, so they check staleness, not speed), timestamps never go back, an
 * idle store does not keep a thread waking every millisecond, and a store given another clock
 * uses exactly that clock.
 */
class StoreClockTest {
    private static final long STALE_MS = 1_000;

    @TempDir
    Path dir;

    @Test
    void storeTimestampsFollowTheWallClockAndNeverGoBack() {
        try (MessageStore store = MessageStore.open(StoreTestSupport.smallConfig(dir).build())) {
            long last = Long.MIN_VALUE;
            long end = System.currentTimeMillis() + STALE_MS + 500; // longer than the allowed staleness: a frozen ticker fails
            int n = 0;
            while (System.currentTimeMillis() < end || n < 1000) {
                long before = System.currentTimeMillis();
                AppendResult r = store.append(StoreTestSupport.message("t", 0, "m" + n));
                long after = System.currentTimeMillis();
                assertTrue(r.storeTimestamp() <= after, "store timestamp " + r.storeTimestamp() + " after the append returned at " + after);
                assertTrue(r.storeTimestamp() >= before - STALE_MS, "store timestamp " + r.storeTimestamp() + " stale at " + before);
                assertTrue(r.storeTimestamp() >= last, "store timestamp went back from " + last + " to " + r.storeTimestamp());
                last = r.storeTimestamp();
                n++;
            }
            assertEquals(last, store.readMessages("t", 0, n - 1, 1).get(0).storeTimestamp());
        }
    }

    @Test
    void anIdleStoreParksItsTickerAndItsNextAppendGetsTheCurrentTime() throws InterruptedException {
        try (MessageStore store = MessageStore.open(StoreTestSupport.smallConfig(dir).build())) {
            store.append(StoreTestSupport.message("t", 0, "first"));
            waitForTickerState(store.storeClock(), Thread.State.WAITING);
            long before = System.currentTimeMillis();
            AppendResult r = store.append(StoreTestSupport.message("t", 0, "after idling"));
            assertTrue(r.storeTimestamp() >= before, "after idling the store read the clock itself: " + r.storeTimestamp()
                    + " < " + before);
        }
    }

    @Test
    void aStoreGivenAnotherClockUsesExactlyThatClock() {
        Clock fixed = Clock.fixed(Instant.parse("2030-01-02T03:04:05.678Z"), ZoneOffset.UTC);
        try (MessageStore store = MessageStore.open(StoreTestSupport.smallConfig(dir).clock(fixed).build())) {
            AppendResult r = store.append(StoreTestSupport.message("t", 0, "x"));
            assertEquals(fixed.millis(), r.storeTimestamp());
            Optional<StoredMessage> m = store.readAt(r.physicalOffset());
            assertEquals(fixed.millis(), m.orElseThrow().storeTimestamp());
        }
    }

    /** Returns once {@code clock}'s ticker thread is in {@code state}, polling for up to 10 s. */
    private static void waitForTickerState(StoreClock clock, Thread.State state) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        Thread.State seen = clock.tickerState();
        while (seen != state && System.nanoTime() < deadline) {
            Thread.sleep(50);
            seen = clock.tickerState();
        }
        assertEquals(state, seen, "the store's ticker within 10 s of the last append (an idle store's ticker parks without a timeout)");
    }
}
