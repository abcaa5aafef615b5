package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.gateway.TestClient.Fetched;
import dev.ferry.log.FlushMode;
import dev.ferry.log.StoredMessage;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Gateway#close()} answers what is in flight before closing connections; acknowledged sends survive a reopen. */
class GracefulCloseTest {
    @TempDir
    Path dir;

    @Test
    void longPollAndPipelinedSendsAreAnsweredBeforeTheConnectionCloses() throws IOException {
        int sends = 200;
        Map<Long, String> acked = new HashMap<>();
        TestServer server = TestServer.start(dir, log -> log.flushMode(FlushMode.SYNC), gw -> gw.drainMs(10_000));
        try (TestClient c = server.connect("json")) {
            c.createTopic("drain", 2);
            Command poll = c.fetchRequest("drain", 1, 0, 10, 30_000); // queue 1 stays empty: the poll waits
            c.write(poll);
            Map<Integer, String> bodies = new HashMap<>();
            for (int i = 0; i < sends; i++) {
                String body = "drained-" + i;
                Command req = c.sendRequest(TestClient.message("drain", 0, body.getBytes(StandardCharsets.UTF_8)));
                bodies.put(req.requestId(), body);
                c.writeNoFlush(req);
            }
            c.flush();
            // every send has been read and appended (SYNC: its answer waits for the fsync) before close starts
            TestServer.await("all sends appended", Duration.ofSeconds(10),
                    () -> server.broker.store().nextOffset("drain", 0) == sends);

            server.gateway.close();

            List<Command> got = c.readUntilEof();
            assertThat(got).as("one answer per request, then EOF").hasSize(sends + 1);
            Command pollAnswer = got.stream().filter(r -> r.requestId() == poll.requestId()).findFirst().orElseThrow();
            assertThat(pollAnswer.status()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(pollAnswer)).as("released empty").isEmpty();
            for (Command r : got) {
                if (r.code() == RequestCode.SEND) {
                    assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
                    acked.put(Long.parseLong(r.header(Headers.QUEUE_OFFSET)), bodies.get(r.requestId()));
                }
            }
        } finally {
            server.close();
        }
        assertThat(acked).hasSize(sends);

        try (TestServer reopened = TestServer.start(dir); TestClient c = reopened.connect("binary")) {
            List<StoredMessage> stored = reopened.broker.store().readMessages("drain", 0, 0, sends + 1);
            assertThat(stored).hasSize(sends);
            for (StoredMessage m : stored) {
                assertThat(new String(m.body(), StandardCharsets.UTF_8)).isEqualTo(acked.get(m.queueOffset()));
            }
            List<Fetched> fetched = TestClient.fetched(c.fetch("drain", 0, 0, sends));
            assertThat(fetched).extracting(f -> new String(f.body(), StandardCharsets.UTF_8))
                    .containsExactlyElementsOf(stored.stream().map(m -> new String(m.body(), StandardCharsets.UTF_8)).toList());
        }
    }

    /**
     * A consumer polls again as soon as its waiting poll is answered by the close: that poll is
     * answered at once, empty, not parked until the drain ends. Before 359843c it parked for its
     * whole wait, the drain waited {@code shutdown.drain.ms} for it and closed the connection with
     * it unanswered. The drain is held open here by another connection that does not read its
     * replies: its released poll is in flight until it reads.
     */
    @Test
    void aPollSentWhileTheGatewayDrainsIsAnsweredAtOnce() throws Exception {
        TestServer server = TestServer.start(dir, l -> l, gw -> gw.writeWaterMarks(32 << 10, 64 << 10).drainMs(120_000)
                .writeStallTimeoutMs(120_000));
        Thread closer = new Thread(server.gateway::close, "gateway-close");
        try (TestClient producer = server.connect("binary"); TestClient slow = slowReader(server); TestClient consumer = server.connect("binary")) {
            producer.createTopic("full", 1);
            producer.createTopic("idle", 1);
            byte[] body = new byte[16 << 10];
            for (int i = 0; i < 16; i++) {
                assertThat(producer.send(TestClient.message("full", 0, body)).status()).isEqualTo(Status.OK);
            }
            slow.write(slow.fetchRequest("idle", 0, 0, 10, 30_000));
            TestServer.await("the slow reader's poll waiting", Duration.ofSeconds(10), () -> server.broker.waitingFetches() == 1);
            for (int i = 0; i < 30; i++) { // some 10 MB of JSON replies it does not read: more than its socket's buffers take
                slow.writeNoFlush(slow.request(RequestCode.FETCH).header(Headers.TOPIC, "full").header(Headers.QUEUE_ID, 0)
                        .header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 16).header(Headers.MAX_BYTES, 1 << 20).build());
            }
            slow.flush();
            // stuck: the socket's buffers are full too (until then they take more, and the connection is writable again)
            long[] last = {-1};
            TestServer.await("the slow reader's replies stuck", Duration.ofSeconds(30), () -> {
                long unsent = server.gateway.largestUnsentReplyBytes();
                boolean stuck = unsent >= 64 << 10 && unsent == last[0];
                last[0] = unsent;
                sleepQuietly(200);
                return stuck;
            });
            Command first = consumer.fetchRequest("idle", 0, 0, 10, 30_000);
            consumer.write(first);
            TestServer.await("the consumer's poll waiting", Duration.ofSeconds(10), () -> server.broker.waitingFetches() == 2);

            closer.start();

            Command released = consumer.read();
            assertThat(released.requestId()).isEqualTo(first.requestId());
            assertThat(TestClient.fetched(released)).as("released empty").isEmpty();
            Command again = consumer.fetchRequest("idle", 0, 0, 10, 30_000);
            consumer.write(again);
            Command answer = consumer.read(); // before: parked until the drain's end, and never answered
            assertThat(answer.requestId()).isEqualTo(again.requestId());
            assertThat(answer.status()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(answer)).as("answered at once, empty").isEmpty();
            assertThat(closer.isAlive()).as("the drain still waits for the slow reader's released poll").isTrue();

            assertThat(slow.readUntilEof()).as("the slow reader gets every answer once it reads, then EOF").hasSize(31);
            assertThat(consumer.readUntilEof()).isEmpty();
        } finally {
            closer.join(150_000);
            server.close();
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A JSON connection with a small receive buffer, so that its unsent replies pile up in the gateway soon. */
    private static TestClient slowReader(TestServer server) throws IOException {
        java.net.Socket s = new java.net.Socket();
        s.setReceiveBufferSize(16 << 10);
        s.setSoTimeout(30_000);
        s.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()));
        TestClient.handshake(s, dev.ferry.protocol.Hello.of("json"));
        return TestClient.wrap(s, "json");
    }

    /**
     * A gateway closed and another started on the same broker (a test's broker outage, an
     * application that restarts its front): the new one's long polls wait for a message. Before,
     * the first gateway's drain left the broker answering every long poll at once, empty, for good,
     * and each idle consumer asked again at once: some 7,000 FETCHes a second for 8 idle queues.
     */
    @Test
    void aGatewayStartedAgainOnTheSameBrokerLongPollsAgain() throws IOException {
        try (TestServer server = TestServer.start(dir)) {
            try (TestClient c = server.connect("binary")) {
                c.createTopic("again", 1);
            }
            server.gateway.close();
            try (Gateway again = Gateway.start(server.broker, GatewayConfig.builder().host("127.0.0.1").port(0).build());
                 TestClient consumer = TestClient.connect(again.port(), "binary");
                 TestClient producer = TestClient.connect(again.port(), "json")) {
                Command poll = consumer.fetchRequest("again", 0, 0, 10, 30_000);
                consumer.write(poll);
                TestServer.await("the poll of an empty queue waiting", Duration.ofSeconds(10), () -> server.broker.waitingFetches() == 1);
                assertThat(producer.send(TestClient.message("again", 0, "news".getBytes(StandardCharsets.UTF_8))).status())
                        .isEqualTo(Status.OK);
                Command answer = consumer.read();
                assertThat(answer.requestId()).isEqualTo(poll.requestId());
                assertThat(TestClient.fetched(answer)).as("answered by the message it waited for")
                        .extracting(f -> new String(f.body(), StandardCharsets.UTF_8)).containsExactly("news");
            }
        }
    }

    @Test
    void closeStopsAcceptingAndIsIdempotent() throws IOException {
        TestServer server = TestServer.start(dir);
        int port = server.port();
        try {
            server.gateway.close();
            server.gateway.close();
        } finally {
            server.close();
        }
        assertThat(canConnect(port)).isFalse();
    }

    private static boolean canConnect(int port) {
        try (java.net.Socket s = TestClient.open(port)) {
            return s.isConnected();
        } catch (IOException e) {
            return false;
        }
    }
}
