package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connections that stop half-way: before or during their handshake, or in the middle of a frame
 * (all at once, or a byte at a time). Each holds a socket and, mid-frame, up to a frame's worth
 * of buffer; a few dozen such connections used up the broker's direct memory. They are closed
 * after the handshake or frame timeout (300 ms here); a connection idle between frames is not.
 */
class StalledConnectionTest {
    private static final int TIMEOUT_MS = 300;

    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dir, UnaryOperator.identity(), gw -> gw.handshakeTimeoutMs(TIMEOUT_MS).frameTimeoutMs(TIMEOUT_MS));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aConnectionWithoutAHandshakeIsClosed() throws IOException {
        try (Socket silent = TestClient.open(server.port())) {
            assertThat(TestClient.closedByPeer(silent)).as("nothing sent").isTrue();
        }
        try (Socket partial = TestClient.open(server.port())) {
            partial.getOutputStream().write("FRR".getBytes(StandardCharsets.US_ASCII));
            partial.getOutputStream().flush();
            assertThat(TestClient.closedByPeer(partial)).as("half a hello").isTrue();
        }
    }

    @Test
    void aFrameLeftHalfSentIsAnsweredAndClosed() throws IOException {
        try (TestClient c = server.connect("binary")) {
            c.writeRaw(ByteBuffer.allocate(14).putInt(100).put(new byte[10]).array()); // 10 of 100 bytes
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.requestId()).isZero();
            assertThat(r.message()).contains("frame incomplete: 14 bytes received");
        }
    }

    @Test
    void aFrameSentAByteAtATimeIsClosedToo() throws Exception {
        try (TestClient c = server.connect("binary")) {
            byte[] frame = TestClient.bytes(c.codec.encodeFrame(c.request(RequestCode.HEARTBEAT).build()));
            OutputStream out = c.socket.getOutputStream();
            boolean closed = false;
            for (int i = 0; i < frame.length - 1 && !closed; i++) { // all but the last byte, 100 ms apart: far beyond 300 ms in all
                try {
                    out.write(frame[i]);
                    out.flush();
                    Thread.sleep(100);
                } catch (IOException reset) {
                    closed = true;
                }
            }
            if (!closed) {
                assertThat(c.closingAnswer(Status.BAD_REQUEST).message()).contains("frame incomplete");
            }
        }
    }

    @Test
    void aConnectionIdleBetweenFramesStaysOpen() throws Exception {
        try (TestClient c = server.connect("binary")) {
            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
            Thread.sleep(3 * TIMEOUT_MS);
            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }
}
