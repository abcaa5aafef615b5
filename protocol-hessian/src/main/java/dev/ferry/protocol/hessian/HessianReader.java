package dev.ferry.protocol.hessian;

import static dev.ferry.protocol.hessian.HessianFields.*;

import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one command from Hessian 2 with typed reads only — never {@code readObject()} — so the
 * only values it accepts are untyped maps ({@code 'H'}), untyped lists ({@code 'X'}, {@code 0x78-0x7f},
 * {@code 'W'}), strings, numbers and binary; a class definition, object instance, typed map or
 * list, or reference anywhere is refused. Unknown map keys are refused too, since skipping a value
 * of unknown type would mean deserializing it. A field given twice in one map is refused, as in
 * JSON, rather than the last one winning. A code name this side does not know decodes as
 * {@link RequestCode#UNKNOWN}, which the broker answers UNSUPPORTED with the request's id.
 *
 * <p>Types are strict, as in JSON: a string field takes a Hessian string only (the stock
 * {@code readString()} would take a number or boolean as its text), an int or long field an
 * integer only ({@link StrictHessianInput#int32}).
 *
 * <p>Fixed-length lists declare their length, which is checked against {@link Limits} before
 * anything is read for it; maps and variable-length lists are counted as entries arrive. Strings
 * and binary are read by Hessian in chunks of at most 64 KiB, so their size is bounded by the
 * frame, and checked against their limit once read. Hessian carries each UTF-16 char on its own,
 * so a string may hold an unpaired surrogate, which UTF-8 cannot store; it is refused.
 *
 * <p>Not thread-safe; one instance per decode call.
 */
final class HessianReader {
    private static final int MAP_UNTYPED = 'H';
    private static final int LIST_FIXED_UNTYPED = 0x58;
    private static final int LIST_VARIABLE_UNTYPED = 0x57;
    private static final int LIST_COMPACT_UNTYPED_0 = 0x78;
    private static final int LIST_COMPACT_UNTYPED_7 = 0x7f;
    /** Marks a variable-length list in {@link #listLength}. */
    private static final int VARIABLE = -1;

    private final StrictHessianInput in;
    private final Limits limits;

    HessianReader(ByteBuffer payload, Limits limits) {
        this.in = new StrictHessianInput(payload);
        this.limits = limits;
    }

    Command command() throws IOException, CodecException {
        mapStart("command");
        Command.Builder b = Command.builder();
        boolean hasKind = false, hasCode = false, hasRequestId = false;
        String codeName = null;
        int seen = 0;
        while (!in.isEnd()) {
            String field = string("field name");
            seen = once(seen, COMMAND_FIELDS, field);
            switch (field) {
                case KIND -> { b.kind(Kind.fromName(string(field))); hasKind = true; }
                case CODE -> {
                    codeName = string(field);
                    b.code(RequestCode.fromNameOrUnknown(codeName));
                    hasCode = true;
                }
                case REQUEST_ID -> { b.requestId(in.int32(REQUEST_ID)); hasRequestId = true; }
                case STATUS -> b.status(Status.fromName(string(field)));
                case MESSAGE -> b.message(string(Limits.ERROR_MESSAGE, limits.maxErrorMessageBytes()));
                case HEADERS -> b.headers(map(Limits.HEADERS, limits.maxHeaders(), Limits.HEADER_KEY,
                        limits.maxHeaderKeyBytes(), Limits.HEADER_VALUE, limits.maxHeaderValueBytes()));
                case MESSAGES -> b.messages(messages());
                case BODY -> b.body(bytes(field));
                default -> throw unknown("command", field);
            }
        }
        in.readMapEnd();
        if (in.read() >= 0) {
            throw new CodecException("payload: bytes after the command map (expected: end of input)");
        }
        if (!hasKind || !hasCode || !hasRequestId) {
            String missing = !hasKind ? KIND : !hasCode ? CODE : REQUEST_ID;
            throw new CodecException(missing + ": missing (expected: kind, code and requestId in every command)");
        }
        Command c = b.build();
        if (c.code() == RequestCode.UNKNOWN && c.kind() != Kind.RESPONSE) {
            c = c.toBuilder().message(RequestCode.unknown(codeName)).build(); // answered UNSUPPORTED, connection kept
        }
        return c;
    }

    private List<Message> messages() throws IOException, CodecException {
        int length = listLength(MESSAGES, limits.maxMessagesPerCommand());
        List<Message> messages = new ArrayList<>(Math.max(0, length));
        for (int i = 0; length == VARIABLE ? !in.isEnd() : i < length; i++) {
            Limits.checkCount(Limits.MESSAGES, i + 1L, limits.maxMessagesPerCommand());
            messages.add(message());
        }
        if (length == VARIABLE) {
            in.readListEnd();
        }
        return messages;
    }

    private Message message() throws IOException, CodecException {
        mapStart("message");
        Message.Builder b = Message.builder(null);
        boolean hasTopic = false;
        int seen = 0;
        while (!in.isEnd()) {
            String field = string("field name");
            seen = once(seen, MESSAGE_FIELDS, field);
            switch (field) {
                case TOPIC -> { b.topic(string(Limits.TOPIC, limits.maxTopicBytes())); hasTopic = true; }
                case QUEUE_ID -> b.queueId(in.int32(QUEUE_ID));
                case QUEUE_OFFSET -> b.queueOffset(in.int64(QUEUE_OFFSET));
                case MSG_ID -> b.msgId(string(Limits.MSG_ID, limits.maxMsgIdBytes()));
                case KEYS -> b.keys(keys());
                case TAGS -> b.tags(string(Limits.TAGS, limits.maxTagsBytes()));
                case PROPERTIES -> b.properties(map(Limits.PROPERTIES, limits.maxPropertiesPerMessage(),
                        Limits.PROPERTY_KEY, limits.maxPropertyKeyBytes(), Limits.PROPERTY_VALUE, limits.maxPropertyValueBytes()));
                case BORN_TIMESTAMP -> b.bornTimestamp(in.int64(BORN_TIMESTAMP));
                case STORE_TIMESTAMP -> b.storeTimestamp(in.int64(STORE_TIMESTAMP));
                case DELIVER_AT -> b.deliverAt(in.int64(DELIVER_AT));
                case FLAGS -> b.flags(in.int32(FLAGS));
                case BODY -> b.body(bytes("message body"));
                default -> throw unknown("message", field);
            }
        }
        in.readMapEnd();
        if (!hasTopic) {
            throw new CodecException("topic: missing (expected: a topic in every message)");
        }
        return b.build();
    }

    /**
     * Refuses a field that came before in the same map, as the JSON codec does: with a last-wins
     * map, {@code {"topic":"a","topic":"b"}} would mean whatever the reader happened to keep, and
     * two readers may not agree. A bit per known field; an unknown one is refused by the caller.
     */
    private static int once(int seen, List<String> known, String field) throws CodecException {
        int i = known.indexOf(field);
        if (i < 0) {
            return seen;
        }
        if ((seen & (1 << i)) != 0) {
            throw new CodecException(field + ": duplicate field (expected: each field once)");
        }
        return seen | (1 << i);
    }

    private static final List<String> COMMAND_FIELDS = List.of(KIND, CODE, REQUEST_ID, STATUS, MESSAGE, HEADERS, MESSAGES, BODY);
    private static final List<String> MESSAGE_FIELDS = List.of(TOPIC, QUEUE_ID, QUEUE_OFFSET, MSG_ID, KEYS, TAGS, PROPERTIES,
            BORN_TIMESTAMP, STORE_TIMESTAMP, DELIVER_AT, FLAGS, BODY);

    private List<String> keys() throws IOException, CodecException {
        int length = listLength(Limits.KEYS, limits.maxKeysPerMessage());
        List<String> keys = new ArrayList<>(Math.max(0, length));
        for (int i = 0; length == VARIABLE ? !in.isEnd() : i < length; i++) {
            Limits.checkCount(Limits.KEYS, i + 1L, limits.maxKeysPerMessage());
            keys.add(string(Limits.KEY, limits.maxKeyBytes()));
        }
        if (length == VARIABLE) {
            in.readListEnd();
        }
        return keys;
    }

    private Map<String, String> map(String field, int maxCount, String keyField, int maxKey,
                                    String valueField, int maxValue) throws IOException, CodecException {
        mapStart(field);
        Map<String, String> map = new LinkedHashMap<>();
        while (!in.isEnd()) {
            Limits.checkCount(field, map.size() + 1L, maxCount);
            String key = string(keyField, maxKey);
            String value = string(valueField, maxValue);
            if (map.putIfAbsent(key, value) != null) {
                throw new CodecException(field + ": duplicate key '" + key + "' (expected: unique keys)");
            }
        }
        in.readMapEnd();
        return map;
    }

    /** The declared length of an untyped list, checked against {@code max}, or {@link #VARIABLE}. */
    private int listLength(String field, int max) throws IOException, CodecException {
        int tag = in.readListStart();
        if (tag >= LIST_COMPACT_UNTYPED_0 && tag <= LIST_COMPACT_UNTYPED_7) {
            int length = tag - LIST_COMPACT_UNTYPED_0;
            Limits.checkCount(field, length, max);
            return length;
        }
        if (tag == LIST_FIXED_UNTYPED) {
            int length = in.int32(field);
            Limits.checkCount(field, length, max);
            return length;
        }
        if (tag == LIST_VARIABLE_UNTYPED) {
            return VARIABLE;
        }
        throw refused(field, tag, "an untyped list");
    }

    private void mapStart(String field) throws IOException, CodecException {
        int tag = in.readMapStart();
        if (tag != MAP_UNTYPED) {
            throw refused(field, tag, "0x48 'H', an untyped map");
        }
    }

    private String string(String field) throws IOException, CodecException {
        String s = in.string(field);
        if (s == null) {
            throw new CodecException(field + ": null (expected: a string)");
        }
        return s;
    }

    private String string(String field, int maxBytes) throws IOException, CodecException {
        String s = string(field);
        Limits.checkString(field, s, maxBytes);
        return s;
    }

    private ByteBuffer bytes(String field) throws IOException, CodecException {
        byte[] b = in.binary(field);
        if (b == null) {
            throw new CodecException(field + ": null (expected: binary)");
        }
        return ByteBuffer.wrap(b);
    }

    private static CodecException refused(String field, int tag, String expected) {
        return new CodecException(field + ": tag " + (tag < 0 ? "end of input" : "0x" + Integer.toHexString(tag)
                + StrictHessianInput.describe(tag)) + " (expected: " + expected
                + "; objects, typed values and references are refused)");
    }

    private static CodecException unknown(String where, String field) {
        return new CodecException(where + ": unknown field '" + field + "' (expected: the fields of docs/PROTOCOL.md)");
    }
}
