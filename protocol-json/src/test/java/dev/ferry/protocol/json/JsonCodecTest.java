package dev.ferry.protocol.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecContractTest;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonCodecTest extends CodecContractTest {
    private final JsonCodec codec = new JsonCodec();

    @Override
    protected Codec codec() {
        return codec;
    }

    private Command decode(String json) throws CodecException {
        return codec.decode(ByteBuffer.wrap(json.getBytes(StandardCharsets.UTF_8)), Limits.DEFAULT);
    }

    private String encode(Command c) {
        return StandardCharsets.UTF_8.decode(codec.encode(c)).toString();
    }

    /** Review: a UTF-8 byte order mark and leading whitespace are still taken. */
    @Test
    void aUtf8BomAndLeadingWhitespaceAreTaken() throws CodecException {
        for (String prefix : List.of("\uFEFF", " ", "\n\r\t ", "\uFEFF  ")) {
            Command c = decode(prefix + "{\"kind\":\"REQUEST\",\"code\":\"HEARTBEAT\",\"requestId\":3}");
            assertThat(c.requestId()).as("prefix %s", prefix.length()).isEqualTo(3);
        }
    }

    @Test
    void writesTheDocumentedShape() {
        Command c = Command.request(RequestCode.SEND, 7)
                .messages(List.of(Message.builder("orders").keys(List.of("k1")).properties(Map.of("p", "v"))
                        .bornTimestamp(1_700_000_000_000L).body("hi".getBytes(StandardCharsets.UTF_8)).build()))
                .build();
        assertThat(encode(c)).isEqualTo("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7,\"status\":\"OK\","
                + "\"message\":\"\",\"headers\":{},\"messages\":[{\"topic\":\"orders\",\"queueId\":-1,\"queueOffset\":-1,"
                + "\"msgId\":\"\",\"keys\":[\"k1\"],\"tags\":\"\",\"properties\":{\"p\":\"v\"},\"bornTimestamp\":1700000000000,"
                + "\"storeTimestamp\":0,\"deliverAt\":0,\"flags\":0,\"bodyEncoding\":\"utf8\",\"body\":\"hi\"}],"
                + "\"bodyEncoding\":\"utf8\",\"body\":\"\"}");
    }

    @Test
    void bodyIsUtf8TextWhenValidElseBase64() throws CodecException {
        Command text = Command.request(RequestCode.HEARTBEAT, 1).body("héllo ✓".getBytes(StandardCharsets.UTF_8)).build();
        assertThat(encode(text)).contains("\"bodyEncoding\":\"utf8\",\"body\":\"héllo ✓\"");
        Command binary = Command.request(RequestCode.HEARTBEAT, 1).body(new byte[] {(byte) 0xff, 0, 1}).build();
        assertThat(encode(binary)).contains("\"bodyEncoding\":\"base64\",\"body\":\"/wAB\"");
        assertThat(decode(encode(binary))).isEqualTo(binary);
    }

    /**
     * A body of control characters is valid UTF-8, but as text each byte would take six: a 3 MiB
     * body of zeros made an 18 MiB answer, past the 16 MiB a client reads. Such a body goes as
     * base64; a JSON document, whose quotes double, stays text.
     */
    @Test
    void aBodyThatEscapingWouldInflateGoesAsBase64() throws CodecException {
        byte[] zeros = new byte[3 << 20];
        Command c = Command.request(RequestCode.HEARTBEAT, 1).body(zeros).build();
        ByteBuffer encoded = codec.encode(c);
        assertThat(encoded.remaining()).as("4/3 of the body, not 6").isLessThan(zeros.length * 3 / 2);
        assertThat(StandardCharsets.UTF_8.decode(encoded.duplicate()).toString()).contains("\"bodyEncoding\":\"base64\"");
        assertThat(decode(StandardCharsets.UTF_8.decode(encoded).toString())).isEqualTo(c);

        Command json = Command.request(RequestCode.HEARTBEAT, 1).body("{\"id\":\"o-1\",\"total\":\"12.50\"}\n".getBytes(StandardCharsets.UTF_8))
                .build();
        assertThat(encode(json)).contains("\"bodyEncoding\":\"utf8\"");
        assertThat(decode(encode(json))).isEqualTo(json);
        Command indented = Command.request(RequestCode.HEARTBEAT, 1)
                .body("{\n  \"id\": \"o-1\",\n  \"items\": [\n    1,\n    2\n  ]\n}\n".getBytes(StandardCharsets.UTF_8)).build();
        assertThat(encode(indented)).as("line feeds escape to two characters").contains("\"bodyEncoding\":\"utf8\"");
    }

    @Test
    void minimalHandWrittenCommandTakesDefaults() throws CodecException {
        Command c = decode("{\"code\":\"FETCH\",\"requestId\":3,\"kind\":\"REQUEST\",\"extra\":{\"ignored\":[1,2]},"
                + "\"headers\":{\"topic\":\"t\"},\"messages\":[{\"topic\":\"t\",\"body\":\"AAE=\",\"bodyEncoding\":\"base64\"}]}");
        assertThat(c.kind()).isEqualTo(Kind.REQUEST);
        assertThat(c.header("topic")).isEqualTo("t");
        Message m = c.messages().get(0);
        assertThat(m.queueId()).isEqualTo(Message.ANY_QUEUE);
        assertThat(m.body()).isEqualTo(ByteBuffer.wrap(new byte[] {0, 1}));
    }

    @Test
    void malformedJsonNamesJacksonsLocation() {
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\n \"code\": SEND}"))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("json: Unrecognized token 'SEND'")
                .hasMessageContaining("at line 2, column");
    }

    @Test
    void wrongTypesUnknownNamesAndMissingFieldsAreRefused() throws CodecException {
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":\"7\"}"))
                .hasMessageStartingWith("requestId: VALUE_STRING (expected: an integer) at line 1");
        Command publish = decode("{\"kind\":\"REQUEST\",\"code\":\"PUBLISH\",\"requestId\":7}");
        assertThat(publish.code()).as("an unknown code is answered UNSUPPORTED, not refused").isEqualTo(RequestCode.UNKNOWN);
        assertThat(publish.requestId()).isEqualTo(7);
        assertThat(publish.message()).startsWith("code: 'PUBLISH' (expected: one of [HEARTBEAT,");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"requestId\":7}"))
                .hasMessage("code: missing (expected: kind, code and requestId in every command)");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7,\"messages\":[{}]}"))
                .hasMessageStartingWith("topic: missing");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7,\"body\":\"!\",\"bodyEncoding\":\"base64\"}"))
                .hasMessageStartingWith("body: not base64");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7,\"bodyEncoding\":\"hex\",\"body\":\"00\"}"))
                .hasMessage("bodyEncoding: 'hex' (expected: utf8 or base64)");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7} {}"))
                .hasMessageStartingWith("payload: content after the command object");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":9999999999}"))
                .isInstanceOf(CodecException.class).hasMessageContaining("out of range of int");
    }

    @Test
    void countsAreRefusedAsElementsArriveWithoutWaitingForTheEnd() {
        String many = "{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7,\"messages\":[" + "{\"topic\":\"t\"},".repeat(3);
        Limits two = Limits.builder().maxMessagesPerCommand(2).build();
        // truncated after the third message: the limit fires before the parser reaches the broken end
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(many.getBytes(StandardCharsets.UTF_8)), two))
                .hasMessage("messages: count 3 (expected: <= 2)");
    }

    /**
     * JSON can escape a lone surrogate ("\\ud800") that UTF-8 cannot carry; stored, it became '?'.
     * Every string field and a utf8 body refuse it, naming the field.
     */
    @Test
    void anUnpairedSurrogateIsRefusedNamingTheField() throws CodecException {
        String send = "{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":7,\"messages\":[{\"topic\":\"t\",%s}]}";
        assertThatThrownBy(() -> decode(send.formatted("\"tags\":\"a\\ud800\"")))
                .isInstanceOf(CodecException.class)
                .hasMessage("tags: unpaired surrogate U+D800 at char 1 (expected: well-formed Unicode, which UTF-8 can carry)");
        assertThatThrownBy(() -> decode(send.formatted("\"keys\":[\"\\udc00\"]"))).hasMessageStartingWith("key: unpaired surrogate U+DC00");
        assertThatThrownBy(() -> decode(send.formatted("\"properties\":{\"p\":\"\\ud800\"}")))
                .hasMessageStartingWith("property value: unpaired surrogate");
        assertThatThrownBy(() -> decode(send.formatted("\"body\":\"x\\ud800\"")))
                .hasMessageStartingWith("message body: unpaired surrogate U+D800 at char 1");
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"FETCH\",\"requestId\":7,\"headers\":{\"\\ud800\":\"v\"}}"))
                .hasMessageStartingWith("json: Broken surrogate pair in field name"); // Jackson's own check, for names
        assertThatThrownBy(() -> decode("{\"kind\":\"REQUEST\",\"code\":\"FETCH\",\"requestId\":7,\"body\":\"\\ud800\"}"))
                .hasMessageStartingWith("body: unpaired surrogate");
        // an escaped pair is one code point
        Message m = decode(send.formatted("\"tags\":\"\\ud83d\\ude00\",\"body\":\"\\ud83d\\ude00\"")).messages().get(0);
        assertThat(m.tags()).isEqualTo("\ud83d\ude00");
        assertThat(m.body()).isEqualTo(ByteBuffer.wrap("\ud83d\ude00".getBytes(StandardCharsets.UTF_8)));
    }
}
