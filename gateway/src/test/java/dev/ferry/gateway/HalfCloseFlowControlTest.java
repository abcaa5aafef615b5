package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Half-closing clients (a TCP half-close) under flow control and in numbers, on epoll and NIO: none
 * is left open, a long poll held behind unread replies does not hold the close, and one that never
 * reads is closed by the write-stall timeout.
 */
class HalfCloseFlowControlTest {
    @TempDir
    Path dir;

    /** Many clients that half-close after a request: every connection is closed and uncounted. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void manyHalfClosingClientsLeaveNoConnectionOpen(boolean nativeTransport) throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l, gw -> gw.nativeTransport(nativeTransport))) {
            for (int i = 0; i < 200; i++) {
                try (TestClient c = server.connect("binary")) {
                    c.write(c.request(RequestCode.HEARTBEAT).build());
                    c.socket.shutdownOutput();
                    assertThat(c.readUntilEof()).hasSize(1);
                }
            }
            TestServer.await("no connection open", Duration.ofSeconds(10), () -> server.gateway.openConnections() == 0);
        }
    }

    /**
     * A long poll carried out after the half-close (it was held while the channel was not writable) is
     * answered at once, as one waiting at the half-close is, not after its whole maxWait.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aLongPollHeldBehindUnreadRepliesIsAnsweredAtOnceAfterAHalfClose(boolean nativeTransport) throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l,
                gw -> gw.nativeTransport(nativeTransport).writeWaterMarks(32 << 10, 64 << 10));
             TestClient producer = server.connect("binary")) {
            producer.createTopic("big", 1);
            producer.createTopic("empty", 1);
            byte[] body = new byte[64 << 10];
            Arrays.fill(body, (byte) 'h');
            storeSixteen(producer, body);
            Socket s = smallWindowJsonClient(server, 60_000);
            try (TestClient c = TestClient.wrap(s, "json")) {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                for (int i = 0; i < 4; i++) {
                    all.write(TestClient.bytes(c.codec.encodeFrame(c.request(RequestCode.FETCH).header(Headers.TOPIC, "big")
                            .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 1000)
                            .header(Headers.MAX_BYTES, 8 << 20).build())));
                }
                all.write(TestClient.bytes(c.codec.encodeFrame(c.fetchRequest("empty", 0, 0, 10, 20_000))));
                c.writeRaw(all.toByteArray());
                Thread.sleep(300); // the first reply makes the channel unwritable: the rest are held
                c.socket.shutdownOutput();
                long start = System.nanoTime();
                List<Command> got = c.readUntilEof();
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertThat(got).hasSize(5);
                assertThat(got.get(4).status()).isEqualTo(Status.BUSY);
                assertThat(tookMs).as("ms to the close").isLessThan(10_000);
            }
        }
    }

    /** A hello and frames behind it, then the half-close, all in one write: the hello and every frame are answered, then the close. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aHelloAndFramesSentWithTheHalfCloseAreAllAnswered(boolean nativeTransport) throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l, gw -> gw.nativeTransport(nativeTransport))) {
            for (int round = 0; round < 20; round++) {
                try (Socket s = TestClient.open(server.port())) {
                    s.setSoTimeout(10_000);
                    dev.ferry.protocol.Codec codec = TestClient.CODECS.get("binary");
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    all.write(TestClient.bytes(Hello.of("binary").encode()));
                    for (int i = 1; i <= 3; i++) {
                        all.write(TestClient.bytes(codec.encodeFrame(Command.request(RequestCode.HEARTBEAT, i).build())));
                    }
                    s.getOutputStream().write(all.toByteArray());
                    TestClient c = TestClient.wrap(s, "binary"); // reads nothing yet
                    s.shutdownOutput();
                    assertThat(TestClient.readReply(s.getInputStream()).result()).isEqualTo(dev.ferry.protocol.HandshakeResult.ACCEPTED);
                    assertThat(c.readUntilEof()).hasSize(3).allMatch(r -> r.status() == Status.OK);
                }
            }
            TestServer.await("no connection open", Duration.ofSeconds(10), () -> server.gateway.openConnections() == 0);
        }
    }

    /** SENDs waiting for a SYNC flush at the half-close are all answered, on both transports. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void sendsWaitingForASyncFlushAreAnsweredOnBothTransports(boolean nativeTransport) throws Exception {
        try (TestServer server = TestServer.start(dir, log -> log.flushMode(dev.ferry.log.FlushMode.SYNC),
                gw -> gw.nativeTransport(nativeTransport))) {
            try (TestClient setup = server.connect("binary")) {
                assertThat(setup.createTopic("sync", 1).status()).isEqualTo(Status.OK);
            }
            for (int round = 0; round < 10; round++) {
                try (TestClient c = server.connect("binary")) {
                    for (int i = 0; i < 5; i++) {
                        c.writeNoFlush(c.sendRequest(TestClient.message("sync", 0, new byte[] {(byte) i})));
                    }
                    c.flush();
                    c.socket.shutdownOutput();
                    assertThat(c.readUntilEof()).hasSize(5).allMatch(r -> r.status() == Status.OK);
                }
            }
            TestServer.await("no connection open", Duration.ofSeconds(10), () -> server.gateway.openConnections() == 0);
        }
    }

    /** A client that half-closes and never reads its replies is closed by the write-stall timeout. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aHalfClosedClientThatNeverReadsIsClosedByTheWriteStallTimeout(boolean nativeTransport) throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l,
                gw -> gw.nativeTransport(nativeTransport).writeWaterMarks(32 << 10, 64 << 10).writeStallTimeoutMs(500));
             TestClient producer = server.connect("binary")) {
            producer.createTopic("big", 1);
            byte[] body = new byte[64 << 10];
            storeSixteen(producer, body);
            Socket s = smallWindowJsonClient(server, 0);
            TestClient c = TestClient.wrap(s, "json");
            for (int i = 0; i < 4; i++) {
                c.writeNoFlush(c.request(RequestCode.FETCH).header(Headers.TOPIC, "big").header(Headers.QUEUE_ID, 0)
                        .header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 1000).header(Headers.MAX_BYTES, 8 << 20).build());
            }
            c.flush();
            c.socket.shutdownOutput();
            TestServer.await("the stalled connection closed", Duration.ofSeconds(10), () -> server.gateway.openConnections() == 1);
            c.close();
        }
    }

    /** Stores 16 messages of {@code body} in topic "big" (queue 0) in one SEND_BATCH. */
    private static void storeSixteen(TestClient producer, byte[] body) throws IOException {
        List<Message> ms = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            ms.add(TestClient.message("big", 0, body));
        }
        assertThat(producer.call(producer.request(RequestCode.SEND_BATCH).messages(ms).build()).status()).isEqualTo(Status.OK);
    }

    /**
     * A socket with a 16 KiB receive buffer (so that the broker's replies soon pile up unsent),
     * connected to {@code server} and through the JSON handshake; {@code soTimeoutMs} 0: reads
     * block for ever.
     */
    private static Socket smallWindowJsonClient(TestServer server, int soTimeoutMs) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(16 << 10);
        s.setSoTimeout(soTimeoutMs);
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        TestClient.handshake(s, Hello.of("json"));
        return s;
    }
}
