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
