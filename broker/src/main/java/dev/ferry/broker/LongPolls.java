package dev.ferry.broker;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Fetches parked until their queue has a message past their offset, or until their wait ends.
 * Appends call {@link #arrived}; a parked fetch fires at most once, on arrival or on timeout.
 *
 * <p>No lost wake-up: a fetch registers first and then checks the queue's end again, so an
 * append that slips in between is seen by one or the other.
 *
 * <p>A parked fetch can be cancelled ({@link Parked#cancel}): its client is gone, and left parked
 * it would hold its place (and be woken, and read for nobody) until its wait ends.
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

    /** A parked fetch; {@code fire} runs at most once, on arrival or timeout, never after {@link #cancel}. */
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
            if (unpark()) {
                fire.run();
            }
        }

        /** Unparks this fetch without firing it (its client is gone); nothing if it fired already. */
        void cancel() {
            unpark();
        }

        /** Takes this fetch out of its queue's waiting set, once: true for the caller that did. */
        private boolean unpark() {
            if (!fired.compareAndSet(false, true)) {
                return false;
            }
            Set<Parked> set = byQueue.get(key);
            if (set != null) {
                set.remove(this);
            }
            if (timeout != null) {
                timeout.cancel(false);
            }
            return true;
        }
    }

    /**
     * Parks a fetch of {@code topic}/{@code queueId} at {@code offset} for up to {@code waitMs};
     * {@code end} gives the queue's current end. Returns the parked fetch, to cancel it. {@code
     * draining} is read once the fetch is in its waiting set: true fires it at once (its front
     * began to stop, and a {@link #fireAll} that ran before the fetch was in the set missed it).
     */
    Parked park(String topic, int queueId, long offset, long waitMs, LongSupplier end, BooleanSupplier draining, Runnable fire) {
        String key = key(topic, queueId);
        Parked p = new Parked(key, offset, fire);
        byQueue.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(p);
        p.timeout = timer.schedule(p::fire, waitMs, TimeUnit.MILLISECONDS);
        if (draining.getAsBoolean() || end.getAsLong() > offset) {
            p.fire();
        }
        return p;
    }

    /** Fetches parked now, on every queue (for tests and metrics; counts the waiting sets). */
    int parked() {
        int n = 0;
        for (Set<Parked> set : byQueue.values()) {
            n += set.size();
        }
        return n;
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

    /** Fires every parked fetch (a front's drain, the broker's close). */
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
