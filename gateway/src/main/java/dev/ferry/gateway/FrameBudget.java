package dev.ferry.gateway;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One budget of memory for request frames being read, shared by every connection of a gateway
 * ({@code frames.max.buffered.bytes}), as Kafka's {@code queued.max.request.bytes}. Each
 * connection's frame limit and frame timeout bound what one connection holds, but not what all
 * of them hold together: without this, many clients each sending most of a maximum frame made the
 * broker hold connections × frame limit and fail with OutOfMemoryError. A {@link FrameDecoder}
 * reserves a frame's announced length here as soon as its length prefix is read, before its
 * buffer grows for the payload, and the reservation is returned when the frame is no longer held
 * ({@link Frame}) or is abandoned with its connection. A connection whose reservation does not fit
 * is not read until it does: its client sees back-pressure (TCP), not an error.
 *
 * <p><b>Fairness.</b> Waiters are served first come, first served, and a reservation is refused
 * while anyone waits, even one that would fit: so a stream of small frames cannot starve a
 * connection waiting for room for a large one. Memory returned is handed to the waiters at the
 * head of the queue directly ({@link Waiter#granted}), not left for them to race for. Since the
 * budget is at least one maximum frame (checked by {@link GatewayConfig}), the head waiter is
 * always served once the reservations before it are returned: no deadlock.
 *
 * <p><b>Thread safety.</b> Safe for any threads (one lock, held only to count); waiters are told
 * outside it, on the thread that returned the memory.
 */
final class FrameBudget {
    /** A connection waiting for room for one frame. */
    interface Waiter {
        /** The bytes it waits for; fixed. */
        long bytes();

        /** Its {@link #bytes} are now reserved for it: it must return them (once) when done. Called once, from any thread. */
        void granted();
    }

    private final long capacity;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private long reserved;

    FrameBudget(long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
        }
        this.capacity = capacity;
    }

    /**
     * Reserves {@code waiter.bytes()} at once if nobody waits and they fit: true. Otherwise queues
     * the waiter, which is {@link Waiter#granted} later, and returns false; it may {@link #withdraw}.
     *
     * @throws IllegalArgumentException for more bytes than the whole budget, which could never be granted
     */
    boolean reserve(Waiter waiter) {
        long bytes = waiter.bytes();
        if (bytes < 0 || bytes > capacity) {
            throw new IllegalArgumentException("bytes: " + bytes + " (expected: 0.." + capacity + ")");
        }
        synchronized (this) {
            if (waiters.isEmpty() && reserved + bytes <= capacity) {
                reserved += bytes;
                return true;
            }
            waiters.add(waiter);
            return false;
        }
    }

    /**
     * Takes a waiter out of the queue: true if it was still waiting (nothing reserved for it);
     * false if it was granted already (its bytes are reserved and must be {@link #release}d).
     * Waiters behind it may then fit.
     */
    boolean withdraw(Waiter waiter) {
        List<Waiter> granted;
        synchronized (this) {
            if (!waiters.remove(waiter)) {
                return false;
            }
            granted = grantLocked();
        }
        tell(granted);
        return true;
    }

    /** Returns {@code bytes} reserved before, and grants waiters that now fit, in order. */
    void release(long bytes) {
        if (bytes == 0) {
            return;
        }
        List<Waiter> granted;
        synchronized (this) {
            if (bytes < 0 || bytes > reserved) {
                throw new IllegalStateException("released " + bytes + " bytes, " + reserved + " reserved");
            }
            reserved -= bytes;
            granted = grantLocked();
        }
        tell(granted);
    }

    private List<Waiter> grantLocked() {
        List<Waiter> granted = null;
        Waiter head;
        while ((head = waiters.peek()) != null && reserved + head.bytes() <= capacity) {
            waiters.poll();
            reserved += head.bytes();
            if (granted == null) {
                granted = new ArrayList<>(2);
            }
            granted.add(head);
        }
        return granted;
    }

    private static void tell(List<Waiter> granted) {
        if (granted != null) {
            for (Waiter w : granted) {
                w.granted();
            }
        }
    }

    long capacity() {
        return capacity;
    }

    /** Bytes reserved now, by frames being read or held. */
    synchronized long reserved() {
        return reserved;
    }

    /** Connections waiting for room now. */
    synchronized int waiting() {
        return waiters.size();
    }
}
