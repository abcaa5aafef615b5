package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.caucho.hessian.io.Hessian2Output;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.Utf8;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The answer to a frame the broker cannot decode quotes what it refused (a JSON or Hessian
 * {@code kind} or {@code status} name, an unknown Hessian field, a {@code bodyEncoding}), which
 * may be as long as the frame. That text went out whole: over {@code maxErrorMessageBytes}, the
 * client's own decoder refused the answer ("message: length 40059 bytes (expected: &lt;= 32768)"),
 * so a Ferry client saw an undecodable frame instead of what was wrong. It is cut now, as a
 * request's error text always was, in the middle: its end says what was expected.
 */
class ConnectionErrorTextTest {
    @TempDir
    static Path dir;
    static TestServer server;
    static final String LONG = "x".repeat(40_000);

    @BeforeAll
    static void start() {
        server = TestServer.start(dir);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"json kind", "json status", "json bodyEncoding", "hessian kind", "hessian unknown field"})
    void aLongValueInAnUndecodableFrameIsQuotedCutToTheErrorTextLimit(String what) throws IOException {
        String codec = what.substring(0, what.indexOf(' '));
        String expected = switch (what) {
            case "json kind", "hessian kind" -> "bad frame: kind: 'xxx";
            case "json status" -> "bad frame: status: 'xxx";
            case "json bodyEncoding" -> "bad frame: bodyEncoding: 'xxx";
            default -> "bad frame: command: unknown field 'xxx";
        };
        String expectedEnd = switch (what) {
            case "json kind", "hessian kind" -> "x' (expected: REQUEST, RESPONSE or ONEWAY)";
            case "json status" -> "x' (expected: one of " + java.util.Arrays.toString(Status.values()) + ")";
            case "json bodyEncoding" -> "x' (expected: utf8 or base64)";
            default -> "x' (expected: the fields of docs/PROTOCOL.md)";
        };
        try (TestClient c = server.connect(codec)) {
            c.writeRaw(TestClient.bytes(Frames.frame(ByteBuffer.wrap(payload(what)))));
            Command r = c.closingAnswer(Status.BAD_REQUEST); // decoded with the default limits, as a client does
            assertThat(r.requestId()).isZero();
            assertThat(r.message()).startsWith(expected).contains("xxx...xxx")
                    .as("what was expected is kept: the cut is made in the quoted value").endsWith(expectedEnd);
            assertThat(Utf8.length(r.message())).isLessThanOrEqualTo(Limits.DEFAULT.maxErrorMessageBytes());
        }
        try (TestClient other = server.connect(codec)) {
            assertThat(other.call(other.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }

    private static byte[] payload(String what) throws IOException {
        switch (what) {
            case "json kind" -> {
                return json("{\"kind\":\"" + LONG + "\",\"code\":\"HEARTBEAT\",\"requestId\":1}");
            }
            case "json status" -> {
                return json("{\"kind\":\"REQUEST\",\"status\":\"" + LONG + "\",\"code\":\"HEARTBEAT\",\"requestId\":1}");
            }
            case "json bodyEncoding" -> {
                return json("{\"kind\":\"REQUEST\",\"code\":\"HEARTBEAT\",\"requestId\":1,\"body\":\"a\",\"bodyEncoding\":\"" + LONG + "\"}");
            }
            default -> {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                Hessian2Output out = new Hessian2Output(bytes);
                out.writeMapBegin(null);
                out.writeString("kind");
                out.writeString(what.equals("hessian kind") ? LONG : "REQUEST");
                if (what.equals("hessian unknown field")) {
                    out.writeString(LONG);
                    out.writeInt(1);
                }
                out.writeMapEnd();
                out.flush();
                return bytes.toByteArray();
            }
        }
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
