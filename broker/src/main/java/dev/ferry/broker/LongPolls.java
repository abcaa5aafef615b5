package dev.ferry.broker;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * Fetches parked until their queue has a message past their offset, or until their wait ends.
 * Appends call {@link #arrived}; a parked fetch fires at most once, on arrival or on timeout.
 *
 * <p>No lost wake-up: a fetch registers first and then checks the queue's end again, so an
 * append that slips in between is seen by one or the other.
 *
 * <p><b>Thread safety.</b> Safe for any threads; the waiting sets are concurrent and each
 * parked fetch fires through a compare-and-set.
 */
final class LongPolls {
    private final ScheduledExecutorService timer;
    private final ConcurrentHashMap<String, Set<Parked>> byQueue = new ConcurrentHashMap<>();

    LongPolls(ScheduledExecutorService timer) {
        this.timer = timer;
    }

    /** A parked fetch; {@code fire} runs exactly once, on arrival or timeout. */
    final class Parked {
        private final String key;
        private final long offset;
        private final Runnable fire;
        private final AtomicBoolean fired = new AtomicBoolean();
        private ScheduledFuture<?> timeout;

        private Parked(String key, long offset, Runnable fire) {
            this.key = key;
            this.offset = offset;
            this.fire = fire;
        }

        void fire() {
            if (fired.compareAndSet(false, true)) {
                Set<Parked> set = byQueue.get(key);
                if (set != null) {
                    set.remove(this);
                }
                if (timeout != null) {
                    timeout.cancel(false);
                }
                fire.run();
            }
        }
    }

    /**
     * Parks a fetch of {@code topic}/{@code queueId} at {@code offset} for up to {@code waitMs};
     * {@code end} gives the queue's current end.
     */
    void park(String topic, int queueId, long offset, long waitMs, LongSupplier end, Runnable fire) {
        String key = key(topic, queueId);
        Parked p = new Parked(key, offset, fire);
        byQueue.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(p);
        p.timeout = timer.schedule(p::fire, waitMs, TimeUnit.MILLISECONDS);
        if (end.getAsLong() > offset) {
            p.fire();
        }
    }

    /** Wakes the fetches of {@code topic}/{@code queueId} waiting below {@code end}. */
    void arrived(String topic, int queueId, long end) {
        if (byQueue.isEmpty()) {
            return;
        }
        Set<Parked> set = byQueue.get(key(topic, queueId));
        if (set == null || set.isEmpty()) {
            return;
        }
        for (Parked p : set) {
            if (p.offset < end) {
                p.fire();
            }
        }
    }

    /** Fires every parked fetch (shutdown). */
    void fireAll() {
        for (Set<Parked> set : byQueue.values()) {
            for (Parked p : set) {
                p.fire();
            }
        }
    }

    private static String key(String topic, int queueId) {
        return topic + '\u0000' + queueId;
    }
}
