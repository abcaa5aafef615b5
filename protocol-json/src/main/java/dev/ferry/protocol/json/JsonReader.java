package dev.ferry.protocol.json;

import static dev.ferry.protocol.json.JsonFields.*;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one command from a JSON object with Jackson's streaming parser. Fields may come in any
 * order; unknown fields are skipped; missing ones take their defaults except {@code kind},
 * {@code code} and {@code requestId}, which are required. A code name this side does not know
 * decodes as {@link RequestCode#UNKNOWN}, which the broker answers UNSUPPORTED with the request's id.
 *
 * <p>JSON declares no counts, so counts are checked as elements arrive: the element past a limit
 * is refused before it is parsed ("count" in the error is the count reached). Strings are checked
 * once the parser has produced them; their size is bounded by the frame, which {@link Limits#maxFrameBytes()}
 * bounds before anything is parsed. A string with an unpaired surrogate (an escape such as
 * {@code "\ud800"}, which UTF-8 cannot carry) is refused, as is a {@code utf8} body holding one:
 * stored, it would have become {@code '?'}.
 *
 * <p>Not thread-safe; one instance per decode call.
 */
final class JsonReader {
    private final JsonParser p;
    private final Limits limits;

    JsonReader(JsonParser p, Limits limits) {
        this.p = p;
        this.limits = limits;
    }

    Command command() throws IOException, CodecException {
        expect(p.nextToken(), JsonToken.START_OBJECT, "command");
        Command.Builder b = Command.builder();
        boolean hasKind = false, hasCode = false, hasRequestId = false;
        String body = null, encoding = UTF8, codeName = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            seen = once(seen, COMMAND_FIELDS, field);
            switch (field) {
                case KIND -> { b.kind(Kind.fromName(string(t, field))); hasKind = true; }
                case CODE -> {
                    codeName = string(t, field);
                    b.code(RequestCode.fromNameOrUnknown(codeName));
                    hasCode = true;
                }
                case REQUEST_ID -> { b.requestId(integer(t, field)); hasRequestId = true; }
                case STATUS -> b.status(Status.fromName(string(t, field)));
                case MESSAGE -> b.message(checked(Limits.ERROR_MESSAGE, string(t, field), limits.maxErrorMessageBytes()));
                case HEADERS -> b.headers(map(t, Limits.HEADERS, limits.maxHeaders(), Limits.HEADER_KEY,
                        limits.maxHeaderKeyBytes(), Limits.HEADER_VALUE, limits.maxHeaderValueBytes()));
                case MESSAGES -> b.messages(messages(t));
                case BODY -> body = string(t, field);
                case BODY_ENCODING -> encoding = string(t, field);
                default -> p.skipChildren();
            }
        }
        expect(p.currentToken(), JsonToken.END_OBJECT, "command");
        if (p.nextToken() != null) {
            throw error("payload: content after the command object (expected: end of input)");
        }
        if (!hasKind || !hasCode || !hasRequestId) {
            String missing = !hasKind ? KIND : !hasCode ? CODE : REQUEST_ID;
            throw new CodecException(missing + ": missing (expected: kind, code and requestId in every command)");
        }
        Command c = b.body(body(BODY, body, encoding)).build();
        if (c.code() == RequestCode.UNKNOWN && c.kind() != Kind.RESPONSE) {
            c = c.toBuilder().message(RequestCode.unknown(codeName)).build(); // answered UNSUPPORTED, connection kept
        }
        return c;
    }

    private List<Message> messages(JsonToken t) throws IOException, CodecException {
        expect(t, JsonToken.START_ARRAY, MESSAGES);
        List<Message> messages = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            Limits.checkCount(Limits.MESSAGES, messages.size() + 1L, limits.maxMessagesPerCommand());
            messages.add(message(p.currentToken()));
        }
        return messages;
    }

    private Message message(JsonToken t) throws IOException, CodecException {
        expect(t, JsonToken.START_OBJECT, "message");
        Message.Builder b = Message.builder(null);
        boolean hasTopic = false;
        String body = null, encoding = UTF8;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            seen = once(seen, MESSAGE_FIELDS, field);
            switch (field) {
                case TOPIC -> {
                    b.topic(checked(Limits.TOPIC, string(v, field), limits.maxTopicBytes()));
                    hasTopic = true;
                }
                case QUEUE_ID -> b.queueId(integer(v, field));
                case QUEUE_OFFSET -> b.queueOffset(longValue(v, field));
                case MSG_ID -> b.msgId(checked(Limits.MSG_ID, string(v, field), limits.maxMsgIdBytes()));
                case KEYS -> b.keys(keys(v));
                case TAGS -> b.tags(checked(Limits.TAGS, string(v, field), limits.maxTagsBytes()));
                case PROPERTIES -> b.properties(map(v, Limits.PROPERTIES, limits.maxPropertiesPerMessage(),
                        Limits.PROPERTY_KEY, limits.maxPropertyKeyBytes(), Limits.PROPERTY_VALUE, limits.maxPropertyValueBytes()));
                case BORN_TIMESTAMP -> b.bornTimestamp(longValue(v, field));
                case STORE_TIMESTAMP -> b.storeTimestamp(longValue(v, field));
                case DELIVER_AT -> b.deliverAt(longValue(v, field));
                case FLAGS -> b.flags(integer(v, field));
                case BODY -> body = string(v, field);
                case BODY_ENCODING -> encoding = string(v, field);
                default -> p.skipChildren();
            }
        }
        expect(p.currentToken(), JsonToken.END_OBJECT, "message");
        if (!hasTopic) {
            throw error("topic: missing (expected: a topic in every message)");
        }
        return b.body(body("message body", body, encoding)).build();
    }

    /**
     * Duplicate-field check for the fields this reader knows (a cheap bit per field instead of
     * Jackson's per-object hash set, which cost a third of decoding a fetch); unknown fields are
     * skipped, so a duplicate of one cannot make a value ambiguous.
     */
    private int once(int seen, List<String> known, String field) throws CodecException {
        int i = known.indexOf(field);
        if (i < 0) {
            return seen;
        }
        if ((seen & (1 << i)) != 0) {
            throw error(field + ": duplicate field (expected: each field once)");
        }
        return seen | (1 << i);
    }

    private static final List<String> COMMAND_FIELDS = List.of(KIND, CODE, REQUEST_ID, STATUS, MESSAGE, HEADERS, MESSAGES, BODY,
            BODY_ENCODING);
    private static final List<String> MESSAGE_FIELDS = List.of(TOPIC, QUEUE_ID, QUEUE_OFFSET, MSG_ID, KEYS, TAGS, PROPERTIES,
            BORN_TIMESTAMP, STORE_TIMESTAMP, DELIVER_AT, FLAGS, BODY, BODY_ENCODING);

    private List<String> keys(JsonToken t) throws IOException, CodecException {
        expect(t, JsonToken.START_ARRAY, KEYS);
        List<String> keys = new ArrayList<>();
        JsonToken v;
        while ((v = p.nextToken()) != JsonToken.END_ARRAY) {
            Limits.checkCount(Limits.KEYS, keys.size() + 1L, limits.maxKeysPerMessage());
            keys.add(checked(Limits.KEY, string(v, Limits.KEY), limits.maxKeyBytes()));
        }
        return keys;
    }

    private Map<String, String> map(JsonToken t, String field, int maxCount, String keyField, int maxKey,
                                    String valueField, int maxValue) throws IOException, CodecException {
        expect(t, JsonToken.START_OBJECT, field);
        Map<String, String> map = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            Limits.checkCount(field, map.size() + 1L, maxCount);
            String key = checked(keyField, p.currentName(), maxKey);
            String value = checked(valueField, string(p.nextToken(), valueField), maxValue);
            if (map.putIfAbsent(key, value) != null) {
                throw error(field + ": duplicate key '" + key + "' (expected: unique keys)");
            }
        }
        expect(p.currentToken(), JsonToken.END_OBJECT, field);
        return map;
    }

    private ByteBuffer body(String field, String text, String encoding) throws CodecException {
        if (text == null || text.isEmpty()) {
            return ByteBuffer.allocate(0);
        }
        switch (encoding) {
            case UTF8:
                // getBytes would write an unpaired surrogate (a "\ud800" escape) as '?': refused instead
                Limits.checkWellFormed(field, text);
                return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            case BASE64:
                try {
                    return ByteBuffer.wrap(Base64.getDecoder().decode(text));
                } catch (IllegalArgumentException e) {
                    throw new CodecException(field + ": not base64 (" + e.getMessage() + ")");
                }
            default:
                throw new CodecException("bodyEncoding: '" + encoding + "' (expected: utf8 or base64)");
        }
    }

    private String checked(String field, String value, int max) throws CodecException {
        Limits.checkString(field, value, max);
        return value;
    }

    private String string(JsonToken t, String field) throws IOException, CodecException {
        if (t != JsonToken.VALUE_STRING) {
            throw error(field + ": " + t + " (expected: a string)");
        }
        return p.getText();
    }

    private int integer(JsonToken t, String field) throws IOException, CodecException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw error(field + ": " + t + " (expected: an integer)");
        }
        return p.getIntValue();
    }

    private long longValue(JsonToken t, String field) throws IOException, CodecException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw error(field + ": " + t + " (expected: an integer)");
        }
        return p.getLongValue();
    }

    private void expect(JsonToken t, JsonToken expected, String field) throws CodecException {
        if (t != expected) {
            throw error(field + ": " + t + " (expected: " + expected + ")");
        }
    }

    private CodecException error(String message) {
        JsonLocation at = p.currentLocation();
        return new CodecException(message + " at line " + at.getLineNr() + ", column " + at.getColumnNr());
    }
}
