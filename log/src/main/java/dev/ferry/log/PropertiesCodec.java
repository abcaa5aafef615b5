package dev.ferry.log;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The properties area of a record: repeated pairs of
 * <pre>
 * size field
 *  2   key length (u16)
 *  k   key, UTF-8
 *  2   value length (u16)
 *  v   value, UTF-8
 * </pre>
 * with no count and no terminator: the area's length, stored before it, bounds it.
 * Stateless and thread-safe.
 */
final class PropertiesCodec {
    static final int MAX_AREA_BYTES = 0xFFFF;
    private static final byte[] EMPTY = new byte[0];

    private PropertiesCodec() {}

    static byte[] encode(Map<String, String> properties) {
        if (properties.isEmpty()) {
            return EMPTY;
        }
        long size = 0;
        byte[][] parts = new byte[properties.size() * 2][];
        int i = 0;
        for (Map.Entry<String, String> e : properties.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] v = e.getValue().getBytes(StandardCharsets.UTF_8);
            size = checked(size, k.length, e.getKey(), v.length);
            parts[i++] = k;
            parts[i++] = v;
        }
        ByteBuffer out = ByteBuffer.allocate((int) size);
        for (byte[] part : parts) {
            out.putShort((short) part.length).put(part);
        }
        return out.array();
    }

    private static final byte[] TAGS_NAME = LogMessage.TAGS.getBytes(StandardCharsets.UTF_8);
    private static final byte[] KEYS_NAME = LogMessage.KEYS.getBytes(StandardCharsets.UTF_8);

    /**
     * The same bytes as {@link #encode} of a map holding only {@link LogMessage#TAGS} ({@code tags},
     * if not null) and then {@link LogMessage#KEYS} ({@code keys} joined by spaces, if any), without
     * building the map or the joined string: most messages with properties have only these.
     */
    static byte[] encodeTagsAndKeys(String tags, List<String> keys) {
        byte[] t = tags == null ? null : tags.getBytes(StandardCharsets.UTF_8);
        byte[][] k = new byte[keys.size()][];
        long keysLength = Math.max(0, k.length - 1); // the spaces
        for (int i = 0; i < k.length; i++) {
            k[i] = keys.get(i).getBytes(StandardCharsets.UTF_8);
            keysLength += k[i].length;
        }
        long size = 0; // checked in the order encode checks them
        if (t != null) {
            size = checked(size, TAGS_NAME.length, LogMessage.TAGS, t.length);
        }
        if (k.length > 0) {
            size = checked(size, KEYS_NAME.length, LogMessage.KEYS, keysLength);
        }
        ByteBuffer out = ByteBuffer.allocate((int) size);
        if (t != null) {
            out.putShort((short) TAGS_NAME.length).put(TAGS_NAME).putShort((short) t.length).put(t);
        }
        if (k.length > 0) {
            out.putShort((short) KEYS_NAME.length).put(KEYS_NAME).putShort((short) keysLength); // <= 0xFFFF, checked
            for (int i = 0; i < k.length; i++) {
                if (i > 0) {
                    out.put((byte) ' ');
                }
                out.put(k[i]);
            }
        }
        return out.array();
    }

    /**
     * The size of the area {@link LogMessage} encodes for these tags, keys and properties (what
     * {@code maxPropertiesBytes} limits), computed without encoding it: {@link LogMessage#TAGS}
     * when {@code tags} is non-empty, {@link LogMessage#KEYS} (the keys joined by spaces) when
     * there are keys, then every property.
     */
    static long areaBytes(String tags, List<String> keys, Map<String, String> properties) {
        long size = 0;
        if (tags != null && !tags.isEmpty()) {
            size += 4 + TAGS_NAME.length + utf8Length(tags);
        }
        if (!keys.isEmpty()) {
            size += 4 + KEYS_NAME.length + keys.size() - 1;
            for (String k : keys) {
                size += utf8Length(k);
            }
        }
        for (Map.Entry<String, String> e : properties.entrySet()) {
            size += 4 + utf8Length(e.getKey()) + utf8Length(e.getValue());
        }
        return size;
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** The area's size with one more entry, after checking the entry's and the area's limits; {@code key} names it in the error. */
    private static long checked(long size, int keyLength, String key, long valueLength) {
        if (keyLength == 0 || keyLength > 0xFFFF || valueLength > 0xFFFF) {
            // quoted, so that an empty name reads as one, and cut, so that a 64 KiB name does not make a 64 KiB error
            String shown = key.length() > 64 ? key.substring(0, 64) + "..." : key;
            String message = "property '" + shown + "': key " + keyLength + " bytes, value " + valueLength
                    + " bytes (expected: key 1..65535, value 0..65535)";
            throw keyLength == 0 ? new InvalidMessageException(message) : InvalidMessageException.overLimit(message);
        }
        long total = size + 4 + keyLength + valueLength;
        if (total > MAX_AREA_BYTES) {
            throw InvalidMessageException.overLimit("properties: more than " + MAX_AREA_BYTES + " bytes encoded (expected: <= "
                    + MAX_AREA_BYTES + ")");
        }
        return total;
    }

    /** Decodes {@code length} bytes at {@code position} of {@code buf} (absolute reads). */
    static Map<String, String> decode(ByteBuffer buf, int position, int length) {
        Map<String, String> out = new LinkedHashMap<>();
        int p = position;
        int end = position + length;
        while (p < end) {
            int kl = Short.toUnsignedInt(buf.getShort(p));
            String k = utf8(buf, p + 2, kl);
            p += 2 + kl;
            int vl = Short.toUnsignedInt(buf.getShort(p));
            String v = utf8(buf, p + 2, vl);
            p += 2 + vl;
            out.put(k, v);
        }
        return out;
    }

    private static String utf8(ByteBuffer buf, int position, int length) {
        byte[] b = new byte[length];
        buf.get(position, b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
