package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A request whose code the broker does not know (a newer client's) is answered UNSUPPORTED with
 * its own request id, and the connection goes on: it used to be a BAD_REQUEST with id 0 that
 * closed the connection, losing every request pipelined behind it.
 */
class UnknownCodeTest {
    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dir);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void anUnknownCodeIsAnsweredUnsupportedWithItsIdAndTheConnectionServesTheNextRequest(String codec) throws Exception {
        try (TestClient c = server.connect(codec)) {
            Command heartbeat = c.request(RequestCode.HEARTBEAT).build();
            byte[] frame = TestClient.bytes(c.codec.encodeFrame(heartbeat));
            String expected;
            switch (codec) {
                case "binary" -> {
                    ByteBuffer.wrap(frame).putShort(4 + 1, (short) 69); // after the length prefix and the flags
                    expected = "code: 69 (expected: one of [1, 10,";
                }
                case "protobuf" -> {
                    frame = TestClient.bytes(dev.ferry.protocol.Frames.frame(ByteBuffer.wrap(
                            dev.ferry.protocol.protobuf.wire.WireCommand.parseFrom(ByteBuffer.wrap(frame, 4, frame.length - 4))
                                    .toBuilder().setCodeValue(69).build().toByteArray())));
                    expected = "code: 69 (expected: one of [1, 10,";
                }
                default -> { // json, hessian: the code by name, "HEARTBEAT" becomes "HEARTBEAX", the same length
                    String text = new String(frame, StandardCharsets.ISO_8859_1).replace("HEARTBEAT", "HEARTBEAX");
                    frame = text.getBytes(StandardCharsets.ISO_8859_1);
                    expected = "code: 'HEARTBEAX' (expected: one of [HEARTBEAT,";
                }
            }
            Command next = c.request(RequestCode.HEARTBEAT).build();
            c.writeRaw(frame);
            c.write(next); // pipelined behind the unknown code
            Command r = c.read();
            assertThat(r.status()).isEqualTo(Status.UNSUPPORTED);
            assertThat(r.requestId()).as("the request's own id").isEqualTo(heartbeat.requestId());
            assertThat(r.message()).startsWith(expected);
            Command n = c.read();
            assertThat(n.requestId()).isEqualTo(next.requestId());
            assertThat(n.status()).isEqualTo(Status.OK);
            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }
}
