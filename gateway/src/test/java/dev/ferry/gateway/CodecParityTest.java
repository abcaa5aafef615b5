package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The same bad message is refused the same way on every codec, over a real socket, and the same
 * good one is served on every codec: a codec's parser must not be stricter or looser than the
 * limits and types docs/PROTOCOL.md gives for all of them.
 */
class CodecParityTest {
    @TempDir
    Path dir;

    /** 55,000 chars: over the default header key limit (256), within a raised one (65,535), past Jackson's own name limit (50,000). */
    private static final String LONG_KEY = "k".repeat(55_000);

    /**
     * A header key over its limit is LIMIT_EXCEEDED naming the field and the limit on every codec.
     * JSON answered BAD_REQUEST with Jackson's "Name length (55000) exceeds the maximum allowed
     * (50000, from StreamReadConstraints.getMaxNameLength())": its parser refused a JSON object key
     * longer than 50,000 chars before the limit was checked.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void aHeaderKeyOverItsLimitIsLimitExceededOnEveryCodec(String codec) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect(codec)) {
            c.write(c.request(RequestCode.HEARTBEAT).header(LONG_KEY, "v").build());
            Command r = c.closingAnswer(Status.LIMIT_EXCEEDED);
            assertThat(r.message()).isEqualTo("bad frame: header key: length 55000 bytes (expected: <= 256)");
        }
    }

    /**
     * With the header key limit raised to 65,535 bytes a 55,000-byte key is valid: every codec
     * serves it. JSON refused it (BAD_REQUEST, the connection closed) whatever the limits said.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void aLongHeaderKeyWithinRaisedLimitsIsServedOnEveryCodec(String codec) throws IOException {
        Limits limits = Limits.builder().maxHeaderKeyBytes(65_535).build();
        try (TestServer server = TestServer.start(dir, log -> log, gw -> gw.limits(limits)); TestClient c = server.connect(codec)) {
            Command r = c.call(c.request(RequestCode.HEARTBEAT).header(LONG_KEY, "v").build());
            assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }
}
