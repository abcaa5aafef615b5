package dev.ferry.client;

import dev.ferry.protocol.Message;
import java.util.concurrent.CompletableFuture;

/**
 * One message waiting in a {@link Partition} or in flight in a {@link Batch}; it is itself the
 * future the sender got back, so queuing a message costs one object besides the message.
 *
 * <p>Thread-safe as a future; its fields are final.
 */
final class PendingRecord extends CompletableFuture<SendResult> {
    final Message message;
    /** Estimated encoded size, for batch sizing and buffer accounting. */
    final int size;
    final long enqueuedNanos;

    PendingRecord(Message message, int size, long enqueuedNanos) {
        this.message = message;
        this.size = size;
        this.enqueuedNanos = enqueuedNanos;
    }

    /** A size estimate of {@code m} encoded: body, topic, and what keys, tags and properties add. */
    static int estimateSize(Message m) {
        int size = 64 + m.bodyLength() + m.topic().length() + m.tags().length();
        if (!m.keys().isEmpty()) {
            for (String k : m.keys()) {
                size += 4 + k.length();
            }
        }
        if (!m.properties().isEmpty()) {
            for (var e : m.properties().entrySet()) {
                size += 8 + e.getKey().length() + e.getValue().length();
            }
        }
        return size;
    }
}
