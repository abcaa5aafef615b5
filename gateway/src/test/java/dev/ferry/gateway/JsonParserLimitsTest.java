package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a hand-written JSON client may put in a frame besides Ferry's fields, as docs/PROTOCOL.md
 * section 5 says: unknown fields are skipped, also twice, but the parser's limits hold for the
 * whole frame, so a deeply nested unknown value or a number of a million digits is a malformed
 * frame (answered, the connection closed, the broker serving others), and so is a number with an
 * exponent where an integer is expected.
 */
class JsonParserLimitsTest {
    @TempDir
    static Path dir;
    static TestServer server;
    static final String HEAD = "{\"kind\":\"REQUEST\",\"code\":\"HEARTBEAT\",\"requestId\":7";

    @BeforeAll
    static void start() {
        server = TestServer.start(dir);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void anUnknownFieldGivenTwiceIsSkipped() throws IOException {
        try (TestClient c = server.connect("json")) {
            c.writeRaw(frame(HEAD + ",\"x\":{\"a\":[1,2]},\"x\":\"again\"}"));
            Command r = c.read();
            assertThat(r.requestId()).isEqualTo(7);
            assertThat(r.status()).isEqualTo(Status.OK);
        }
    }

    @Test
    void aDeeplyNestedUnknownFieldIsAMalformedFrame() throws IOException {
        refused(HEAD + ",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}",
                "bad frame: json: Document nesting depth (17) exceeds the maximum allowed (16");
    }

    @Test
    void aNumberOfAMillionDigitsIsAMalformedFrameAlsoInAnUnknownField() throws IOException {
        refused(HEAD + ",\"x\":" + "9".repeat(1_000_000) + "}",
                "bad frame: json: Number value length (1000000) exceeds the maximum allowed (32");
        refused("{\"kind\":\"REQUEST\",\"code\":\"HEARTBEAT\",\"requestId\":" + "9".repeat(1_000_000) + "}",
                "bad frame: json: Number value length (1000000) exceeds the maximum allowed (32");
    }

    @Test
    void aNumberWithAnExponentIsNotAnInteger() throws IOException {
        refused("{\"kind\":\"REQUEST\",\"code\":\"SEND\",\"requestId\":1,\"messages\":[{\"topic\":\"t\",\"queueOffset\":1e999999999}]}",
                "bad frame: queueOffset: VALUE_NUMBER_FLOAT (expected: an integer)");
    }

    private static void refused(String json, String expected) throws IOException {
        try (TestClient c = server.connect("json")) {
            c.writeRaw(frame(json));
            assertThat(c.closingAnswer(Status.BAD_REQUEST).message()).startsWith(expected);
        }
        try (TestClient other = server.connect("json")) {
            assertThat(other.call(other.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }

    private static byte[] frame(String json) {
        return TestClient.bytes(Frames.frame(ByteBuffer.wrap(json.getBytes(StandardCharsets.UTF_8))));
    }
}
