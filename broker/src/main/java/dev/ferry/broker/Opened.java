package dev.ferry.broker;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What a constructor has opened so far (the store, files, threads), to close if a later step fails.
 * Without it a failed start (a garbage line in {@code transactions/checks}, say) left the message
 * store open: its abort marker stayed, so the next start ran crash recovery, and the threads started
 * before the failure kept running.
 */
final class Opened {
    private final Deque<AutoCloseable> opened = new ArrayDeque<>();

    /** Records {@code resource} as open and returns it. */
    <T extends AutoCloseable> T add(T resource) {
        opened.push(resource);
        return resource;
    }

    /**
     * Closes everything added, the last first, after {@code failure} (the reason the start failed,
     * which the caller rethrows): each close that fails is added to it as suppressed.
     */
    void closeAfter(Throwable failure) {
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (Throwable t) {
                failure.addSuppressed(t);
            }
        }
    }
}
