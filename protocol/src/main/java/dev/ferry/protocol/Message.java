package dev.ferry.protocol;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message as the wire carries it: in a SEND or SEND_BATCH request (the broker fills in
 * queue offset, message id and store timestamp) or in a FETCH or QUERY_MESSAGE response.
 *
 * <p>Why it exists: one model that every codec maps to and from, so the gateway and the client
 * never see a codec's own types.
 *
 * <p>Immutable, so thread-safe. The body is held as a read-only view of the buffer it was built
 * from, without a copy: the binary codec hands out slices of the decoded frame, so the frame
 * must not be reused while the message is in use. {@link #body()} returns a fresh duplicate
 * each call, so callers may move its position freely. {@code equals} and {@code hashCode}
 * compare bodies by content.
 *
 * <p>Its strings must be well-formed Unicode: {@code build()} refuses an unpaired surrogate with an
 * {@link IllegalArgumentException} naming the field, since UTF-8 cannot carry it (see {@link Utf8}).
 */
public final class Message {
    /** {@link #queueId()} value that lets the broker choose the queue. */
    public static final int ANY_QUEUE = -1;
    /** {@link #queueOffset()} value of a message not stored yet. */
    public static final long NO_OFFSET = -1;

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final String topic;
    private final int queueId;
    private final long queueOffset;
    private final String msgId;
    private final List<String> keys;
    private final String tags;
    private final Map<String, String> properties;
    private final long bornTimestamp;
    private final long storeTimestamp;
    private final long deliverAt;
    private final int flags;
    private final ByteBuffer body;

    private Message(Builder b) {
        this.topic = Utf8.requireWellFormed("topic", Objects.requireNonNull(b.topic, "topic"));
        this.queueId = b.queueId;
        this.queueOffset = b.queueOffset;
        this.msgId = Utf8.requireWellFormed("msgId", Objects.requireNonNull(b.msgId, "msgId"));
        this.keys = List.copyOf(b.keys);
        for (int i = 0; i < keys.size(); i++) { // not forEach, whose iterator JFR showed allocated for every message
            Utf8.requireWellFormed("key", keys.get(i));
        }
        this.tags = Utf8.requireWellFormed("tags", Objects.requireNonNull(b.tags, "tags"));
        this.properties = b.properties.isEmpty()
                ? Map.of()
                : Collections.unmodifiableMap(checkEntries(new LinkedHashMap<>(b.properties)));
        this.bornTimestamp = b.bornTimestamp;
        this.storeTimestamp = b.storeTimestamp;
        this.deliverAt = b.deliverAt;
        this.flags = b.flags;
        this.body = !b.body.hasRemaining() ? EMPTY : whole(b.body) ? b.body.asReadOnlyBuffer() : b.body.slice().asReadOnlyBuffer();
    }

    /**
     * Throws unless every key and value is non-null and well-formed Unicode: a string with an
     * unpaired surrogate is refused here, where a program hands it over, rather than written as
     * {@code '?'} by an encoder (see {@link Utf8}).
     */
    /** {@link #ofBody}: what a builder with only these set makes. */
    private Message(String topic, int queueId, long bornTimestamp, ByteBuffer body) {
        this.topic = Utf8.requireWellFormed("topic", Objects.requireNonNull(topic, "topic"));
        this.queueId = queueId;
        this.queueOffset = NO_OFFSET;
        this.msgId = "";
        this.keys = List.of();
        this.tags = "";
        this.properties = Map.of();
        this.bornTimestamp = bornTimestamp;
        this.storeTimestamp = 0;
        this.deliverAt = 0;
        this.flags = 0;
        this.body = body;
    }

    /**
     * A message of a topic, a queue, a born timestamp and a body, and nothing else: what a producer
     * sends most, and the same as a builder with only these set makes, without the builder and with
     * one read-only view of {@code body}, which is not copied (do not change it afterwards). The
     * Java producer makes one per record as it encodes a batch: building them took a third of its
     * network thread in a 100-byte produce run (JFR), mostly the builder's objects and views.
     */
    public static Message ofBody(String topic, int queueId, long bornTimestamp, byte[] body) {
        return new Message(topic, queueId, bornTimestamp, body.length == 0 ? EMPTY : ByteBuffer.wrap(body).asReadOnlyBuffer());
    }

    /** A buffer whose remaining bytes are all of it, as {@code ByteBuffer.wrap(array)} makes: its read-only view needs no slice first. */
    private static boolean whole(ByteBuffer b) {
        return b.position() == 0 && b.limit() == b.capacity();
    }

    static <M extends Map<String, String>> M checkEntries(M map) {
        map.forEach((k, v) -> {
            Utf8.requireWellFormed("key", Objects.requireNonNull(k, "key"));
            Utf8.requireWellFormed("value of '" + k + "'", Objects.requireNonNull(v, "value"));
        });
        return map;
    }

    public static Builder builder(String topic) {
        return new Builder().topic(topic);
    }

    public Builder toBuilder() {
        return new Builder().topic(topic).queueId(queueId).queueOffset(queueOffset).msgId(msgId)
                .keys(keys).tags(tags).properties(properties).bornTimestamp(bornTimestamp)
                .storeTimestamp(storeTimestamp).deliverAt(deliverAt).flags(flags).body(body);
    }

    public String topic() { return topic; }

    /** Queue within the topic, or {@link #ANY_QUEUE} to let the broker choose. */
    public int queueId() { return queueId; }

    /** Position within the queue, or {@link #NO_OFFSET} before the broker stored it. */
    public long queueOffset() { return queueOffset; }

    /** Broker-assigned id; empty before the broker stored the message. */
    public String msgId() { return msgId; }

    /** Business keys the broker indexes for QUERY_MESSAGE; unmodifiable. */
    public List<String> keys() { return keys; }

    /** Tag for broker-side filtering; may be empty. */
    public String tags() { return tags; }

    /** User properties in insertion order; unmodifiable. */
    public Map<String, String> properties() { return properties; }

    /** Epoch milliseconds at which the producer created the message. */
    public long bornTimestamp() { return bornTimestamp; }

    /** Epoch milliseconds at which the broker stored it; 0 before. */
    public long storeTimestamp() { return storeTimestamp; }

    /** Epoch milliseconds before which the message is invisible; 0 means at once. */
    public long deliverAt() { return deliverAt; }

    /** Application and system flag bits, stored with the message. */
    public int flags() { return flags; }

    /** A read-only duplicate of the body, position 0 .. limit = length. */
    public ByteBuffer body() { return body.duplicate(); }

    /** Length of the body in bytes, without making a duplicate. */
    public int bodyLength() { return body.remaining(); }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Message m)) {
            return false;
        }
        return queueId == m.queueId && queueOffset == m.queueOffset && bornTimestamp == m.bornTimestamp
                && storeTimestamp == m.storeTimestamp && deliverAt == m.deliverAt && flags == m.flags
                && topic.equals(m.topic) && msgId.equals(m.msgId) && keys.equals(m.keys)
                && tags.equals(m.tags) && properties.equals(m.properties) && body.equals(m.body);
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, queueId, queueOffset, msgId, keys, tags, properties,
                bornTimestamp, storeTimestamp, deliverAt, flags, body);
    }

    @Override
    public String toString() {
        return "Message{topic=" + topic + ", queueId=" + queueId + ", queueOffset=" + queueOffset
                + ", msgId=" + msgId + ", keys=" + keys + ", tags=" + tags + ", properties=" + properties
                + ", bornTimestamp=" + bornTimestamp + ", storeTimestamp=" + storeTimestamp
                + ", deliverAt=" + deliverAt + ", flags=" + flags + ", body=" + body.remaining() + " bytes}";
    }

    /** Builds a {@link Message}; not thread-safe. Unset fields take the documented defaults. */
    public static final class Builder {
        private String topic;
        private int queueId = ANY_QUEUE;
        private long queueOffset = NO_OFFSET;
        private String msgId = "";
        private List<String> keys = List.of();
        private String tags = "";
        private Map<String, String> properties = Map.of();
        private long bornTimestamp;
        private long storeTimestamp;
        private long deliverAt;
        private int flags;
        private ByteBuffer body = EMPTY;

        private Builder() {
        }

        public Builder topic(String topic) { this.topic = topic; return this; }
        public Builder queueId(int queueId) { this.queueId = queueId; return this; }
        public Builder queueOffset(long queueOffset) { this.queueOffset = queueOffset; return this; }
        public Builder msgId(String msgId) { this.msgId = msgId; return this; }
        public Builder keys(List<String> keys) { this.keys = keys; return this; }
        public Builder tags(String tags) { this.tags = tags; return this; }
        public Builder properties(Map<String, String> properties) { this.properties = properties; return this; }
        public Builder bornTimestamp(long ms) { this.bornTimestamp = ms; return this; }
        public Builder storeTimestamp(long ms) { this.storeTimestamp = ms; return this; }
        public Builder deliverAt(long ms) { this.deliverAt = ms; return this; }
        public Builder flags(int flags) { this.flags = flags; return this; }

        /** The bytes from the buffer's position to its limit, held without a copy. */
        public Builder body(ByteBuffer body) { this.body = Objects.requireNonNull(body, "body"); return this; }

        /** Wraps {@code body} without a copy; do not change the array afterwards. */
        public Builder body(byte[] body) { return body(ByteBuffer.wrap(body)); }

        public Message build() {
            return new Message(this);
        }
    }
}
