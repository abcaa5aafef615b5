package dev.ferry.protocol.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The JSON codec, name {@value #NAME}: one UTF-8 JSON object per frame, so a client in any
 * language can speak Ferry with its standard JSON library. Field names are lowerCamel, enums are
 * written by name ({@code "code":"SEND"}, {@code "status":"OK"}), and every body is either UTF-8
 * text or base64 as its {@code bodyEncoding} says ({@code "utf8"} or {@code "base64"}); the
 * encoder picks utf8 whenever the bytes are valid UTF-8. The shapes are in docs/PROTOCOL.md
 * and {@link JsonFields}.
 *
 * <p>Malformed JSON is a {@link CodecException} carrying Jackson's message and location. Jackson's
 * own read constraints bound nesting depth (our deepest value is 4 levels) and numbers; string
 * values and object keys (header and property keys) are bounded by the frame and checked against
 * {@link Limits} by {@link JsonReader}, as in every codec, not by Jackson's own length defaults.
 * Object keys are not canonicalized: Jackson's shared symbol table would keep every distinct key a
 * client ever sent (up to 6,000, each up to a frame long), refused or not.
 *
 * <p>Uses Jackson's streaming API only; the {@link JsonFactory} is configured once and is
 * thread-safe, so this codec is stateless and thread-safe.
 */
public final class JsonCodec implements Codec {
    public static final String NAME = "json";

    private final JsonFactory factory = JsonFactory.builder()
            // duplicates are checked by JsonReader (fields) and by the map readers (headers, properties)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(16)
                    .maxNumberLength(32)
                    .maxStringLength(Integer.MAX_VALUE) // bounded by Limits.maxFrameBytes instead
                    // object keys are header and property keys, checked against their Limits once read: Jackson's
                    // own 50,000-char default refused a longer one first, as BAD_REQUEST with its words, where
                    // every other codec answered LIMIT_EXCEEDED naming the field, and refused it even when the
                    // limits allowed it (maxHeaderKeyBytes and maxPropertyKeyBytes go up to 65,535)
                    .maxNameLength(Integer.MAX_VALUE)
                    .build())
            // object keys are client data (header and property keys): canonicalized, Jackson kept each distinct one
            // (interned, and its bytes) in a symbol table shared by every parser of this factory, up to 6,000 of them,
            // also those of frames refused for them; with keys as long as a frame that let any client fill the heap
            // (48 refused 2 MiB keys held 275 MB). Our few field names gain little from it: a String per key is made
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ByteBuffer encode(Command command) {
        return JsonWriter.write(factory, command);
    }

    @Override
    public Command decode(ByteBuffer payload, Limits limits) throws CodecException {
        int length = payload.remaining();
        Limits.checkLength(Limits.FRAME, length, limits.maxFrameBytes());
        byte[] array;
        int offset;
        if (payload.hasArray()) {
            array = payload.array();
            offset = payload.arrayOffset() + payload.position();
        } else {
            array = new byte[length];
            payload.duplicate().get(array);
            offset = 0;
        }
        checkUtf8Start(array, offset, length);
        // Jackson reads bytes through a replacing InputStreamReader when field names are not canonicalized: the
        // bytes are decoded strictly here instead, so that invalid UTF-8 is refused, not stored as U+FFFD
        try (JsonParser p = factory.createParser(new StrictUtf8Reader(array, offset, length))) {
            return new JsonReader(p, limits).command();
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new CodecException("json: " + e.getOriginalMessage()
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()), e);
        } catch (IOException e) {
            throw new CodecException("json: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a payload in UTF-16 or UTF-32 with words that say so. Given the bytes, Jackson picked
     * the encoding from a byte order mark or the 0x00 bytes among the first four, and decoded those
     * with a decoder that replaces malformed input, so tags sent in UTF-16 as 'a', a lone U+D800,
     * 'b' were stored as "a\uFFFD", the 'b' lost. They would be refused now without this check too,
     * but not as the wrong encoding: 0xFE and 0xFF by {@link StrictUtf8Reader} as invalid UTF-8, a
     * 0x00 byte (valid UTF-8) by Jackson as an illegal control character. A frame is UTF-8 JSON
     * (docs/PROTOCOL.md), where no byte is 0x00 (control characters are escaped), 0xFE or 0xFF; a
     * UTF-8 byte order mark is still skipped.
     */
    private static void checkUtf8Start(byte[] array, int offset, int length) throws CodecException {
        for (int i = 0; i < Math.min(length, 4); i++) {
            int b = array[offset + i] & 0xFF;
            if (b == 0x00 || b == 0xFE || b == 0xFF) {
                throw new CodecException("json: not UTF-8: byte 0x" + String.format("%02x", b) + " at " + i
                        + " (expected: one UTF-8 JSON object; UTF-16 and UTF-32 are refused)");
            }
        }
    }

    @Override
    public String toString() {
        return "JsonCodec";
    }
}
