package dev.ferry.connect;

import dev.ferry.client.ProducerConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.util.Map;
import java.util.Optional;

/**
 * What one message must satisfy for the runtime's producer to send it and the broker to store
 * it, as far as the client can know. {@link SourceWorker} checks every source record with
 * {@link #problem} before sending it: one that fails is a bad record (errors.tolerance /
 * errors.topic) with the reason, instead of a send the broker refuses (which would fail the task)
 * or one the producer refuses, again after every restart.
 * {@link ErrorHandling} uses the same limits to cut an error record down until it fits.
 *
 * <table>
 * <caption>The checks</caption>
 * <tr><th>what</th><th>limit</th><th>why</th></tr>
 * <tr><td>each key</td><td>non-empty, no space, at most {@link Limits#maxKeyBytes()} UTF-8 bytes (1024)</td>
 *     <td>the log joins keys with spaces (BAD_REQUEST); the wire limit (LIMIT_EXCEEDED)</td></tr>
 * <tr><td>keys</td><td>at most {@link Limits#maxKeysPerMessage()} (32)</td><td>wire limit</td></tr>
 * <tr><td>tags</td><td>at most {@link Limits#maxTagsBytes()} bytes (1024)</td><td>wire limit</td></tr>
 * <tr><td>topic</td><td>at most {@link Limits#maxTopicBytes()} bytes (200)</td><td>wire limit</td></tr>
 * <tr><td>properties</td><td>with one for the tags and one for the keys, if any: at most
 *     {@link Limits#maxPropertiesPerMessage()} (64)</td>
 *     <td>the wire limit, and the broker's {@code maxProperties}, whose default (64) counts tags and keys</td></tr>
 * <tr><td>each property</td><td>name 1..{@link Limits#maxPropertyKeyBytes()} bytes (256), not {@code TAGS} or
 *     {@code KEYS}; value at most {@link Limits#maxPropertyValueBytes()} bytes (32 KiB)</td>
 *     <td>wire limits; the log stores tags and keys under those names (BAD_REQUEST)</td></tr>
 * <tr><td>properties area</td><td>tags, keys and properties as the log encodes them
 *     ({@link LogMessage#propertiesAreaBytes}): at most {@link #MAX_PROPERTIES_BYTES} (32,767)</td>
 *     <td>the broker's default {@code maxPropertiesBytes} (LIMIT_EXCEEDED), which the client cannot ask for</td></tr>
 * <tr><td>body</td><td>at most {@link #MAX_BODY_BYTES} (4 MiB)</td>
 *     <td>the broker's default {@code maxBodyBytes} (LIMIT_EXCEEDED), which the client cannot ask for</td></tr>
 * <tr><td>sharding key</td><td>non-empty when given</td><td>the producer's check (IllegalArgumentException)</td></tr>
 * <tr><td>size</td><td>{@link #size} at most {@link #maxRecordBytes()}: the producer's {@code bufferBytes}
 *     (8 MiB), and half a frame (8 MiB)</td>
 *     <td>a larger message never fits the producer's buffer, nor half a frame: the producer refuses it
     (IllegalArgumentException)</td></tr>
 * </table>
 *
 * <p>The body and properties-area limits are the broker's defaults, not its settings: a broker
 * configured for larger ones still gets at most these from a source connector. That is
 * deliberate: a record the broker refuses fails the task for good (the producer sends records in
 * batches, so the refused one is not known), while one refused here goes to the error topic under
 * {@code errors.tolerance=all}.
 *
 * <p>Immutable, so thread-safe.
 */
final class RecordLimits {
    /** The producer settings of the runtime's producers, so that {@link #maxRecordBytes()} matches them. */
    static final ProducerConfig PRODUCER = ProducerConfig.defaults();
    /** The largest body: the broker's default {@code maxBodyBytes} ({@code LogConfig}). */
    static final int MAX_BODY_BYTES = 4 << 20;
    /** The largest properties area, tags and keys included: the broker's default {@code maxPropertiesBytes} ({@code LogConfig}). */
    static final int MAX_PROPERTIES_BYTES = 32_767;
    /** What the producer counts for a message besides its fields ({@code PendingRecord.estimateSize}). */
    static final int MESSAGE_OVERHEAD = 64;
    /** What the producer counts for each key besides its characters. */
    static final int KEY_OVERHEAD = 4;
    /** What the producer counts for each property besides its name's and value's characters. */
    static final int PROPERTY_OVERHEAD = 8;

    private final Limits limits;
    private final long maxRecordBytes;

    RecordLimits(Limits limits, long producerBufferBytes) {
        this.limits = limits;
        // half a frame, as the producer's batches: room for the encoding (the JSON codec's base64 adds a third)
        this.maxRecordBytes = Math.min(producerBufferBytes, limits.maxFrameBytes() / 2);
    }

    /** The limits of the runtime's producers ({@link #PRODUCER}) on a client with {@code limits}. */
    static RecordLimits of(Limits limits) {
        return new RecordLimits(limits, PRODUCER.bufferBytes());
    }

    Limits limits() {
        return limits;
    }

    /** The largest {@link #size} a message may have. */
    long maxRecordBytes() {
        return maxRecordBytes;
    }

    /**
     * Why the producer or the broker would refuse {@code m} sent with {@code shardingKey} (null:
     * none), phrased "field: value (expected: ...)"; empty if it passes every check above.
     */
    Optional<String> problem(Message m, String shardingKey) {
        if (shardingKey != null && shardingKey.isEmpty()) {
            return Optional.of("sharding key: '' (expected: non-empty; the record's key column or setting is empty)");
        }
        if (m.keys().size() > limits.maxKeysPerMessage()) {
            return Optional.of("keys: " + m.keys().size() + " (expected: at most " + limits.maxKeysPerMessage() + ")");
        }
        for (String k : m.keys()) {
            String p = keyProblem(k);
            if (p != null) {
                return Optional.of(p);
            }
        }
        int tagsBytes = Utf8.length(m.tags());
        if (tagsBytes > limits.maxTagsBytes()) {
            return Optional.of("tags: " + tagsBytes + " bytes (expected: at most " + limits.maxTagsBytes() + ")");
        }
        int topicBytes = Utf8.length(m.topic());
        if (topicBytes > limits.maxTopicBytes()) {
            return Optional.of("topic: " + topicBytes + " bytes (expected: at most " + limits.maxTopicBytes() + ")");
        }
        int count = propertyCount(m.properties().size(), !m.tags().isEmpty(), !m.keys().isEmpty());
        if (count > limits.maxPropertiesPerMessage()) {
            return Optional.of("properties: " + count + ", tags and keys included (expected: at most "
                    + limits.maxPropertiesPerMessage() + ")");
        }
        for (Map.Entry<String, String> e : m.properties().entrySet()) {
            String p = propertyProblem(e.getKey(), e.getValue());
            if (p != null) {
                return Optional.of(p);
            }
        }
        long area = LogMessage.propertiesAreaBytes(m.tags(), m.keys(), m.properties());
        if (area > MAX_PROPERTIES_BYTES) {
            return Optional.of("properties: " + area + " bytes encoded, tags and keys included (expected: at most "
                    + MAX_PROPERTIES_BYTES + ", the broker's default maxPropertiesBytes)");
        }
        if (m.bodyLength() > MAX_BODY_BYTES) {
            return Optional.of("body: " + m.bodyLength() + " bytes (expected: at most " + MAX_BODY_BYTES
                    + ", the broker's default maxBodyBytes)");
        }
        long size = size(m);
        if (size > maxRecordBytes) {
            return Optional.of("message: about " + size + " bytes with its body of " + m.bodyLength()
                    + " bytes (expected: at most " + maxRecordBytes + ", what the connector's producer can buffer)");
        }
        return Optional.empty();
    }

    /** Why the broker would refuse key {@code k}, or null. */
    String keyProblem(String k) {
        if (k.isEmpty()) {
            return "key: '' (expected: non-empty, without spaces)";
        }
        if (k.indexOf(' ') >= 0) {
            return "key: '" + shorten(k) + "' (expected: non-empty, without spaces)";
        }
        int bytes = Utf8.length(k);
        if (bytes > limits.maxKeyBytes()) {
            return "key: '" + shorten(k) + "' is " + bytes + " bytes (expected: at most " + limits.maxKeyBytes() + ")";
        }
        return null;
    }

    /** Why the broker would refuse a property {@code name=value}, or null. */
    String propertyProblem(String name, String value) {
        int nameBytes = Utf8.length(name);
        if (nameBytes == 0 || nameBytes > limits.maxPropertyKeyBytes()) {
            return "property name: '" + shorten(name) + "' is " + nameBytes + " bytes (expected: 1.." + limits.maxPropertyKeyBytes() + ")";
        }
        if (name.equals(LogMessage.TAGS) || name.equals(LogMessage.KEYS)) {
            return "property name: '" + name + "' (expected: not TAGS or KEYS, which hold the tags and keys)";
        }
        int valueBytes = Utf8.length(value);
        if (valueBytes > limits.maxPropertyValueBytes()) {
            return "property " + shorten(name) + ": value of " + valueBytes + " bytes (expected: at most "
                    + limits.maxPropertyValueBytes() + ")";
        }
        return null;
    }

    /** Whether tags of {@code tags} fit. */
    boolean tagsFit(String tags) {
        return Utf8.length(tags) <= limits.maxTagsBytes();
    }

    /** Properties as the broker counts them: with one for the tags and one for the keys, when there are any. */
    static int propertyCount(int properties, boolean tags, boolean keys) {
        return properties + (tags ? 1 : 0) + (keys ? 1 : 0);
    }

    /**
     * The producer's estimate of {@code m} (what it counts against its buffer), in UTF-8 bytes
     * where the producer counts characters, so never less than the producer's own.
     */
    static long size(Message m) {
        long size = MESSAGE_OVERHEAD + (long) m.bodyLength() + Utf8.length(m.topic()) + Utf8.length(m.tags());
        for (String k : m.keys()) {
            size += KEY_OVERHEAD + Utf8.length(k);
        }
        for (Map.Entry<String, String> e : m.properties().entrySet()) {
            size += propertySize(e.getKey(), e.getValue());
        }
        return size;
    }

    /** What one property adds to {@link #size}. */
    static long propertySize(String name, String value) {
        return PROPERTY_OVERHEAD + (long) Utf8.length(name) + Utf8.length(value);
    }

    /** {@code s}, cut to 40 characters for an error message. */
    static String shorten(String s) {
        return s.length() <= 40 ? s : Utf8.prefix(s, 40) + "..."; // whole code points: the text goes into a message
    }
}
