package dev.ferry.client;

import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.util.Map;

/**
 * What one message must satisfy for the producer to queue it: the protocol's {@link Limits} on
 * its fields (topic, tags, keys, properties, in UTF-8 bytes and counts), and a size that fits both
 * a frame and the producer's buffer. A message that fails is refused by the send call with an
 * {@link IllegalArgumentException} naming the field, its size and the limit, as Kafka's producer
 * throws {@code RecordTooLargeException}.
 *
 * <p>Why before queuing: the broker reads a frame with a field over a limit as a broken stream. It
 * answers LIMIT_EXCEEDED or FRAME_TOO_LARGE on request id 0 and closes the connection, failing
 * every batch in flight on it, valid messages too, and no resend can ever succeed. Checked here,
 * only the bad message fails.
 *
 * <p>The size is {@link PendingRecord#estimateSize}; a message may take at most half a frame, the
 * room the producer leaves its batches for the encoding (the JSON codec's base64 makes a body a
 * third longer). The broker's store has smaller limits of its own (a body of at most 4 MiB by
 * default), which it answers per request with LIMIT_EXCEEDED; the client does not know them.
 *
 * <p>Immutable, so thread-safe.
 */
final class SendLimits {
    private final Limits limits;
    private final long maxMessageBytes;
    private final long bufferBytes;

    SendLimits(Limits limits, long bufferBytes) {
        this.limits = limits;
        this.maxMessageBytes = limits.maxFrameBytes() / 2;
        this.bufferBytes = bufferBytes;
    }

    /** Checks a message sent as just a body (sendAsync(topic, body)) whose {@link PendingRecord#estimateSize} is {@code size}. */
    void checkBody(String topic, int size) {
        checkString(Limits.TOPIC, topic, limits.maxTopicBytes());
        checkSize("message", size);
    }

    /** Checks every field of {@code m}, and {@code size}, its {@link PendingRecord#estimateSize}. */
    void check(Message m, int size) {
        checkString(Limits.TOPIC, m.topic(), limits.maxTopicBytes());
        checkString(Limits.TAGS, m.tags(), limits.maxTagsBytes());
        if (m.keys().size() > limits.maxKeysPerMessage()) {
            throw new IllegalArgumentException(Limits.KEYS + ": count " + m.keys().size() + " (expected: <= " + limits.maxKeysPerMessage()
                    + ")");
        }
        for (String key : m.keys()) {
            checkString(Limits.KEY, key, limits.maxKeyBytes());
        }
        Map<String, String> properties = m.properties();
        if (properties.size() > limits.maxPropertiesPerMessage()) {
            throw new IllegalArgumentException(Limits.PROPERTIES + ": count " + properties.size() + " (expected: <= "
                    + limits.maxPropertiesPerMessage() + ")");
        }
        for (var e : properties.entrySet()) {
            checkString(Limits.PROPERTY_KEY, e.getKey(), limits.maxPropertyKeyBytes());
            checkString(Limits.PROPERTY_VALUE + " of " + e.getKey(), e.getValue(), limits.maxPropertyValueBytes());
        }
        checkSize("message", size);
    }

    /**
     * Checks the size of a message or of an explicit batch ({@link PendingRecord#estimateSize},
     * summed) against half a frame and the producer's buffer.
     *
     * @param what "message" or "messages", for the error
     */
    void checkSize(String what, long size) {
        if (size > maxMessageBytes) {
            throw new IllegalArgumentException(what + ": about " + size + " bytes (expected: <= " + maxMessageBytes
                    + ", half of maxFrameBytes " + limits.maxFrameBytes() + ")");
        }
        if (size > bufferBytes) {
            throw new IllegalArgumentException(what + ": about " + size + " bytes (expected: <= bufferBytes " + bufferBytes
                    + ", what the producer buffers: waiting cannot make room for it)");
        }
    }

    /** The UTF-8 length is counted only when the string could be over: no char takes more than 3 bytes. */
    private static void checkString(String field, String value, int max) {
        if ((long) value.length() * 3 <= max) {
            return;
        }
        int bytes = Utf8.length(value);
        if (bytes > max) {
            throw new IllegalArgumentException(field + ": length " + bytes + " bytes (expected: <= " + max + ")");
        }
    }
}
