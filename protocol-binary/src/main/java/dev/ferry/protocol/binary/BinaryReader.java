package dev.ferry.protocol.binary;

import static dev.ferry.protocol.binary.BinaryLayout.I32;
import static dev.ferry.protocol.binary.BinaryLayout.U16;

import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one command in {@link BinaryLayout} from a payload, with absolute reads on a big-endian
 * view so the caller's buffer is never moved. Every length and count is checked, before anything
 * is allocated for it, against both the {@link Limits} and the bytes that actually remain, so a
 * frame cannot make the reader allocate more than about its own size. Bodies are read-only slices
 * of the payload, not copies. Strings must be valid UTF-8: an invalid sequence is refused, naming
 * the field and the byte, never replaced.
 *
 * <p>Not thread-safe; one instance per decode call.
 */
final class BinaryReader {
    private final ByteBuffer in;
    private final Limits limits;
    private final int end;
    private final int start;
    private int pos;
    /** Strict UTF-8 decoder, made on the first string that is not ASCII. */
    private CharsetDecoder utf8;
    /** The last message's topic and its bytes as read, or null: see {@link #topic}. */
    private String lastTopic;
    private byte[] lastTopicBytes;

    BinaryReader(ByteBuffer payload, Limits limits) {
        this.in = payload.duplicate().order(ByteOrder.BIG_ENDIAN);
        this.limits = limits;
        this.start = payload.position();
        this.pos = start;
        this.end = payload.limit();
    }

    Command command() throws CodecException {
        Limits.checkLength(Limits.FRAME, end - start, limits.maxFrameBytes());
        need("command", BinaryLayout.MIN_COMMAND_SIZE);
        Kind kind = Kind.fromFlags(in.get(pos + BinaryLayout.FLAGS_OFFSET));
        int codeId = Short.toUnsignedInt(in.getShort(pos + BinaryLayout.CODE_OFFSET));
        RequestCode code = RequestCode.orUnknown(codeId);
        int requestId = in.getInt(pos + BinaryLayout.REQUEST_ID_OFFSET);
        Status status = Status.of(Short.toUnsignedInt(in.getShort(pos + BinaryLayout.STATUS_OFFSET)));
        pos += BinaryLayout.MESSAGE_LENGTH_OFFSET;
        String message = string(Limits.ERROR_MESSAGE, readInt(Limits.ERROR_MESSAGE), limits.maxErrorMessageBytes());
        Map<String, String> headers = map(Limits.HEADERS, limits.maxHeaders(), Limits.HEADER_KEY,
                limits.maxHeaderKeyBytes(), Limits.HEADER_VALUE, limits.maxHeaderValueBytes());
        int count = readInt(Limits.MESSAGES);
        Limits.checkCount(Limits.MESSAGES, count, limits.maxMessagesPerCommand());
        needFor(Limits.MESSAGES, count, BinaryLayout.MIN_MESSAGE_SIZE);
        List<Message> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            messages.add(message());
        }
        ByteBuffer body = body("body");
        if (pos != end) {
            throw new CodecException("payload: " + (end - pos) + " bytes after the body (expected: 0)");
        }
        if (code == RequestCode.UNKNOWN && kind != Kind.RESPONSE) {
            message = RequestCode.unknown(codeId); // answered UNSUPPORTED with this id; the connection goes on
        }
        return Command.builder().kind(kind).code(code).requestId(requestId).status(status).message(message)
                .headers(headers).messages(messages).body(body).build();
    }

    private Message message() throws CodecException {
        need("message", BinaryLayout.MIN_MESSAGE_SIZE);
        Message.Builder b = Message.builder(null)
                .queueId(in.getInt(pos + BinaryLayout.QUEUE_ID_OFFSET))
                .queueOffset(in.getLong(pos + BinaryLayout.QUEUE_OFFSET_OFFSET))
                .bornTimestamp(in.getLong(pos + BinaryLayout.BORN_TIMESTAMP_OFFSET))
                .storeTimestamp(in.getLong(pos + BinaryLayout.STORE_TIMESTAMP_OFFSET))
                .deliverAt(in.getLong(pos + BinaryLayout.DELIVER_AT_OFFSET))
                .flags(in.getInt(pos + BinaryLayout.MESSAGE_FLAGS_OFFSET));
        pos += BinaryLayout.MESSAGE_FIXED_SIZE;
        b.topic(topic());
        b.msgId(shortString(Limits.MSG_ID, limits.maxMsgIdBytes()));
        b.tags(shortString(Limits.TAGS, limits.maxTagsBytes()));
        int keyCount = readU16(Limits.KEYS);
        Limits.checkCount(Limits.KEYS, keyCount, limits.maxKeysPerMessage());
        needFor(Limits.KEYS, keyCount, U16);
        List<String> keys = new ArrayList<>(keyCount);
        for (int i = 0; i < keyCount; i++) {
            keys.add(shortString(Limits.KEY, limits.maxKeyBytes()));
        }
        b.keys(keys);
        b.properties(map(Limits.PROPERTIES, limits.maxPropertiesPerMessage(), Limits.PROPERTY_KEY,
                limits.maxPropertyKeyBytes(), Limits.PROPERTY_VALUE, limits.maxPropertyValueBytes()));
        return b.body(body("message body")).build();
    }

    private Map<String, String> map(String field, int maxCount, String keyField, int maxKey,
                                    String valueField, int maxValue) throws CodecException {
        int count = readU16(field);
        Limits.checkCount(field, count, maxCount);
        needFor(field, count, BinaryLayout.MIN_ENTRY_SIZE);
        if (count == 0) {
            return Map.of();
        }
        Map<String, String> map = new LinkedHashMap<>(count * 2);
        for (int i = 0; i < count; i++) {
            String key = shortString(keyField, maxKey);
            String value = string(valueField, readInt(valueField), maxValue);
            if (map.putIfAbsent(key, value) != null) {
                throw new CodecException(field + ": duplicate key '" + key + "' (expected: unique keys)");
            }
        }
        return map;
    }

    private ByteBuffer body(String field) throws CodecException {
        int length = readInt(field);
        if (length < 0) {
            throw new CodecException(field + ": length " + length + " bytes (expected: >= 0)");
        }
        need(field, length);
        ByteBuffer slice = in.slice(pos, length);
        pos += length;
        return slice;
    }

    /**
     * A message's topic: the previous message's String when the bytes are the same, as they are in
     * a batch, which is sent per (topic, queue). Decoding a new String for each message, hashing it
     * again for the store's topic lookup and encoding it again for the record took a fifth of the
     * broker's network thread in a 100-byte produce run (JFR); with the same instance, its hash is
     * computed once.
     */
    private String topic() throws CodecException {
        int length = readU16(Limits.TOPIC);
        Limits.checkLength(Limits.TOPIC, length, limits.maxTopicBytes());
        need(Limits.TOPIC, length);
        byte[] last = lastTopicBytes;
        if (last != null && last.length == length && sameBytes(last)) {
            pos += length;
            return lastTopic;
        }
        byte[] b = new byte[length];
        in.get(pos, b);
        String topic = length == 0 ? "" : decode(Limits.TOPIC, b);
        pos += length;
        lastTopic = topic;
        lastTopicBytes = b;
        return topic;
    }

    private boolean sameBytes(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (in.get(pos + i) != b[i]) {
                return false;
            }
        }
        return true;
    }

    private String shortString(String field, int max) throws CodecException {
        return string(field, readU16(field), max);
    }

    private String string(String field, int length, int max) throws CodecException {
        Limits.checkLength(field, length, max);
        need(field, length);
        String s = length == 0 ? "" : utf8(field, length);
        pos += length;
        return s;
    }

    /**
     * The {@code length} bytes at {@code pos} as a string, refusing invalid UTF-8 (a stray byte,
     * a truncated or overlong sequence, an encoded surrogate) rather than replacing it with
     * U+FFFD: a replaced string differs from what was sent and can be three times its limit in
     * UTF-8, which the other codecs then refuse to carry. The bytes are copied once into an array
     * (the gateway's frames are off-heap); ASCII, the common case, then becomes a string with one
     * more array copy (ISO-8859-1 is how a compact string holds ASCII), the rest goes through a
     * strict decoder.
     */
    private String utf8(String field, int length) throws CodecException {
        byte[] b = new byte[length];
        in.get(pos, b);
        return decode(field, b);
    }

    /** {@code b} as a string, refusing invalid UTF-8 (see {@link #utf8}). */
    private String decode(String field, byte[] b) throws CodecException {
        int length = b.length;
        if (isAscii(b)) {
            return new String(b, StandardCharsets.ISO_8859_1);
        }
        if (utf8 == null) {
            utf8 = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
        }
        ByteBuffer bytes = ByteBuffer.wrap(b);
        CharBuffer out = CharBuffer.allocate(length); // UTF-8 never takes fewer bytes than UTF-16 chars
        utf8.reset();
        CoderResult r = utf8.decode(bytes, out, true);
        if (!r.isError()) {
            r = utf8.flush(out);
        }
        if (r.isError()) {
            throw new CodecException(field + ": invalid UTF-8 at byte " + bytes.position() + " of " + length
                    + " (expected: valid UTF-8)");
        }
        return out.flip().toString();
    }

    private static boolean isAscii(byte[] b) {
        for (byte x : b) {
            if (x < 0) {
                return false;
            }
        }
        return true;
    }

    private int readU16(String field) throws CodecException {
        need(field, U16);
        int v = Short.toUnsignedInt(in.getShort(pos));
        pos += U16;
        return v;
    }

    private int readInt(String field) throws CodecException {
        need(field, I32);
        int v = in.getInt(pos);
        pos += I32;
        return v;
    }

    /** Throws unless {@code count} entries of at least {@code minSize} bytes each can still follow. */
    private void needFor(String field, int count, int minSize) throws CodecException {
        long needed = (long) count * minSize;
        if (needed > end - pos) {
            throw new CodecException(field + ": count " + count + " needs at least " + needed
                    + " bytes at offset " + (pos - start) + " (expected: <= " + (end - pos) + " remaining)");
        }
    }

    private void need(String field, int bytes) throws CodecException {
        if (bytes > end - pos) {
            throw new CodecException(field + ": truncated at offset " + (pos - start) + " (expected: "
                    + bytes + " more bytes, " + (end - pos) + " remain)");
        }
    }

}
