package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A client that shuts its output (a TCP half-close, as {@code nc} does at the end of its input)
 * and reads on gets an answer to every request it sent, then the close. Closed at once, as Netty
 * does without half-closure, the SENDs still waiting for a SYNC flush were stored but never
 * answered: the client took them for lost and sent them again.
 */
class HalfCloseTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"ASYNC", "SYNC"})
    void requestsSentBeforeTheClientShutsItsOutputAreAnswered(String flush) throws Exception {
        try (TestServer server = TestServer.start(dir, log -> log.flushMode(dev.ferry.log.FlushMode.valueOf(flush)), gw -> gw)) {
            try (TestClient setup = server.connect("binary")) {
                assertThat(setup.createTopic("half", 1).status()).isEqualTo(Status.OK);
            }
            try (TestClient c = server.connect("binary")) {
                for (int i = 0; i < 3; i++) {
                    c.writeNoFlush(c.sendRequest(TestClient.message("half", 0, new byte[] {(byte) i})));
                }
                c.flush();
                c.socket.shutdownOutput();
                List<Command> got = c.readUntilEof();
                assertThat(got).hasSize(3).allMatch(r -> r.status() == Status.OK);
            }
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("half", 0, 0, 10))).as("each stored once").hasSize(3);
            }
        }
    }

    /** A frame left incomplete when the client shuts its output is answered BAD_REQUEST, after the frames before it. */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void aFrameLeftIncompleteByAHalfCloseIsAnsweredAfterThoseBeforeIt(String codec) throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect(codec)) {
            Command heartbeat = c.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build();
            c.writeNoFlush(heartbeat);
            byte[] next = TestClient.bytes(c.codec.encodeFrame(c.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build()));
            c.writeRaw(java.util.Arrays.copyOf(next, next.length - 1));
            c.socket.shutdownOutput();
            List<Command> got = c.readUntilEof();
            assertThat(got).hasSize(2);
            assertThat(got.get(0).requestId()).isEqualTo(heartbeat.requestId());
            assertThat(got.get(0).status()).isEqualTo(Status.OK);
            assertThat(got.get(1).status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(got.get(1).requestId()).isZero();
            assertThat(got.get(1).message()).startsWith("frame incomplete: " + (next.length - 1) + " bytes received");
        }
    }

    /** A hello left incomplete when the client shuts its output is closed at once, not held until the handshake timeout. */
    @org.junit.jupiter.api.Test
    void aHelloLeftIncompleteByAHalfCloseIsClosed() throws Exception {
        try (TestServer server = TestServer.start(dir); java.net.Socket s = TestClient.open(server.port())) {
            s.getOutputStream().write(new byte[] {0x46, 0x52, 0x52});
            s.shutdownOutput();
            long start = System.nanoTime();
            assertThat(TestClient.closedByPeer(s)).isTrue();
            assertThat(System.nanoTime() - start).isLessThan(java.util.concurrent.TimeUnit.SECONDS.toNanos(2));
        }
    }
}
