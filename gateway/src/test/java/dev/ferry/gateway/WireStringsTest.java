package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Strings the broker cannot store as they were sent are refused over a real socket, not stored
 * altered: a binary string of invalid UTF-8 used to be stored with U+FFFD for each bad byte, up
 * to three times its limit, and every JSON consumer then failed on that message.
 */
class WireStringsTest {
    @TempDir
    Path dir;

    @Test
    void aBinarySendWithInvalidUtf8TagsIsRefusedAndNothingIsStored() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            c.createTopic("utf", 1);
            String tags = "Q".repeat(1024);
            byte[] frame = TestClient.bytes(c.codec.encodeFrame(c.sendRequest(
                    Message.builder("utf").queueId(0).tags(tags).body(new byte[] {1}).build())));
            int at = new String(frame, StandardCharsets.ISO_8859_1).indexOf(tags);
            Arrays.fill(frame, at, at + tags.length(), (byte) 0xFF);
            c.writeRaw(frame);
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).isEqualTo("bad frame: tags: invalid UTF-8 at byte 0 of 1024 (expected: valid UTF-8)");
            try (TestClient json = server.connect("json")) {
                Command f = json.fetch("utf", 0, 0, 10);
                assertThat(f.status()).isEqualTo(Status.OK);
                assertThat(f.messages()).as("nothing stored for a JSON consumer to choke on").isEmpty();
            }
        }
    }

    @Test
    void aJsonSendWithAnUnpairedSurrogateIsRefusedNotStoredAsAQuestionMark() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("sur", 1);
            String json = "{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":5,"
                    + "\"messages\":[{\"topic\":\"sur\",\"queueId\":0,\"tags\":\"a\\ud800\",\"body\":\"x\"}]}";
            byte[] payload = json.getBytes(StandardCharsets.UTF_8);
            c.writeRaw(TestClient.bytes(dev.ferry.protocol.Frames.frame(java.nio.ByteBuffer.wrap(payload))));
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).startsWith("bad frame: tags: unpaired surrogate U+D800 at char 1");
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("sur", 0, 0, 10))).isEmpty();
            }
        }
    }

    /**
     * Bytes of a JSON frame that are not UTF-8 (a stray 0xFF, a lead byte followed by '(', an
     * overlong form, an encoded surrogate) are refused, as the binary and Hessian codecs refuse
     * them. Jackson, reading through a Reader since field names are not canonicalized (see
     * {@link JsonKeyRetentionTest}), decoded them with a replacing decoder: the SEND was answered OK
     * and its tags, and a {@code utf8} body, were stored with U+FFFD where the bytes had been.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ff", "c3 28", "c0 af", "ed a0 80", "f4 90 80 80"})
    void aJsonFrameWithInvalidUtf8IsRefusedNotStoredWithReplacementChars(String hex) throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("bad8", 1);
            for (String field : List.of("tags", "body")) {
                java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
                json.write(("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":5,\"messages\":[{\"topic\":\"bad8\",\"queueId\":0,\""
                        + field + "\":\"a").getBytes(StandardCharsets.UTF_8));
                int at = json.size();
                for (String b : hex.split(" ")) {
                    json.write(Integer.parseInt(b, 16));
                }
                json.write("b\"}]}".getBytes(StandardCharsets.UTF_8));
                try (TestClient s = server.connect("json")) {
                    s.writeRaw(TestClient.bytes(dev.ferry.protocol.Frames.frame(java.nio.ByteBuffer.wrap(json.toByteArray()))));
                    Command r = s.closingAnswer(Status.BAD_REQUEST);
                    assertThat(r.message()).as(field).isEqualTo("bad frame: json: invalid UTF-8 at byte " + at + " of " + json.size()
                            + " (expected: valid UTF-8)");
                }
            }
            assertThat(c.fetch("bad8", 0, 0, 10).messages()).as("nothing stored altered").isEmpty();
        }
    }

    /**
     * A protobuf string that is not UTF-8 is refused naming the field: protobuf's own words,
     * "Protocol message had invalid UTF-8.", named neither the field nor the message, where the
     * other codecs name the field. Headers and properties are both {@code Entry} messages, so an
     * entry's field is named with the field holding it: "Entry.value" alone left a client to guess
     * which of the two it was.
     */
    @Test
    void aProtobufStringOfInvalidUtf8IsRefusedNamingTheField() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("protobuf")) {
            c.createTopic("pb8", 1);
            dev.ferry.protocol.protobuf.wire.WireCommand send = dev.ferry.protocol.protobuf.wire.WireCommand.newBuilder()
                    .setCodeValue(RequestCode.SEND.id()).setRequestId(9)
                    .addMessages(dev.ferry.protocol.protobuf.wire.WireMessage.newBuilder().setTopic("pb8").setQueueId(0)
                            .addProperties(dev.ferry.protocol.protobuf.wire.Entry.newBuilder().setKey("k").setValue("a\u00FF")))
                    .build();
            byte[] payload = send.toByteArray();
            int at = new String(payload, StandardCharsets.ISO_8859_1).indexOf("a\u00C3\u00BF") + 1; // U+00FF in UTF-8
            payload[at] = (byte) 0xC0; // C0 AF: an overlong '/', which protobuf's builder would not even write
            payload[at + 1] = (byte) 0xAF;
            c.writeRaw(TestClient.bytes(dev.ferry.protocol.Frames.frame(java.nio.ByteBuffer.wrap(payload))));
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).isEqualTo("bad frame: protobuf: WireMessage.properties (field 7) > Entry.value (field 2): "
                    + "invalid UTF-8 (expected: valid UTF-8)");
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("pb8", 0, 0, 10))).isEmpty();
            }
            try (TestClient h = server.connect("protobuf")) {
                byte[] heartbeat = dev.ferry.protocol.protobuf.wire.WireCommand.newBuilder()
                        .setCodeValue(RequestCode.HEARTBEAT.id()).setRequestId(10)
                        .addHeaders(dev.ferry.protocol.protobuf.wire.Entry.newBuilder().setKey("k").setValue("a\u00FF"))
                        .build().toByteArray();
                int v = new String(heartbeat, StandardCharsets.ISO_8859_1).indexOf("a\u00C3\u00BF") + 1;
                heartbeat[v] = (byte) 0xC0;
                heartbeat[v + 1] = (byte) 0xAF;
                h.writeRaw(TestClient.bytes(dev.ferry.protocol.Frames.frame(java.nio.ByteBuffer.wrap(heartbeat))));
                assertThat(h.closingAnswer(Status.BAD_REQUEST).message()).isEqualTo("bad frame: protobuf: WireCommand.headers (field 6) > "
                        + "Entry.value (field 2): invalid UTF-8 (expected: valid UTF-8)");
            }
        }
    }

    /**
     * A JSON frame must be UTF-8 (docs/PROTOCOL.md): one in UTF-16 or UTF-32 is refused. Jackson
     * detects those from the first bytes and decoded them with a decoder that replaces malformed
     * input: tags sent in UTF-16 as 'a', a lone U+D800, 'b' were stored as "a\uFFFD", the 'b' lost.
     */
    @Test
    void aJsonFrameInUtf16IsRefusedNotStoredWithReplacementChars() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("wide", 1);
            java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
            json.write("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":5,\"messages\":[{\"topic\":\"wide\",\"queueId\":0,\"tags\":\"a"
                    .getBytes(StandardCharsets.UTF_16BE));
            json.write(new byte[] {(byte) 0xD8, 0x00}); // a lone high surrogate
            json.write("b\",\"body\":\"x\"}]}".getBytes(StandardCharsets.UTF_16BE));
            c.writeRaw(TestClient.bytes(dev.ferry.protocol.Frames.frame(java.nio.ByteBuffer.wrap(json.toByteArray()))));
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).startsWith("bad frame: json: not UTF-8");
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("wide", 0, 0, 10))).isEmpty();
            }
        }
    }

    /**
     * An error reply quotes the bad value and is cut to a length; cut inside an emoji, it held half
     * a surrogate pair, which the reply's builder refused: the request went unanswered and the
     * connection was dropped. Now the half pair is replaced, the request answered BAD_REQUEST, and
     * the connection serves the next request.
     */
    @Test
    void anErrorQuotingAnEmojiCutInHalfIsAnswered() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("emo", 1);
            String offset = "a" + "\uD83D\uDE00".repeat(4_100); // the message is cut to maxErrorMessageBytes / 4 chars
            Command r = c.call(Command.request(dev.ferry.protocol.RequestCode.FETCH, 77).header("topic", "emo")
                    .header("queueId", "0").header("offset", offset).header("maxMessages", "1").build());
            assertThat(r.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(r.message()).contains("offset").doesNotContain("?");
            assertThat(c.fetch("emo", 0, 0, 1).status()).as("the next request on the same connection").isEqualTo(Status.OK);
        }
    }
}
