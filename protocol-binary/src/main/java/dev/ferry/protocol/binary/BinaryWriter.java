package dev.ferry.protocol.binary;

import static dev.ferry.protocol.binary.BinaryLayout.I32;
import static dev.ferry.protocol.binary.BinaryLayout.U16;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * Writes one command in {@link BinaryLayout} into a byte array sized in a first pass, so encoding
 * costs one allocation for the bytes and one for the wrapping buffer, and no per-field temporary
 * objects: strings are encoded to UTF-8 char by char straight into the array, numbers through
 * big-endian array views. The producer benchmark (batches of ~160 x 100-byte messages) runs
 * through here.
 *
 * <p>Not thread-safe; one instance per encode call.
 */
final class BinaryWriter {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final byte[] out;
    private int pos;

    private BinaryWriter(int size) {
        this.out = new byte[size];
    }

    /**
     * Encodes {@code c}.
     *
     * @param framePrefix   also write the 4-byte frame length prefix first
     * @param bodyLength    the body length to write, or -1 to write {@code c}'s body itself
     */
    static ByteBuffer write(Command c, boolean framePrefix, int bodyLength) {
        boolean withBody = bodyLength < 0;
        long payload = sizeWithoutBody(c) + (withBody ? c.bodyLength() : 0);
        long frameLength = payload + (withBody ? 0 : bodyLength);
        if (frameLength > Integer.MAX_VALUE - I32) {
            throw new IllegalArgumentException("command: " + frameLength + " bytes (expected: <= " + (Integer.MAX_VALUE - I32) + ")");
        }
        BinaryWriter w = new BinaryWriter((int) payload + (framePrefix ? I32 : 0));
        if (framePrefix) {
            w.putInt((int) frameLength);
        }
        w.command(c, withBody ? c.bodyLength() : bodyLength, withBody);
        if (w.pos != w.out.length) {
            throw new IllegalStateException("sized " + w.out.length + " bytes but wrote " + w.pos);
        }
        return ByteBuffer.wrap(w.out);
    }

    /** Bytes of {@code c} in {@link BinaryLayout}, body bytes excluded. */
    static long sizeWithoutBody(Command c) {
        long size = BinaryLayout.COMMAND_FIXED_SIZE + Utf8.length(c.message()) + U16;
        size += mapSize("headers", c.headers());
        size += I32;
        for (Message m : c.messages()) {
            size += messageSize(m);
        }
        return size + I32;
    }

    private static long messageSize(Message m) {
        long size = BinaryLayout.MESSAGE_FIXED_SIZE
                + shortStringSize("topic", m.topic())
                + shortStringSize("msgId", m.msgId())
                + shortStringSize("tags", m.tags())
                + U16;
        List<String> keys = m.keys();
        checkU16Count("keys", keys.size());
        for (int i = 0; i < keys.size(); i++) {
            size += shortStringSize("key", keys.get(i));
        }
        size += U16 + mapSize("properties", m.properties());
        return size + I32 + m.bodyLength();
    }

    private static long mapSize(String field, Map<String, String> map) {
        checkU16Count(field, map.size());
        long size = 0;
        for (Map.Entry<String, String> e : map.entrySet()) {
            size += shortStringSize(field + " key", e.getKey()) + I32 + Utf8.length(e.getValue());
        }
        return size;
    }

    private static int shortStringSize(String field, String s) {
        int n = Utf8.length(s);
        if (n > 0xFFFF) {
            throw new IllegalArgumentException(field + ": length " + n + " bytes (expected: <= 65535 in the binary codec)");
        }
        return U16 + n;
    }

    private static void checkU16Count(String field, int n) {
        if (n > 0xFFFF) {
            throw new IllegalArgumentException(field + ": count " + n + " (expected: <= 65535 in the binary codec)");
        }
    }

    private void command(Command c, int bodyLength, boolean withBody) {
        out[pos++] = (byte) c.kind().flagBits();
        putShort(c.code().id());
        putInt(c.requestId());
        putShort(c.status().id());
        putLongString(c.message());
        putMap(c.headers());
        List<Message> messages = c.messages();
        putInt(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            message(messages.get(i));
        }
        putInt(bodyLength);
        if (withBody) {
            putBody(c.body());
        }
    }

    private void message(Message m) {
        putInt(m.queueId());
        putLong(m.queueOffset());
        putLong(m.bornTimestamp());
        putLong(m.storeTimestamp());
        putLong(m.deliverAt());
        putInt(m.flags());
        putShortString(m.topic());
        putShortString(m.msgId());
        putShortString(m.tags());
        List<String> keys = m.keys();
        putShort((short) keys.size());
        for (int i = 0; i < keys.size(); i++) {
            putShortString(keys.get(i));
        }
        putMap(m.properties());
        putInt(m.bodyLength());
        putBody(m.body());
    }

    private void putMap(Map<String, String> map) {
        putShort((short) map.size());
        for (Map.Entry<String, String> e : map.entrySet()) {
            putShortString(e.getKey());
            putLongString(e.getValue());
        }
    }

    private void putBody(ByteBuffer body) {
        int n = body.remaining();
        body.get(out, pos, n);
        pos += n;
    }

    private void putShortString(String s) {
        int start = pos;
        pos += U16;
        putUtf8(s);
        SHORT.set(out, start, (short) (pos - start - U16));
    }

    private void putLongString(String s) {
        int start = pos;
        pos += I32;
        putUtf8(s);
        INT.set(out, start, pos - start - I32);
    }

    /**
     * UTF-8 as {@link String#getBytes} writes it. An unpaired surrogate would become '?', but the
     * {@link Message} and {@link Command} builders refuse one, so none reaches here.
     */
    private void putUtf8(String s) {
        byte[] b = out;
        int p = pos;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                b[p++] = (byte) c;
            } else if (c < 0x800) {
                b[p++] = (byte) (0xC0 | (c >> 6));
                b[p++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isSurrogate(c)) {
                char low = i + 1 < n ? s.charAt(i + 1) : 0;
                if (Character.isHighSurrogate(c) && Character.isLowSurrogate(low)) {
                    int cp = Character.toCodePoint(c, low);
                    b[p++] = (byte) (0xF0 | (cp >> 18));
                    b[p++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                    b[p++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                    b[p++] = (byte) (0x80 | (cp & 0x3F));
                    i++;
                } else {
                    b[p++] = '?';
                }
            } else {
                b[p++] = (byte) (0xE0 | (c >> 12));
                b[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[p++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        pos = p;
    }

    private void putShort(short v) {
        SHORT.set(out, pos, v);
        pos += U16;
    }

    private void putInt(int v) {
        INT.set(out, pos, v);
        pos += I32;
    }

    private void putLong(long v) {
        LONG.set(out, pos, v);
        pos += BinaryLayout.I64;
    }
}
