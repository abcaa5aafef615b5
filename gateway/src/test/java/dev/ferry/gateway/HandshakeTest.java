package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Handshake;
import dev.ferry.protocol.HandshakeResult;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The handshake over a real socket: accepted per codec, refused (then closed) with reasons, split into single bytes. */
class HandshakeTest {
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
    void acceptsEachCodecAndServesFramesInIt(String codec) throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            HelloReply reply = TestClient.handshake(s, Hello.of("xml", codec, "binary"));
            assertThat(reply.result()).isEqualTo(HandshakeResult.ACCEPTED);
            assertThat(reply.text()).as("the first offered codec the server has").isEqualTo(codec);
        }
        try (TestClient c = server.connect(codec)) {
            Command r = c.call(c.request(RequestCode.HEARTBEAT).build());
            assertThat(r.status()).isEqualTo(Status.OK);
        }
    }

    @Test
    void refusesWhenNoCodecIsCommonNamingOfferedAndSupportedThenCloses() throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            HelloReply reply = TestClient.handshake(s, Hello.of("xml", "yaml"));
            assertThat(reply.result()).isEqualTo(HandshakeResult.NO_COMMON_CODEC);
            assertThat(reply.text()).contains("xml", "yaml").contains("binary, hessian, json, protobuf");
            assertThat(TestClient.closedByPeer(s)).as("closed after the refusal").isTrue();
        }
    }

    /**
     * A refusal's text is at most 255 bytes; a hello may offer 16 names of 32 bytes. The text
     * used to list every offered name first and was then cut, so the supported codecs, which a
     * client needs to offer next, were lost; now the offered list is shortened instead.
     */
    @Test
    void aLongOfferIsShortenedSoTheRefusalStillNamesTheSupportedCodecs() throws IOException {
        String[] offered = new String[Handshake.MAX_CODECS];
        for (int i = 0; i < offered.length; i++) {
            offered[i] = String.format("codec-%02d-", i) + "x".repeat(Handshake.MAX_NAME_BYTES - 9);
        }
        try (Socket s = TestClient.open(server.port())) {
            HelloReply reply = TestClient.handshake(s, Hello.of(offered));
            assertThat(reply.result()).isEqualTo(HandshakeResult.NO_COMMON_CODEC);
            assertThat(reply.text()).startsWith("no common codec: offered 16 [" + offered[0] + ", ")
                    .endsWith(", ...] (supported: binary, hessian, json, protobuf)")
                    .hasSizeLessThanOrEqualTo(Handshake.MAX_TEXT_BYTES);
            assertThat(TestClient.closedByPeer(s)).as("closed after the refusal").isTrue();
        }
    }

    @Test
    void refusesBadMagicThenCloses() throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.flush();
            HelloReply reply = TestClient.readReply(s.getInputStream());
            assertThat(reply.result()).isEqualTo(HandshakeResult.BAD_HELLO);
            assertThat(reply.text()).contains("magic");
            assertThat(TestClient.closedByPeer(s)).isTrue();
        }
    }

    @Test
    void refusesUnsupportedVersionAfterFiveBytesThenCloses() throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            s.getOutputStream().write(new byte[] {'F', 'R', 'R', 'Y', 2});
            HelloReply reply = TestClient.readReply(s.getInputStream());
            assertThat(reply.result()).isEqualTo(HandshakeResult.UNSUPPORTED_VERSION);
            assertThat(reply.text()).contains("2").contains("supported: 1");
            assertThat(TestClient.closedByPeer(s)).isTrue();
        }
    }

    @Test
    void refusesBadCodecCountThenCloses() throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            s.getOutputStream().write(new byte[] {'F', 'R', 'R', 'Y', 1, 0});
            HelloReply reply = TestClient.readReply(s.getInputStream());
            assertThat(reply.result()).isEqualTo(HandshakeResult.BAD_HELLO);
            assertThat(reply.text()).contains("codec count");
            assertThat(TestClient.closedByPeer(s)).isTrue();
        }
    }

    @Test
    void acceptsHelloFedOneByteAtATimeFollowedByAFrameInTheSamePieces() throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            OutputStream out = s.getOutputStream();
            byte[] hello = TestClient.bytes(Hello.of("json", "binary").encode());
            Command heartbeat = Command.request(RequestCode.HEARTBEAT, 42).build();
            byte[] frame = TestClient.bytes(TestClient.CODECS.get("json").encodeFrame(heartbeat));
            for (byte b : hello) {
                out.write(b);
                out.flush();
                LockSupport.parkNanos(2_000_000); // each byte in its own segment
            }
            HelloReply reply = TestClient.readReply(s.getInputStream());
            assertThat(reply.result()).isEqualTo(HandshakeResult.ACCEPTED);
            assertThat(reply.text()).isEqualTo("json");
            for (byte b : frame) {
                out.write(b);
                out.flush();
            }
            try (TestClient c = TestClient.wrap(s, "json")) {
                Command r = c.read();
                assertThat(r.requestId()).isEqualTo(42);
                assertThat(r.status()).isEqualTo(Status.OK);
            }
        }
    }

    @Test
    void framesSentTogetherWithTheHelloAreServed() throws IOException {
        try (Socket s = TestClient.open(server.port())) {
            byte[] hello = TestClient.bytes(Hello.of("protobuf").encode());
            byte[] frame = TestClient.bytes(TestClient.CODECS.get("protobuf").encodeFrame(
                    Command.request(RequestCode.HEARTBEAT, 7).build()));
            byte[] both = new byte[hello.length + frame.length];
            System.arraycopy(hello, 0, both, 0, hello.length);
            System.arraycopy(frame, 0, both, hello.length, frame.length);
            s.getOutputStream().write(both);
            assertThat(TestClient.readReply(s.getInputStream()).accepted()).isTrue();
            try (TestClient c = TestClient.wrap(s, "protobuf")) {
                assertThat(c.read().requestId()).isEqualTo(7);
            }
        }
    }
}
