package dev.ferry.client;

import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.util.concurrent.CompletableFuture;

/**
 * One message waiting in a {@link Partition} or in flight in a {@link Batch}; it is itself the
 * future the sender got back, so queuing a message costs one object besides the message.
 *
 * <p>Thread-safe as a future; its fields are final.
 */
final class PendingRecord extends CompletableFuture<SendResult> {
    /** The message, or null when it is built from {@code body} only when its batch is encoded. */
    private final Message message;
    /** The body of a message sent with {@code sendAsync(topic, body)}, or null. */
    private final byte[] body;
    private final long bornTimestamp;
    /** Estimated encoded size, for batch sizing and buffer accounting. */
    final int size;
    final long enqueuedNanos;

    PendingRecord(Message message, int size, long enqueuedNanos) {
        this.message = message;
        this.body = null;
        this.bornTimestamp = 0;
        this.size = size;
        this.enqueuedNanos = enqueuedNanos;
    }

    /**
     * A record of just a body: its {@link Message} is made when the batch is encoded, so what
     * waits in the buffer is this object and the caller's array. Buffered records survive young
     * GCs and get copied; fewer objects per record made the 100-byte producer benchmark faster.
     */
    PendingRecord(byte[] body, long bornTimestamp, int size, long enqueuedNanos) {
        this.message = null;
        this.body = body;
        this.bornTimestamp = bornTimestamp;
        this.size = size;
        this.enqueuedNanos = enqueuedNanos;
    }

    /** The message to encode, for {@code partition}'s topic and queue. */
    Message message(Partition partition) {
        if (message != null) {
            return message;
        }
        return Message.ofBody(partition.topic, partition.queueId, bornTimestamp, body);
    }

    /** {@link #estimateSize} of a message of {@code topic} with only a body. */
    static int estimateSize(String topic, int bodyLength) {
        return 64 + bodyLength + Utf8.length(topic);
    }

    /**
     * A size estimate of {@code m} encoded: body, topic, and what keys, tags and properties add.
     * Strings count in UTF-8 bytes, as they are encoded: counted in chars, a batch of non-ASCII
     * tags or properties would grow up to three times past batchSizeBytes and the buffer.
     */
    static int estimateSize(Message m) {
        int size = 64 + m.bodyLength() + Utf8.length(m.topic()) + Utf8.length(m.tags());
        if (!m.keys().isEmpty()) {
            for (String k : m.keys()) {
                size += 4 + Utf8.length(k);
            }
        }
        if (!m.properties().isEmpty()) {
            for (var e : m.properties().entrySet()) {
                size += 8 + Utf8.length(e.getKey()) + Utf8.length(e.getValue());
            }
        }
        return size;
    }
}
