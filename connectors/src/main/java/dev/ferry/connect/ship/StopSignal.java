package dev.ferry.connect.ship;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Tells a task's thread to stop, and lets it wait (for its scan interval, or for a throttle)
 * in a way that ends at once when stopped. Thread-safe: a latch.
 */
final class StopSignal {
    private final CountDownLatch latch = new CountDownLatch(1);

    void stop() {
        latch.countDown();
    }

    boolean isStopped() {
        return latch.getCount() == 0;
    }

    /** Waits up to {@code d}; returns true if stopped meanwhile (or before). */
    boolean await(Duration d) throws InterruptedException {
        return d.isNegative() || d.isZero() ? isStopped() : latch.await(d.toNanos(), TimeUnit.NANOSECONDS);
    }
}
