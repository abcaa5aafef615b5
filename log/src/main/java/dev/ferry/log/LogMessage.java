package dev.ferry.log;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A message handed to {@link MessageStore#append}: what the producer decided (topic, queue,
 * body, tags, keys, properties, timestamps). Immutable and thread-safe.
 *
 * <p>Its properties are encoded into their on-disk form once, when the message is built and
 * outside the store's append lock, so the locked part of an append only copies bytes. Tags and
 * keys are stored as the properties {@value #TAGS} and {@value #KEYS} (keys separated by a
 * space), the way RocketMQ users know them.
 */
public final class LogMessage {
    public static final String TAGS = "TAGS";
    public static final String KEYS = "KEYS";
    /**
     * The largest properties area the user's properties may take ({@code maxPropertiesBytes}):
     * the record format's 65,535 bytes less 1,024 kept for the broker's internal properties (at
     * most 844 bytes, a half message's: %REAL_TOPIC with a 200-byte topic, 215; %REAL_QID, 18;
     * %PGROUP with a producer group of 200 characters, up to 600 bytes, 611).
     */
    public static final int MAX_USER_PROPERTIES_BYTES = PropertiesCodec.MAX_AREA_BYTES - 1024;

    final String topic;
    final byte[] topicBytes;
    final int queueId;
    final int flags;
    final long bornTimestamp;
    final InetSocketAddress bornHost;
    final int reconsumeTimes;
    final long preparedTxOffset;
    final String tags;
    final long tagHash;
    final List<String> keys;
    final Map<String, String> properties;
    final byte[] encodedProperties;
    final int propertyCount;
    /**
     * How many of {@link #propertyCount}, and how many bytes of {@link #encodedProperties}, are the
     * broker's own ({@link Builder#internalProperty}): the store's limits leave them out, so that a
     * message the user may send plainly may also be sent delayed or as a transaction half. Net of
     * the user's properties an internal one replaced (one of the same name, see
     * {@link Builder#internalProperty}), which still count.
     */
    final int internalPropertyCount;
    final int internalPropertyBytes;
    private final Set<String> internal;
    /** The user's properties an internal one of the same name replaced: how many, and their area bytes. */
    private final int replacedCount;
    private final int replacedBytes;
    /**
     * The body, as the bytes between the given buffer's position and limit at build time: for a
     * buffer with an accessible array, that array ({@link #bodyOffset} is then an array index), so
     * no view is made per message (the append path allocates little else); for any other buffer
     * (direct, read-only), a view of its own ({@link #bodyView}, index 0). Either way, what the
     * caller does with the buffer's position and limit afterwards changes nothing here.
     */
    private final byte[] bodyArray;
    private final ByteBuffer bodyView;
    private final int bodyOffset;
    final int bodyLength;

    private LogMessage(Builder b) {
        this.topic = b.topic;
        this.topicBytes = encodedTopic(b.topic);
        this.queueId = b.queueId;
        this.flags = b.flags;
        this.bornTimestamp = b.bornTimestampSet ? b.bornTimestamp : System.currentTimeMillis();
        this.bornHost = b.bornHost;
        this.reconsumeTimes = b.reconsumeTimes;
        this.preparedTxOffset = b.preparedTxOffset;
        this.tags = b.tags;
        this.tagHash = b.tagHash != null ? b.tagHash : TagHash.of(b.tags);
        this.keys = b.keys == null ? List.of() : List.copyOf(b.keys);
        // in the order sent, which the record keeps and toBuilder() copies: not Map.copyOf, whose order is random per JVM
        this.properties = b.properties == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(b.properties));
        this.internal = b.properties == null || b.internal == null ? Set.of() : Set.copyOf(b.internal);
        this.replacedCount = this.internal.isEmpty() ? 0 : b.replacedCount;
        this.replacedBytes = this.internal.isEmpty() ? 0 : (int) b.replacedBytes;
        this.bodyLength = b.body.remaining();
        if (b.body.hasArray()) {
            this.bodyArray = b.body.array();
            this.bodyOffset = b.body.arrayOffset() + b.body.position();
            this.bodyView = null;
        } else {
            this.bodyArray = null;
            this.bodyOffset = 0;
            this.bodyView = b.body.slice();
        }
        boolean hasTags = b.tags != null && !b.tags.isEmpty();
        if (!hasTags && keys.isEmpty() && properties.isEmpty()) {
            this.propertyCount = 0;
            this.internalPropertyCount = 0;
            this.internalPropertyBytes = 0;
            this.encodedProperties = PropertiesCodec.encode(Map.of());
            return;
        }
        if (b.properties == null) {
            // the usual keyed or tagged message: encoded straight, without the map and the joined keys
            this.propertyCount = (hasTags ? 1 : 0) + (keys.isEmpty() ? 0 : 1);
            this.internalPropertyCount = 0;
            this.internalPropertyBytes = 0;
            this.encodedProperties = PropertiesCodec.encodeTagsAndKeys(hasTags ? b.tags : null, keys);
            return;
        }
        this.internalPropertyCount = internal.size() - replacedCount;
        int internalBytes = 0;
        for (String name : internal) {
            internalBytes += (int) PropertiesCodec.areaBytes(null, List.of(), Map.of(name, properties.get(name)));
        }
        this.internalPropertyBytes = internalBytes - replacedBytes;
        Map<String, String> all = new LinkedHashMap<>();
        if (hasTags) {
            all.put(TAGS, b.tags);
        }
        if (!keys.isEmpty()) {
            all.put(KEYS, String.join(" ", keys));
        }
        if (b.properties != null) {
            all.putAll(b.properties);
        }
        this.propertyCount = all.size();
        this.encodedProperties = PropertiesCodec.encode(all);
    }

    /** A topic name and its UTF-8 bytes; immutable (the array is never written after construction). */
    private record EncodedTopic(String name, byte[] utf8) {}

    /**
     * Recently encoded topic names, by hash: a broker appends to a few topics over and over, and
     * encoding the name was a tenth of a small record's append. Slots are replaced racily, which
     * is harmless: each holds an immutable pair (safely published through its final fields), and
     * a miss only encodes again.
     */
    private static final EncodedTopic[] TOPICS = new EncodedTopic[256];

    private static byte[] encodedTopic(String topic) {
        int slot = topic.hashCode() & (TOPICS.length - 1);
        EncodedTopic cached = TOPICS[slot];
        if (cached != null && cached.name.equals(topic)) {
            return cached.utf8;
        }
        byte[] utf8 = topic.getBytes(StandardCharsets.UTF_8);
        TOPICS[slot] = new EncodedTopic(topic, utf8);
        return utf8;
    }

    /**
     * The bytes of the properties area a message with these tags, keys and properties stores
     * (tags and keys are stored as properties), which the store's {@code maxPropertiesBytes}
     * limits; for a client that wants to check before it sends.
     */
    public static long propertiesAreaBytes(String tags, List<String> keys, Map<String, String> properties) {
        return PropertiesCodec.areaBytes(tags, keys, properties);
    }

    public static Builder builder(String topic, int queueId, byte[] body) {
        return new Builder(topic, queueId, ByteBuffer.wrap(body));
    }

    public static Builder builder(String topic, int queueId, ByteBuffer body) {
        return new Builder(topic, queueId, body);
    }

    /** Bytes this message takes in the commit log (with IPv4 hosts). */
    public int storedSize() {
        return RecordLayout.recordSize(0, topicBytes.length, encodedProperties.length, bodyLength);
    }

    public String topic() { return topic; }
    public int queueId() { return queueId; }
    public int flags() { return flags; }
    public String tags() { return tags; }
    public List<String> keys() { return keys; }
    public Map<String, String> properties() { return properties; }
    /** The body: a read-only buffer of its own, position 0, limit and capacity the body's length. */
    public ByteBuffer body() {
        return bodyArray != null ? ByteBuffer.wrap(bodyArray, bodyOffset, bodyLength).slice().asReadOnlyBuffer()
                : bodyView.asReadOnlyBuffer();
    }

    /** Copies the body into {@code dst} at index {@code at} (absolute: {@code dst}'s position and limit do not move). */
    void copyBody(ByteBuffer dst, int at) {
        if (bodyArray != null) {
            dst.put(at, bodyArray, bodyOffset, bodyLength);
        } else {
            dst.put(at, bodyView, 0, bodyLength);
        }
    }
    public long bornTimestamp() { return bornTimestamp; }

    /**
     * A builder holding everything of this message (flags, timestamps, host, tags, keys,
     * properties, body) but bound for {@code topic}/{@code queueId}: how the broker moves a
     * message to an internal topic (the schedule of delayed messages) and back.
     */
    public Builder toBuilder(String topic, int queueId) {
        Builder b = new Builder(topic, queueId, body());
        b.flags = flags;
        b.bornTimestamp(bornTimestamp);
        b.bornHost = bornHost;
        b.reconsumeTimes = reconsumeTimes;
        b.preparedTxOffset = preparedTxOffset;
        b.tags = tags;
        b.keys = keys.isEmpty() ? null : new ArrayList<>(keys);
        b.properties = properties.isEmpty() ? null : new LinkedHashMap<>(properties);
        b.internal = internal.isEmpty() ? null : new LinkedHashSet<>(internal);
        b.replacedCount = replacedCount;
        b.replacedBytes = replacedBytes;
        return b;
    }

    /** Builds a {@link LogMessage}; not thread-safe. */
    public static final class Builder {
        private final String topic;
        private final int queueId;
        private final ByteBuffer body;
        private int flags;
        /** Set by the producer, or read from the clock when the message is built (one clock read, only if needed). */
        private long bornTimestamp;
        private boolean bornTimestampSet;
        private InetSocketAddress bornHost;
        private int reconsumeTimes;
        private long preparedTxOffset;
        private String tags;
        private List<String> keys;
        private Map<String, String> properties;
        /** The names of {@link #internalProperty}s. */
        private Set<String> internal;
        /** The user's properties an {@link #internalProperty} of the same name replaced: how many, their area bytes. */
        private int replacedCount;
        private long replacedBytes;
        private Long tagHash;

        private Builder(String topic, int queueId, ByteBuffer body) {
            this.topic = Objects.requireNonNull(topic, "topic");
            this.queueId = queueId;
            this.body = Objects.requireNonNull(body, "body");
        }

        /** Message flags, see {@link MessageFlags}; bits the engine owns are rejected. */
        public Builder flags(int flags) {
            if ((flags & ~MessageFlags.USER_MASK) != 0) {
                throw new InvalidMessageException("flags: 0x" + Integer.toHexString(flags)
                        + " (expected: only bits of 0x" + Integer.toHexString(MessageFlags.USER_MASK) + ")");
            }
            this.flags = flags;
            return this;
        }

        public Builder bornTimestamp(long ms) { this.bornTimestamp = ms; this.bornTimestampSet = true; return this; }
        public Builder bornHost(InetSocketAddress host) { this.bornHost = host; return this; }
        public Builder reconsumeTimes(int n) { this.reconsumeTimes = n; return this; }
        public Builder preparedTxOffset(long offset) { this.preparedTxOffset = offset; return this; }
        public Builder tags(String tags) { this.tags = tags; return this; }

        /**
         * Stores {@code value} in the record's and the offset index's tag-hash field instead of the
         * hash of the tags. For internal topics only: the broker's schedule topic keeps each
         * message's delivery time there, so its index is a time index (RocketMQ keeps it in the
         * ConsumeQueue's tags code the same way). Tag filters on such a topic mean nothing.
         */
        public Builder tagHash(long value) { this.tagHash = value; return this; }

        public Builder key(String key) {
            if (key.isEmpty() || key.indexOf(' ') >= 0) {
                throw new InvalidMessageException("key: '" + key + "' (expected: non-empty, without spaces)");
            }
            if (keys == null) {
                keys = new ArrayList<>(1);
            }
            keys.add(key);
            return this;
        }

        public Builder property(String name, String value) {
            if (name.equals(TAGS) || name.equals(KEYS)) {
                throw new InvalidMessageException("property: " + name + " (expected: set through tags()/key())");
            }
            if (properties == null) {
                properties = new LinkedHashMap<>();
            }
            properties.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public Builder properties(Map<String, String> all) {
            all.forEach(this::property);
            return this;
        }

        /**
         * A property the broker adds for itself (a delayed message's real topic and delivery time,
         * a half message's producer group, the {@code %SCHEDULE_ID} or {@code %TX_ID} of a copy it
         * delivers). The store's {@code maxProperties} and {@code maxPropertiesBytes} do not count
         * it: they are the user's limits, the same for a plain, a delayed and a transactional send,
         * and a message taken at the limit must still fit when the broker stores it with its own
         * properties, and again when it delivers it. Their room is kept by the format's reserve
         * ({@link LogConfig} takes a {@code maxPropertiesBytes} of at most
         * {@link #MAX_USER_PROPERTIES_BYTES}).
         *
         * <p>A user's property of the same name (a client may send any name, {@code %REAL_QID}
         * too) is replaced, and still counts, with its own size: otherwise a message over the
         * limits, refused plainly, was taken delayed or as a half, having lost the properties
         * named like the broker's.
         */
        public Builder internalProperty(String name, String value) {
            if (properties != null && properties.containsKey(name) && (internal == null || !internal.contains(name))) {
                replacedCount++;
                replacedBytes += PropertiesCodec.areaBytes(null, List.of(), Map.of(name, properties.get(name)));
            }
            property(name, value);
            if (internal == null) {
                internal = new LinkedHashSet<>();
            }
            internal.add(name);
            return this;
        }

        public LogMessage build() {
            return new LogMessage(this);
        }
    }
}
