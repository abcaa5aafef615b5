package dev.ferry.protocol.json;

import static dev.ferry.protocol.json.JsonFields.*;

import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Writes one command as a JSON object with Jackson's streaming generator. Every field is written,
 * defaults included, so a reader in any language sees the whole shape. A body is written as a
 * UTF-8 string when its bytes are valid UTF-8, else as base64, with {@code bodyEncoding} first.
 *
 * <p>Not thread-safe; one instance per encode call.
 */
final class JsonWriter {
    private final JsonGenerator g;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    private JsonWriter(JsonGenerator g) {
        this.g = g;
    }

    static ByteBuffer write(JsonFactory factory, Command c) {
        ByteArrayBuilder out = new ByteArrayBuilder(256 + c.bodyLength());
        try (JsonGenerator g = factory.createGenerator(out)) {
            new JsonWriter(g).command(c);
        } catch (IOException e) {
            throw new UncheckedIOException("json: writing to memory failed", e);
        }
        return ByteBuffer.wrap(out.toByteArray());
    }

    private void command(Command c) throws IOException {
        g.writeStartObject();
        g.writeStringField(KIND, c.kind().name());
        g.writeStringField(CODE, c.code().name());
        g.writeNumberField(REQUEST_ID, c.requestId());
        g.writeStringField(STATUS, c.status().name());
        g.writeStringField(MESSAGE, c.message());
        map(HEADERS, c.headers());
        g.writeArrayFieldStart(MESSAGES);
        for (Message m : c.messages()) {
            message(m);
        }
        g.writeEndArray();
        body(c.body());
        g.writeEndObject();
    }

    private void message(Message m) throws IOException {
        g.writeStartObject();
        g.writeStringField(TOPIC, m.topic());
        g.writeNumberField(QUEUE_ID, m.queueId());
        g.writeNumberField(QUEUE_OFFSET, m.queueOffset());
        g.writeStringField(MSG_ID, m.msgId());
        g.writeArrayFieldStart(KEYS);
        List<String> keys = m.keys();
        for (int i = 0; i < keys.size(); i++) {
            g.writeString(keys.get(i));
        }
        g.writeEndArray();
        g.writeStringField(TAGS, m.tags());
        map(PROPERTIES, m.properties());
        g.writeNumberField(BORN_TIMESTAMP, m.bornTimestamp());
        g.writeNumberField(STORE_TIMESTAMP, m.storeTimestamp());
        g.writeNumberField(DELIVER_AT, m.deliverAt());
        g.writeNumberField(FLAGS, m.flags());
        body(m.body());
        g.writeEndObject();
    }

    private void map(String field, Map<String, String> map) throws IOException {
        g.writeObjectFieldStart(field);
        for (Map.Entry<String, String> e : map.entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
    }

    /**
     * Bytes {@code text} (of {@code utf8Bytes} UTF-8 bytes) takes as a JSON string, as Jackson
     * escapes it: a quote, a backslash, a line feed, tab, carriage return, backspace or form feed
     * two characters, any other control character six. A body of zeros would take six times its
     * size as text.
     */
    static long escapedLength(CharBuffer text, int utf8Bytes) {
        long n = utf8Bytes;
        for (int i = text.position(), end = text.limit(); i < end; i++) {
            char c = text.get(i);
            if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f' || c == '"' || c == '\\') {
                n += 1; // a two-character escape
            } else if (c < 0x20) {
                n += 5; // \\u00XX
            }
        }
        return n;
    }

    /**
     * Longest a body of {@code bytes} may take as text: half as long again, or base64's length if
     * that is more (short bodies). Text of quotes (a JSON document) stays text; a body full of
     * control characters goes as base64.
     */
    static long maxTextLength(int bytes) {
        return Math.max((bytes + 2L) / 3 * 4, bytes + bytes / 2L);
    }

    /**
     * Writes the body as text when it is UTF-8 and its escaped form is at most
     * {@link #maxTextLength} long, else as base64: either way it takes at most 1.5 times its
     * size, which the broker's answers (records of half a frame at most) are sized for.
     */
    private void body(ByteBuffer body) throws IOException {
        CharBuffer text = null;
        try {
            text = utf8.reset().decode(body.duplicate());
        } catch (CharacterCodingException notUtf8) {
            // written as base64 below
        }
        if (text != null && escapedLength(text, body.remaining()) <= maxTextLength(body.remaining())) {
            g.writeStringField(BODY_ENCODING, UTF8);
            g.writeFieldName(BODY);
            g.writeString(text.array(), text.arrayOffset() + text.position(), text.remaining());
            return;
        }
        g.writeStringField(BODY_ENCODING, BASE64);
        g.writeFieldName(BODY);
        if (body.hasArray()) {
            g.writeBinary(Base64Variants.MIME_NO_LINEFEEDS, body.array(), body.arrayOffset() + body.position(), body.remaining());
        } else {
            byte[] bytes = new byte[body.remaining()];
            body.duplicate().get(bytes);
            g.writeBinary(Base64Variants.MIME_NO_LINEFEEDS, bytes, 0, bytes.length);
        }
    }
}
