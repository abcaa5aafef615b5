package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.HandshakeResult;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code connections.max} and {@code connections.max.per.ip} over real sockets: a connection past
 * either is refused at its hello with TOO_MANY_CONNECTIONS naming the limit, then closed; the
 * admitted ones keep working, and a closed one frees its place. Two client addresses are
 * 127.0.0.1 and 127.0.0.2 (both loopback on Linux).
 */
class ConnectionLimitTest {
    @TempDir
    Path dir;

    @Test
    void connectionsPastEitherLimitAreRefusedWithTheReasonAndClosedPlacesAreReused() throws IOException {
        try (TestServer server = TestServer.start(dir, log -> log, gw -> gw.maxConnections(3).maxConnectionsPerIp(2))) {
            List<TestClient> admitted = new ArrayList<>();
            try {
                admitted.add(connectFrom("127.0.0.1", server.port()));
                admitted.add(connectFrom("127.0.0.1", server.port()));

                HelloReply perIp = refusedFrom("127.0.0.1", server.port());
                assertThat(perIp.text()).isEqualTo("too many connections from 127.0.0.1: 2 open (connections.max.per.ip)");

                admitted.add(connectFrom("127.0.0.2", server.port()));
                HelloReply total = refusedFrom("127.0.0.2", server.port());
                assertThat(total.text()).isEqualTo("too many connections: 3 open (connections.max)");
                assertThat(server.gateway.openConnections()).as("refused connections are not counted").isEqualTo(3);

                for (TestClient c : admitted) {
                    assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
                }

                admitted.remove(0).close();
                TestServer.await("the closed connection's place to be freed", Duration.ofSeconds(10),
                        () -> server.gateway.openConnections() == 2);
                admitted.add(connectFrom("127.0.0.1", server.port()));
                assertThat(server.gateway.openConnections()).isEqualTo(3);
            } finally {
                for (TestClient c : admitted) {
                    c.close();
                }
            }
            TestServer.await("every place to be freed", Duration.ofSeconds(10), () -> server.gateway.openConnections() == 0);
            connectFrom("127.0.0.1", server.port()).close();
        }
    }

    @Test
    void aRefusedConnectionThatSendsNoHelloIsClosedSoon() throws IOException {
        try (TestServer server = TestServer.start(dir, log -> log, gw -> gw.maxConnections(1).handshakeTimeoutMs(60_000));
             TestClient first = connectFrom("127.0.0.1", server.port());
             Socket idle = socketFrom("127.0.0.1", server.port())) {
            // the socket's read timeout is 10 s; an admitted connection would be given 60 s for its hello
            assertThat(TestClient.closedByPeer(idle)).as("closed within " + HandshakeHandler.REFUSED_HELLO_WAIT_MS + " ms").isTrue();
            assertThat(first.call(first.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }

    private static Socket socketFrom(String localAddress, int port) throws IOException {
        Socket s = new Socket();
        try {
            s.setSoTimeout(10_000);
            s.bind(new InetSocketAddress(localAddress, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static TestClient connectFrom(String localAddress, int port) throws IOException {
        Socket s = socketFrom(localAddress, port);
        try {
            HelloReply reply = TestClient.handshake(s, Hello.of("binary"));
            assertThat(reply.result()).as(reply.text()).isEqualTo(HandshakeResult.ACCEPTED);
            return TestClient.wrap(s, "binary");
        } catch (IOException | RuntimeException | AssertionError e) {
            s.close();
            throw e;
        }
    }

    private static HelloReply refusedFrom(String localAddress, int port) throws IOException {
        try (Socket s = socketFrom(localAddress, port)) {
            HelloReply reply = TestClient.handshake(s, Hello.of("binary"));
            assertThat(reply.result()).isEqualTo(HandshakeResult.TOO_MANY_CONNECTIONS);
            assertThat(TestClient.closedByPeer(s)).as("closed after the refusal").isTrue();
            return reply;
        }
    }
}
