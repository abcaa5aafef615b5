package dev.ferry.broker;

import java.util.concurrent.Executor;

/**
 * Where a network front's long-polling fetches wait ({@link Broker#fetch(String, int, long, int,
 * int, long, java.util.function.LongPredicate, java.util.function.Predicate, FetchParking)}):
 * which thread reads a woken one, and whether one more may wait.
 *
 * <p>The front's limits on waiting fetches are asked here, at the moment a fetch is about to
 * park, and not when the request arrives: only the broker knows whether a fetch will wait. Asked
 * before, a fetch with a backlog, answered at once, was refused like one that would wait, and
 * once the limits were reached no consumer got anything.
 */
public interface FetchParking {
    /**
     * Runs the read of a woken (or timed out) fetch. A front passes the fetching connection's own
     * thread, so that a producer's append does not do the reads (and their encoding) of every
     * fetch waiting on its queue, and so that a connection can put off the read while its client
     * is not reading its replies. An executor that rejects the read fails the fetch.
     */
    Executor wokenReads();

    /**
     * A fetch is about to park: its queue has nothing past its offset and it asked to wait. An
     * exception refuses it (the fetch throws it, at once, unparked); returning lets it park, and
     * {@link #unparked} follows exactly once, when its future completes (woken and read, timed
     * out, cancelled or failed).
     */
    void parking();

    /** A fetch that {@link #parking} let park is answered, or cancelled: its place is free. */
    void unparked();

    /**
     * True once the front is stopping (its drain has begun): a fetch that would wait is answered
     * at once with what is there, for a consumer polls again as soon as its poll is answered, and
     * that poll must not hold the drain until its wait ends. Asked before a fetch parks and again
     * just after it did: a front sets this and then calls {@link Broker#releaseWaitingFetches},
     * so a fetch parking meanwhile is seen by one or the other. The front's own state, not the
     * broker's: another front on the same broker, or one started on it later, still long-polls.
     */
    default boolean draining() {
        return false;
    }
}
