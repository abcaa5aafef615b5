package dev.ferry.log;

import static dev.ferry.log.RecordLayout.*;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Checks and decodes records in the layout of {@link RecordLayout} ({@link RecordWriter} writes them). Every method works
 * with absolute positions on a buffer it does not move, so one mapped buffer can be shared by
 * the writer and many readers. Stateless and thread-safe.
 */
final class RecordCodec {
    private static final byte[] NO_HOST_V4 = new byte[IPV4_HOST_SIZE];

    private RecordCodec() {}

    /** What a check of the bytes at a position found. */
    sealed interface Check permits Whole, EndOfData, EndOfSegment, Torn {}

    /** A whole record of {@code length} bytes. */
    record Whole(int length) implements Check {}

    /** Zero length: nothing was ever written here. */
    record EndOfData() implements Check {}

    /** An end-of-segment marker, or too few bytes left for any record. */
    record EndOfSegment() implements Check {}

    /** Bytes that are not a whole record; {@code reason} says which check failed. */
    record Torn(String reason) implements Check {}

    static int recordSize(LogMessage m, int hostFlags) {
        return RecordLayout.recordSize(hostFlags, m.topicBytes.length, m.encodedProperties.length, m.bodyLength);
    }

    static int hostFlags(LogMessage m, byte[] storeHost) {
        boolean v6 = storeHost.length == IPV6_HOST_SIZE
                || (m.bornHost != null && !(m.bornHost.getAddress() instanceof Inet4Address) && m.bornHost.getAddress() != null);
        return v6 ? FLAG_IPV6_HOSTS : 0;
    }

    /**
     * The last {@code remaining} bytes of a segment whose next record did not fit: the end-of-segment
     * marker (if there is room for one), then zeros; a heap buffer ready to be written.
     */
    static ByteBuffer endOfSegment(int remaining) {
        ByteBuffer tail = ByteBuffer.allocate(remaining);
        writeEndOfSegment(tail, 0, remaining);
        return tail;
    }

    /** Writes an end-of-segment marker if there is room for one. */
    static void writeEndOfSegment(ByteBuffer buf, int pos, int remaining) {
        if (remaining >= END_MARKER_SIZE) {
            buf.putInt(pos + LENGTH_OFFSET, remaining);
            buf.putShort(pos + MAGIC_OFFSET, END_OF_SEGMENT_MAGIC);
        }
    }

    static int crc(ByteBuffer buf, int pos, int length) {
        CRC32C crc = new CRC32C();
        crc.update(buf.slice(pos + CRC_START, length - CRC_START));
        return (int) crc.getValue();
    }

    /**
     * Checks the bytes at {@code pos} of a segment of {@code segmentSize} bytes whose first
     * byte is at physical offset {@code base}: a whole record, the end of the data, the end of
     * the segment, or a torn record.
     */
    static Check check(ByteBuffer buf, int pos, int segmentSize, long base) {
        int left = segmentSize - pos;
        if (left < END_MARKER_SIZE) {
            return new EndOfSegment();
        }
        int length = buf.getInt(pos + LENGTH_OFFSET);
        short magic = buf.getShort(pos + MAGIC_OFFSET);
        if (length == 0 && magic == 0) {
            return new EndOfData();
        }
        if (magic == END_OF_SEGMENT_MAGIC && length == left) {
            return new EndOfSegment();
        }
        if (magic != MAGIC) {
            return new Torn("magic 0x" + Integer.toHexString(magic & 0xFFFF) + " (expected: 0x"
                    + Integer.toHexString(MAGIC & 0xFFFF) + ")");
        }
        if (length < MIN_RECORD_SIZE || length > left) {
            return new Torn("length " + length + " (expected: " + MIN_RECORD_SIZE + ".." + left + ")");
        }
        byte version = buf.get(pos + VERSION_OFFSET);
        if (version != VERSION) {
            return new Torn("version " + version + " (expected: " + VERSION + ")");
        }
        long phys = buf.getLong(pos + PHYSICAL_OFFSET_OFFSET);
        if (phys != base + pos) {
            return new Torn("physicalOffset " + phys + " (expected: " + (base + pos) + ")");
        }
        int stored = buf.getInt(pos + CRC_OFFSET);
        int actual = crc(buf, pos, length);
        if (stored != actual) {
            return new Torn("crc 0x" + Integer.toHexString(actual) + " (expected: 0x" + Integer.toHexString(stored) + ")");
        }
        int flags = buf.getInt(pos + FLAGS_OFFSET);
        if ((flags & MessageFlags.BATCH) != 0) {
            return new Torn("flags 0x" + Integer.toHexString(flags) + ": batch records are not readable by format version 1");
        }
        String layout = layoutMismatch(buf, pos, length, flags);
        return layout == null ? new Whole(length) : new Torn(layout);
    }

    /**
     * Null if the record's own lengths (topic, properties, body) add up to its length, else what
     * does not. A record that passes its CRC but not this was not written by {@link RecordWriter}:
     * bytes shaped like a record inside another record's body, at a position a client named as a
     * message id. Decoding it would trust a body length of up to 2 GiB.
     */
    private static String layoutMismatch(ByteBuffer buf, int pos, int length, int flags) {
        int topicAt = topicLengthOffset(flags);
        if (topicAt + 1 + 2 + 4 > length) {
            return "length " + length + " (expected: room for the " + (topicAt + 7) + " fixed bytes of its flags 0x" + Integer.toHexString(flags) + ")";
        }
        int topicLength = buf.get(pos + topicAt) & 0xFF;
        int propertiesAt = topicAt + 1 + topicLength;
        if (propertiesAt + 2 + 4 > length) {
            return "topic length " + topicLength + " (expected: within the record's " + length + " bytes)";
        }
        int propertiesLength = Short.toUnsignedInt(buf.getShort(pos + propertiesAt));
        int bodyAt = propertiesAt + 2 + propertiesLength;
        if (bodyAt + 4 > length) {
            return "properties length " + propertiesLength + " (expected: within the record's " + length + " bytes)";
        }
        int bodyLength = buf.getInt(pos + bodyAt);
        if ((long) bodyAt + 4 + bodyLength != length) {
            return "body length " + bodyLength + " (expected: " + (length - bodyAt - 4) + ", the rest of the record's " + length + " bytes)";
        }
        return null;
    }

    /** Decodes a record already known to be whole into a heap copy. */
    static StoredMessage decode(ByteBuffer buf, int pos) {
        return decode(buf, pos, new DecodeCache());
    }

    /**
     * Reuses what consecutive records usually share (topic, hosts) instead of building it again
     * for each: decoding a fetched batch is dominated by those objects otherwise. Not thread-safe:
     * one per decoding loop.
     */
    static final class DecodeCache {
        private byte[] topicBytes;
        private String topic;
        private final byte[][] hostBytes = new byte[2][];
        private final InetSocketAddress[] hosts = new InetSocketAddress[2];

        String topic(ByteBuffer buf, int p, int length) {
            if (topicBytes != null && topicBytes.length == length && sameBytes(buf, p, topicBytes)) {
                return topic;
            }
            byte[] b = new byte[length];
            buf.get(p, b);
            topicBytes = b;
            topic = new String(b, StandardCharsets.UTF_8);
            return topic;
        }

        InetSocketAddress host(ByteBuffer buf, int p, int size, int slot) {
            byte[] last = hostBytes[slot];
            if (last != null && last.length == size && sameBytes(buf, p, last)) {
                return hosts[slot];
            }
            byte[] b = new byte[size];
            buf.get(p, b);
            hostBytes[slot] = b;
            hosts[slot] = getHost(buf, p, size);
            return hosts[slot];
        }

        private static boolean sameBytes(ByteBuffer buf, int p, byte[] bytes) {
            for (int i = 0; i < bytes.length; i++) {
                if (buf.get(p + i) != bytes[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** As {@link #decode(ByteBuffer, int)}, sharing {@code cache} with the records decoded before. */
    static StoredMessage decode(ByteBuffer buf, int pos, DecodeCache cache) {
        int length = buf.getInt(pos + LENGTH_OFFSET);
        if (length < MIN_RECORD_SIZE || pos + (long) length > buf.limit()) {
            throw new CorruptRecordException(null, pos, "record length " + length + " at byte " + pos + " of " + buf.limit()
                    + " (expected: a whole record within them)");
        }
        int flags = buf.getInt(pos + FLAGS_OFFSET);
        int hostSize = hostSize(flags);
        int p = pos + BORN_HOST_OFFSET;
        InetSocketAddress bornHost = cache.host(buf, p, hostSize, 0);
        InetSocketAddress storeHost = cache.host(buf, p + hostSize, hostSize, 1);
        p = pos + topicLengthOffset(flags);
        int topicLength = buf.get(p) & 0xFF;
        String topic = cache.topic(buf, p + 1, topicLength);
        p += 1 + topicLength;
        int propertiesLength = Short.toUnsignedInt(buf.getShort(p));
        Map<String, String> properties = propertiesLength == 0 ? Map.of() : PropertiesCodec.decode(buf, p + 2, propertiesLength);
        p += 2 + propertiesLength;
        int bodyLength = buf.getInt(p);
        if (bodyLength < 0 || p + 4L + bodyLength > pos + (long) length) {
            // "known to be whole" by the caller's word only (an index entry pointing elsewhere): never allocate on it
            // beyond the record, whose length was checked against the buffer above
            throw new CorruptRecordException(null, pos, "body of " + bodyLength + " bytes at byte " + (p - pos)
                    + " of a record of " + length + " (expected: within the record)");
        }
        byte[] body = new byte[bodyLength];
        buf.get(p + 4, body);
        String tags = propertiesLength == 0 ? null : properties.remove(LogMessage.TAGS);
        String keys = propertiesLength == 0 ? null : properties.remove(LogMessage.KEYS);
        return new StoredMessage(
                topic,
                buf.getInt(pos + QUEUE_ID_OFFSET),
                buf.getLong(pos + QUEUE_OFFSET_OFFSET),
                buf.getLong(pos + PHYSICAL_OFFSET_OFFSET),
                length,
                flags & ~ENGINE_FLAGS,
                buf.getLong(pos + BORN_TIMESTAMP_OFFSET),
                buf.getLong(pos + STORE_TIMESTAMP_OFFSET),
                bornHost,
                storeHost,
                buf.getInt(pos + RECONSUME_TIMES_OFFSET),
                buf.getLong(pos + PREPARED_TX_OFFSET_OFFSET),
                tags == null ? "" : tags,
                keys == null ? List.of() : List.of(keys.split(" ")),
                properties.isEmpty() ? Map.of() : Collections.unmodifiableMap(properties), // in record order, not Map.copyOf's
                body);
    }

    /** The fields the indexes need, read without decoding the rest. */
    static String topic(ByteBuffer buf, int pos) {
        int p = pos + topicLengthOffset(buf.getInt(pos + FLAGS_OFFSET));
        byte[] topic = new byte[buf.get(p) & 0xFF];
        buf.get(p + 1, topic);
        return new String(topic, StandardCharsets.UTF_8);
    }

    /** Every property of the record at {@code pos} (tags and keys included, as TAGS and KEYS). */
    static Map<String, String> properties(ByteBuffer buf, int pos) {
        int p = pos + topicLengthOffset(buf.getInt(pos + FLAGS_OFFSET));
        p += 1 + (buf.get(p) & 0xFF);
        int propertiesLength = Short.toUnsignedInt(buf.getShort(p));
        return propertiesLength == 0 ? Map.of() : PropertiesCodec.decode(buf, p + 2, propertiesLength);
    }

    /** The KEYS property of the record at {@code pos}, or null. */
    static String keys(ByteBuffer buf, int pos) {
        int p = pos + topicLengthOffset(buf.getInt(pos + FLAGS_OFFSET));
        p += 1 + (buf.get(p) & 0xFF);
        int propertiesLength = Short.toUnsignedInt(buf.getShort(p));
        if (propertiesLength == 0) {
            return null;
        }
        return PropertiesCodec.decode(buf, p + 2, propertiesLength).get(LogMessage.KEYS);
    }

    static byte[] hostBytes(InetSocketAddress host, int hostFlags) {
        if (host == null || host.getAddress() == null) {
            return hostFlags == 0 ? NO_HOST_V4 : new byte[IPV6_HOST_SIZE];
        }
        byte[] addr = host.getAddress().getAddress();
        if (hostFlags != 0 && addr.length == 4) {
            addr = mapToV6(addr);
        }
        ByteBuffer b = ByteBuffer.allocate(addr.length + 4);
        b.put(addr).putInt(host.getPort());
        return b.array();
    }

    /** A host as stored (8 bytes IPv4 or 20 IPv6) in its 20-byte form: an IPv4 address becomes ::ffff:a.b.c.d. */
    static byte[] toV6(byte[] host) {
        if (host.length == IPV6_HOST_SIZE) {
            return host;
        }
        byte[] out = new byte[IPV6_HOST_SIZE];
        System.arraycopy(mapToV6(Arrays.copyOf(host, 4)), 0, out, 0, 16);
        System.arraycopy(host, 4, out, 16, 4);
        return out;
    }

    private static byte[] mapToV6(byte[] v4) {
        byte[] v6 = new byte[16];
        v6[10] = (byte) 0xFF;
        v6[11] = (byte) 0xFF;
        System.arraycopy(v4, 0, v6, 12, 4);
        return v6;
    }

    private static int putHost(ByteBuffer buf, int p, byte[] host) {
        buf.put(p, host);
        return p + host.length;
    }

    private static InetSocketAddress getHost(ByteBuffer buf, int p, int size) {
        byte[] addr = new byte[size - 4];
        buf.get(p, addr);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), buf.getInt(p + size - 4));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
