package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.gateway.TestClient.Fetched;
import dev.ferry.log.FlushMode;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Flow control: sends beyond the store's backlog get a retryable BUSY and the connection stays
 * usable; a client that pipelines requests but never reads its responses is no longer read once
 * its unsent replies pass the high-water mark, while other connections are served.
 */
class FlowControlTest {
    @TempDir
    Path dir;

    @Test
    void sendsBeyondTheUnflushedBacklogGetRetryableBusy() throws IOException {
        // the background flusher never runs: only an explicit flush empties the backlog
        try (TestServer server = TestServer.start(dir, log -> log.flushIntervalMs(3_600_000), gw -> gw.maxUnflushedBytes(1));
             TestClient c = server.connect("json")) {
            c.createTopic("busy", 1);
            List<Command> sends = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Command req = c.sendRequest(TestClient.message("busy", 0, ("m" + i).getBytes(StandardCharsets.UTF_8)));
                sends.add(req);
                c.writeNoFlush(req);
            }
            c.flush();
            List<Command> busy = new ArrayList<>();
            int ok = 0;
            for (Command req : sends) {
                Command r = c.read();
                assertThat(r.requestId()).isEqualTo(req.requestId());
                if (r.status() == Status.OK) {
                    ok++;
                } else {
                    busy.add(r);
                }
            }
            assertThat(ok).as("the first send finds an empty backlog").isGreaterThanOrEqualTo(1);
            assertThat(busy).as("later sends find bytes not yet flushed").isNotEmpty().allSatisfy(r -> {
                assertThat(r.status()).isEqualTo(Status.BUSY);
                assertThat(r.status().retryable()).isTrue();
                assertThat(r.message()).contains("not yet flushed");
            });

            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).as("the connection stays usable").isEqualTo(Status.OK);
            assertThat(TestClient.fetched(c.fetch("busy", 0, 0, 100))).hasSize(ok);
            server.broker.store().flush();
            Command retried = c.send(TestClient.message("busy", 0, "retry".getBytes(StandardCharsets.UTF_8)));
            assertThat(retried.status()).as("the same send succeeds once flushed").isEqualTo(Status.OK);
        }
    }

    @Test
    void pipelinedSyncSendsBeyondMaxInFlightGetRetryableBusy() throws IOException {
        try (TestServer server = TestServer.start(dir, log -> log.flushMode(FlushMode.SYNC), gw -> gw.maxInFlightSends(1));
             TestClient c = server.connect("binary")) {
            c.createTopic("inflight", 1);
            int n = 50;
            for (int i = 0; i < n; i++) {
                c.writeNoFlush(c.sendRequest(TestClient.message("inflight", 0, ("m" + i).getBytes(StandardCharsets.UTF_8))));
            }
            c.flush();
            int ok = 0;
            int busy = 0;
            for (int i = 0; i < n; i++) {
                Command r = c.read();
                if (r.status() == Status.OK) {
                    ok++;
                } else {
                    assertThat(r.status()).as(r.message()).isEqualTo(Status.BUSY);
                    assertThat(r.status().retryable()).isTrue();
                    assertThat(r.message()).contains("sends waiting");
                    busy++;
                }
            }
            assertThat(ok).isGreaterThanOrEqualTo(1);
            assertThat(busy).as("sends pipelined behind an unflushed one").isGreaterThanOrEqualTo(1);
            assertThat(TestClient.fetched(c.fetch("inflight", 0, 0, 100))).as("exactly the acknowledged sends are stored").hasSize(ok);
            for (int i = 0; i < 5; i++) {
                assertThat(c.send(TestClient.message("inflight", 0, new byte[] {1})).status()).as("one at a time is admitted")
                        .isEqualTo(Status.OK);
            }
        }
    }

    @ParameterizedTest(name = "zeroCopy={0}")
    @ValueSource(booleans = {true, false})
    void aClientThatNeverReadsIsNoLongerReadWhileOthersAreServed(boolean zeroCopy) throws Exception {
        int requests = 2000;
        int bodyBytes = 16 << 10;
        try (TestServer server = TestServer.start(dir, log -> log, gw -> gw.writeWaterMarks(64 << 10, 256 << 10).zeroCopy(zeroCopy));
             TestClient healthy = server.connect("binary")) {
            healthy.createTopic("big", 1);
            assertThat(healthy.send(TestClient.message("big", 0, new byte[bodyBytes])).status()).isEqualTo(Status.OK);

            // every request is padded with an unknown 30,000-byte header so the requests outgrow the socket buffers
            String pad = "x".repeat(30_000);
            Socket stuck = new Socket();
            stuck.setReceiveBufferSize(16 << 10);
            stuck.setSendBufferSize(16 << 10);
            stuck.setSoTimeout(10_000);
            stuck.connect(new InetSocketAddress("127.0.0.1", server.port()));
            try (TestClient c = TestClient.wrap(stuck, TestClient.handshake(stuck, dev.ferry.protocol.Hello.of("binary")).text())) {
                byte[] frame = TestClient.bytes(c.codec.encodeFrame(Command.request(RequestCode.FETCH, 1).header(Headers.TOPIC, "big")
                        .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 1).header("pad", pad).build()));
                long total = (long) frame.length * requests;
                AtomicLong written = new AtomicLong();
                OutputStream out = stuck.getOutputStream();
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        for (int i = 0; i < requests; i++) {
                            out.write(frame);
                            written.addAndGet(frame.length);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });

                // wait until the writer stops making progress: the server has stopped reading this connection
                long last = -1;
                long stalledSince = System.nanoTime();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (System.nanoTime() - stalledSince < TimeUnit.MILLISECONDS.toNanos(1000)) {
                    assertThat(writer).as("all %d bytes of requests were read although no response was: the server kept reading", total)
                            .isNotDone();
                    assertThat(System.nanoTime()).as("writer never stalled").isLessThan(deadline);
                    long now = written.get();
                    if (now != last) {
                        last = now;
                        stalledSince = System.nanoTime();
                    }
                    // meanwhile the healthy connection is served
                    assertThat(healthy.fetch("big", 0, 0, 1).status()).isEqualTo(Status.OK);
                    Thread.sleep(20);
                }
                // about 8 MB fit in the two sockets' buffers; before file regions counted toward the
                // high-water mark (Gateway.SIZE_ESTIMATOR) the server read some 37 MB
                assertThat(written.get()).as("the server stopped reading well before the end").isLessThan(total / 4);
                assertThat(healthy.send(TestClient.message("big", 0, new byte[] {7})).status()).isEqualTo(Status.OK);
                TestClient again = server.connect("json");
                assertThat(again.call(again.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
                again.close();

                // once the client reads, the server resumes: every request is answered
                for (int i = 0; i < requests; i++) {
                    Command r = c.read();
                    assertThat(r.status()).as("response %d: %s", i, r.message()).isEqualTo(Status.OK);
                    List<Fetched> got = TestClient.fetched(r);
                    assertThat(got).hasSize(1);
                    assertThat(got.get(0).body()).hasSize(bodyBytes);
                }
                writer.get(10, TimeUnit.SECONDS);
            }
        }
    }
}
