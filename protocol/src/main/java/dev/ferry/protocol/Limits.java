package dev.ferry.protocol;

/**
 * What a decoder accepts: every length and count read from the wire is checked against these
 * <em>before</em> anything is allocated for it, and a breach is a {@link CodecException} naming
 * the field, the value and the limit ("headers: count 70000 (expected: &lt;= 64)").
 *
 * <p>String lengths are in UTF-8 bytes. The binary codec carries the short strings (topic,
 * msgId, tags, keys, header and property keys) with a 16-bit length and the counts of headers,
 * keys and properties as 16-bit numbers, so those limits may not exceed 65535.
 *
 * <p>Why it exists: a frame from the network must not be able to make the broker allocate more
 * than its configuration allows. Immutable, validated in its constructor, so thread-safe.
 *
 * @param maxFrameBytes          largest frame payload, excluding the 4-byte length prefix
 * @param maxHeaders             headers per command
 * @param maxHeaderKeyBytes      one header name
 * @param maxHeaderValueBytes    one header value
 * @param maxMessagesPerCommand  messages per command
 * @param maxKeysPerMessage      keys per message
 * @param maxKeyBytes            one message key
 * @param maxPropertiesPerMessage properties per message
 * @param maxPropertyKeyBytes    one property name
 * @param maxPropertyValueBytes  one property value
 * @param maxTopicBytes          a topic name
 * @param maxTagsBytes           a message's tags
 * @param maxMsgIdBytes          a message id
 * @param maxErrorMessageBytes   a response's error text
 */
public record Limits(
        int maxFrameBytes,
        int maxHeaders,
        int maxHeaderKeyBytes,
        int maxHeaderValueBytes,
        int maxMessagesPerCommand,
        int maxKeysPerMessage,
        int maxKeyBytes,
        int maxPropertiesPerMessage,
        int maxPropertyKeyBytes,
        int maxPropertyValueBytes,
        int maxTopicBytes,
        int maxTagsBytes,
        int maxMsgIdBytes,
        int maxErrorMessageBytes) {

    // Field names used in limit errors, shared by every codec so messages read the same.
    public static final String FRAME = "frame";
    public static final String HEADERS = "headers";
    public static final String HEADER_KEY = "header key";
    public static final String HEADER_VALUE = "header value";
    public static final String MESSAGES = "messages";
    public static final String KEYS = "keys";
    public static final String KEY = "key";
    public static final String PROPERTIES = "properties";
    public static final String PROPERTY_KEY = "property key";
    public static final String PROPERTY_VALUE = "property value";
    public static final String TOPIC = "topic";
    public static final String TAGS = "tags";
    public static final String MSG_ID = "msgId";
    public static final String ERROR_MESSAGE = "message";

    /** Largest value of a limit carried as a 16-bit length or count by the binary codec. */
    public static final int U16_MAX = 0xFFFF;

    /** 16 MiB frames, 64 headers, 10,000 messages per command, 200-byte topics, and so on. */
    public static final Limits DEFAULT = new Limits(
            16 * 1024 * 1024, 64, 256, 32 * 1024, 10_000, 32, 1024, 64, 256, 32 * 1024, 200, 1024, 128, 32 * 1024);

    public Limits {
        positive("maxFrameBytes", maxFrameBytes, Integer.MAX_VALUE - 4);
        positive("maxHeaders", maxHeaders, U16_MAX);
        positive("maxHeaderKeyBytes", maxHeaderKeyBytes, U16_MAX);
        positive("maxHeaderValueBytes", maxHeaderValueBytes, Integer.MAX_VALUE);
        positive("maxMessagesPerCommand", maxMessagesPerCommand, Integer.MAX_VALUE);
        positive("maxKeysPerMessage", maxKeysPerMessage, U16_MAX);
        positive("maxKeyBytes", maxKeyBytes, U16_MAX);
        positive("maxPropertiesPerMessage", maxPropertiesPerMessage, U16_MAX);
        positive("maxPropertyKeyBytes", maxPropertyKeyBytes, U16_MAX);
        positive("maxPropertyValueBytes", maxPropertyValueBytes, Integer.MAX_VALUE);
        positive("maxTopicBytes", maxTopicBytes, U16_MAX);
        positive("maxTagsBytes", maxTagsBytes, U16_MAX);
        positive("maxMsgIdBytes", maxMsgIdBytes, U16_MAX);
        positive("maxErrorMessageBytes", maxErrorMessageBytes, Integer.MAX_VALUE);
    }

    private static void positive(String name, int value, int max) {
        if (value <= 0 || value > max) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: 1.." + max + ")");
        }
    }

    /** A builder starting from {@link #DEFAULT}. */
    public static Builder builder() {
        return new Builder(DEFAULT);
    }

    /** A builder starting from these limits. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Throws unless {@code count <= max}. */
    public static void checkCount(String field, long count, int max) throws CodecException {
        if (count < 0) {
            throw new CodecException(field + ": count " + count + " (expected: >= 0)");
        }
        if (count > max) {
            throw CodecException.tooMany(field, count, max);
        }
    }

    /** Throws unless {@code 0 <= bytes <= max}. */
    public static void checkLength(String field, long bytes, int max) throws CodecException {
        if (bytes < 0) {
            throw new CodecException(field + ": length " + bytes + " bytes (expected: >= 0)");
        }
        if (bytes > max) {
            throw CodecException.tooLong(field, bytes, max);
        }
    }

    /**
     * Throws unless {@code value} is at most {@code max} bytes in UTF-8 and has no unpaired
     * surrogate (which UTF-8 cannot carry: storing it would turn it into {@code '?'}, see
     * {@link Utf8}). For codecs whose parser has already produced the string (bounded by the
     * frame size); the length is cheap when the string is short, since no UTF-16 char takes
     * more than 3 UTF-8 bytes.
     */
    public static void checkString(String field, String value, int max) throws CodecException {
        checkWellFormed(field, value);
        if ((long) value.length() * 3 <= max) {
            return;
        }
        checkLength(field, Utf8.length(value), max);
    }

    /** Throws unless {@code value} has no unpaired surrogate: "tags: unpaired surrogate U+D800 at char 0 (...)". */
    public static void checkWellFormed(String field, String value) throws CodecException {
        String error = Utf8.unpairedSurrogateError(field, value);
        if (error != null) {
            throw new CodecException(error);
        }
    }

    /** Builds {@link Limits}; not thread-safe. */
    public static final class Builder {
        private int maxFrameBytes, maxHeaders, maxHeaderKeyBytes, maxHeaderValueBytes, maxMessagesPerCommand,
                maxKeysPerMessage, maxKeyBytes, maxPropertiesPerMessage, maxPropertyKeyBytes, maxPropertyValueBytes,
                maxTopicBytes, maxTagsBytes, maxMsgIdBytes, maxErrorMessageBytes;

        private Builder(Limits l) {
            maxFrameBytes = l.maxFrameBytes;
            maxHeaders = l.maxHeaders;
            maxHeaderKeyBytes = l.maxHeaderKeyBytes;
            maxHeaderValueBytes = l.maxHeaderValueBytes;
            maxMessagesPerCommand = l.maxMessagesPerCommand;
            maxKeysPerMessage = l.maxKeysPerMessage;
            maxKeyBytes = l.maxKeyBytes;
            maxPropertiesPerMessage = l.maxPropertiesPerMessage;
            maxPropertyKeyBytes = l.maxPropertyKeyBytes;
            maxPropertyValueBytes = l.maxPropertyValueBytes;
            maxTopicBytes = l.maxTopicBytes;
            maxTagsBytes = l.maxTagsBytes;
            maxMsgIdBytes = l.maxMsgIdBytes;
            maxErrorMessageBytes = l.maxErrorMessageBytes;
        }

        public Builder maxFrameBytes(int v) { maxFrameBytes = v; return this; }
        public Builder maxHeaders(int v) { maxHeaders = v; return this; }
        public Builder maxHeaderKeyBytes(int v) { maxHeaderKeyBytes = v; return this; }
        public Builder maxHeaderValueBytes(int v) { maxHeaderValueBytes = v; return this; }
        public Builder maxMessagesPerCommand(int v) { maxMessagesPerCommand = v; return this; }
        public Builder maxKeysPerMessage(int v) { maxKeysPerMessage = v; return this; }
        public Builder maxKeyBytes(int v) { maxKeyBytes = v; return this; }
        public Builder maxPropertiesPerMessage(int v) { maxPropertiesPerMessage = v; return this; }
        public Builder maxPropertyKeyBytes(int v) { maxPropertyKeyBytes = v; return this; }
        public Builder maxPropertyValueBytes(int v) { maxPropertyValueBytes = v; return this; }
        public Builder maxTopicBytes(int v) { maxTopicBytes = v; return this; }
        public Builder maxTagsBytes(int v) { maxTagsBytes = v; return this; }
        public Builder maxMsgIdBytes(int v) { maxMsgIdBytes = v; return this; }
        public Builder maxErrorMessageBytes(int v) { maxErrorMessageBytes = v; return this; }

        public Limits build() {
            return new Limits(maxFrameBytes, maxHeaders, maxHeaderKeyBytes, maxHeaderValueBytes, maxMessagesPerCommand,
                    maxKeysPerMessage, maxKeyBytes, maxPropertiesPerMessage, maxPropertyKeyBytes,
                    maxPropertyValueBytes, maxTopicBytes, maxTagsBytes, maxMsgIdBytes, maxErrorMessageBytes);
        }
    }
}
