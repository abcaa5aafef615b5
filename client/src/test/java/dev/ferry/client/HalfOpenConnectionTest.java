package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupConfig;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A connection whose peer has gone silent (half-open: broker host powered off, a NAT or conntrack
 * entry dropped, a frozen broker process) is closed by the client once a request on it times out,
 * as Kafka's client does; the producer then resends, and a group member rejoins and reads on, over
 * a new connection. Before, the timed-out requests were failed but the connection kept, and both
 * went on sending into it for good.
 */
class HalfOpenConnectionTest {
    @TempDir
    Path dir;

    /** A forwarder whose existing connections can be frozen: bytes stop flowing both ways, sockets stay open; new connections work. */
    static final class FreezingProxy implements AutoCloseable {
        private final ServerSocket server;
        private final int target;
        private final Set<AtomicBoolean> live = ConcurrentHashMap.newKeySet();
        private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

        FreezingProxy(int target) throws IOException {
            this.target = target;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread a = new Thread(this::accept, "freeze-proxy-accept");
            a.setDaemon(true);
            a.start();
        }

        int port() {
            return server.getLocalPort();
        }

        /** Every connection made so far stops passing bytes, for good, without being closed. */
        void freezeExisting() {
            for (AtomicBoolean f : live) {
                f.set(true);
            }
            live.clear();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket c = server.accept();
                    Socket u = new Socket(InetAddress.getLoopbackAddress(), target);
                    sockets.add(c);
                    sockets.add(u);
                    AtomicBoolean frozen = new AtomicBoolean();
                    live.add(frozen);
                    pump(c, u, frozen);
                    pump(u, c, frozen);
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void pump(Socket from, Socket to, AtomicBoolean frozen) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[64 * 1024];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        if (frozen.get()) {
                            continue; // black hole: read and drop, as a dead peer's network would
                        }
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "freeze-proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }
    }

    @Test
    @Timeout(90)
    void aProducerWhoseConnectionWentSilentReconnects() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FreezingProxy proxy = new FreezingProxy(server.port());
             FerryClient direct = server.client("binary");
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(proxy.port()).codec("binary").requestTimeoutMs(1_000).build());
             Producer p = client.producer(ProducerConfig.builder().lingerMs(0).deliveryTimeoutMs(20_000).build())) {
            direct.createTopic("ho", 1);
            p.send("ho", "before".getBytes());
            proxy.freezeExisting();
            long t0 = System.nanoTime();
            FerryException failed = null;
            try {
                p.send("ho", "after".getBytes());
            } catch (FerryException e) {
                failed = e;
            }
            assertThat(failed).as("the send goes out on a new connection once the silent one timed out, after "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms: " + failed).isNull();
        }
    }

    @Test
    @Timeout(90)
    void aGroupMemberWhoseConnectionWentSilentReconnectsAndReadsOn() throws Exception {
        GroupConfig groups = GroupConfig.builder().sessionTimeoutMs(2_000).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FreezingProxy proxy = new FreezingProxy(server.port());
             FerryClient direct = server.client("binary");
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(proxy.port()).codec("binary").requestTimeoutMs(1_000).build());
             Producer p = direct.producer()) {
            direct.createTopic("hg", 1);
            p.send("hg", "m0".getBytes());
            try (GroupConsumer g = client.groupConsumer(GroupConsumerConfig.builder("hg", "hgg").clientId("m1").heartbeatIntervalMs(200)
                    .maxWaitMs(200).retryBackoffMs(100).build())) {
                List<String> got = new ArrayList<>();
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (got.isEmpty() && System.nanoTime() < deadline) {
                    for (Message m : g.poll(Duration.ofMillis(100))) {
                        got.add(ConsumerGroupTest.text(m));
                        g.ack(m);
                    }
                }
                assertThat(got).containsExactly("m0");
                Thread.sleep(300); // the ack is through
                proxy.freezeExisting();
                p.send("hg", "m1".getBytes());
                deadline = System.nanoTime() + 30_000_000_000L;
                while (!got.contains("m1") && System.nanoTime() < deadline) {
                    for (Message m : g.poll(Duration.ofMillis(100))) {
                        got.add(ConsumerGroupTest.text(m));
                        g.ack(m);
                    }
                }
                assertThat(got).as("the member reconnects and reads the message sent after its connection went silent; assignment "
                        + g.assignment() + ", broker's view " + direct.describeGroup("hgg")).contains("m1");
            }
        }
    }
}
