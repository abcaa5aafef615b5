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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that sends requests but does not read its replies holds a bounded amount of the
 * server's memory (docs/PROTOCOL.md, "Flow control"): the write high-water mark plus one reply,
 * whether its replies answer frames already read in one go or long polls woken together; once it
 * reads, every reply comes, in request order where the protocol promises it. One that reads
 * nothing at all is closed after the write-stall timeout.
 */
class UnreadRepliesTest {
    private static final int HIGH_WATER = 64 << 10;
    private static final int MESSAGE_BYTES = 16 << 10;
    private static final int MESSAGES = 16;
    /** A FETCH of all {@link #MESSAGES} in JSON (bodies in base64): about 350 KB. */
    private static final long ONE_REPLY_BOUND = 512 << 10;

    @TempDir
    Path dir;

    private static TestServer start(Path dir, long writeStallTimeoutMs) {
        return TestServer.start(dir, l -> l, gw -> gw.writeWaterMarks(HIGH_WATER / 2, HIGH_WATER).writeStallTimeoutMs(writeStallTimeoutMs));
    }

    /** A JSON connection with a small receive buffer, so that the server's unsent replies pile up soon once it stops reading. */
    private static TestClient nonReading(TestServer server) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(16 << 10);
        s.setSoTimeout(30_000);
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        TestClient.handshake(s, Hello.of("json"));
        return TestClient.wrap(s, "json");
    }

    private static void sendMessages(TestClient producer, String topic) throws IOException {
        byte[] body = new byte[MESSAGE_BYTES];
        Arrays.fill(body, (byte) 'a');
        List<Message> ms = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            ms.add(TestClient.message(topic, 0, body));
        }
        assertThat(producer.call(producer.request(RequestCode.SEND_BATCH).messages(ms).build()).status()).isEqualTo(Status.OK);
    }

    private static Command fetchAll(TestClient c, String topic, long offset, long maxWaitMs) {
        Command.Builder b = c.request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                .header(Headers.OFFSET, offset).header(Headers.MAX_MESSAGES, 1000).header(Headers.MAX_BYTES, 1 << 20);
        if (maxWaitMs > 0) {
            b.header(Headers.MAX_WAIT_MS, maxWaitMs);
        }
        return b.build();
    }

    /** The most unsent reply bytes any connection had while sampled for about {@code samples} × 50 ms. */
    private static long largestUnsentOver(TestServer server, int samples) throws InterruptedException {
        long largest = 0;
        for (int i = 0; i < samples; i++) {
            largest = Math.max(largest, server.gateway.largestUnsentReplyBytes());
            Thread.sleep(50);
        }
        return largest;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void framesReadInOneGoAreAnsweredOnlyWhileTheClientTakesReplies() throws Exception {
        try (TestServer server = start(dir, 60_000); TestClient producer = server.connect("binary")) {
            producer.createTopic("pipelined", 1);
            sendMessages(producer, "pipelined");
            TestClient c = nonReading(server);
            List<Command> fetches = new ArrayList<>();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int i = 0; i < 100; i++) {
                Command f = fetchAll(c, "pipelined", 0, 0);
                fetches.add(f);
                all.write(TestClient.bytes(c.codec.encodeFrame(f)));
            }
            c.writeRaw(all.toByteArray()); // about 20 KB: read by the server in one go

            assertThat(largestUnsentOver(server, 30)).as("unsent reply bytes of the connection that does not read (100 replies"
                    + " of ~350 KB asked for)").isLessThanOrEqualTo(HIGH_WATER + ONE_REPLY_BOUND);

            for (Command f : fetches) { // now it reads: every reply, in request order, none lost
                Command r = c.read();
                assertThat(r.requestId()).isEqualTo(f.requestId());
                assertThat(r.status()).isEqualTo(Status.OK);
                assertThat(r.messages()).hasSize(MESSAGES);
            }
            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).as("the connection still serves").isEqualTo(Status.OK);
            c.close();
        }
    }

    @Test
    void longPollsWokenTogetherReadOnlyWhileTheClientTakesReplies() throws Exception {
        try (TestServer server = start(dir, 60_000); TestClient producer = server.connect("binary")) {
            producer.createTopic("woken", 1);
            TestClient c = nonReading(server);
            Set<Integer> ids = new HashSet<>();
            for (int i = 0; i < 64; i++) {
                Command f = fetchAll(c, "woken", 0, 20_000);
                ids.add(f.requestId());
                c.writeNoFlush(f);
            }
            c.flush();
            await("64 parked fetches", () -> server.broker.waitingFetches() == 64);

            sendMessages(producer, "woken"); // wakes all 64: ~22 MB of replies for a client that reads none

            assertThat(largestUnsentOver(server, 30)).as("unsent reply bytes of the connection that does not read")
                    .isLessThanOrEqualTo(HIGH_WATER + ONE_REPLY_BOUND);

            Set<Integer> answered = new HashSet<>();
            for (int i = 0; i < 64; i++) {
                Command r = c.read();
                assertThat(r.status()).isEqualTo(Status.OK);
                assertThat(r.messages()).as("reply to #" + r.requestId()).hasSize(MESSAGES);
                answered.add(r.requestId());
            }
            assertThat(answered).as("every long poll answered once").isEqualTo(ids);
            c.close();
        }
    }

    /**
     * A frame left half sent behind requests held unanswered (their client reads nothing) times out
     * while they are held; once the client reads, every reply comes, then the error for the half
     * frame, and the connection closes. The timeout's error, raised by a timer and not by a read,
     * once left the connection taking itself to be inside a read for good: what it carried out when
     * the client read was never flushed, and the client waited for ever.
     */
    @Test
    void aHalfFrameTimedOutBehindHeldRequestsIsAnsweredAfterThemOnceTheClientReads() throws Exception {
        long frameTimeoutMs = 100;
        try (TestServer server = TestServer.start(dir, l -> l,
                gw -> gw.writeWaterMarks(HIGH_WATER / 2, HIGH_WATER).frameTimeoutMs(frameTimeoutMs));
             TestClient producer = server.connect("binary")) {
            producer.createTopic("half", 1);
            // 4 MiB to fetch, about 5.6 MB as a JSON reply: far more than the sockets' buffers take, so one
            // unread reply keeps the channel unwritable
            byte[] body = new byte[64 << 10];
            Arrays.fill(body, (byte) 'h');
            for (int batch = 0; batch < 4; batch++) {
                List<Message> ms = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    ms.add(TestClient.message("half", 0, body));
                }
                assertThat(producer.call(producer.request(RequestCode.SEND_BATCH).messages(ms).build()).status()).isEqualTo(Status.OK);
            }
            TestClient c = nonReading(server);
            List<Command> fetches = new ArrayList<>();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int i = 0; i < 4; i++) {
                Command f = c.request(RequestCode.FETCH).header(Headers.TOPIC, "half").header(Headers.QUEUE_ID, 0)
                        .header(Headers.OFFSET, 0).header(Headers.MAX_MESSAGES, 1000).header(Headers.MAX_BYTES, 8 << 20).build();
                fetches.add(f);
                all.write(TestClient.bytes(c.codec.encodeFrame(f)));
            }
            byte[] heartbeat = TestClient.bytes(c.codec.encodeFrame(c.request(RequestCode.HEARTBEAT).build()));
            all.write(heartbeat, 0, heartbeat.length / 2);
            // under 2 KB in one write: read by the server in one go, the half frame with the rest; the first
            // FETCH's reply makes the channel unwritable, the other three are held
            c.writeRaw(all.toByteArray());

            // the half frame times out while they are held: its time runs on paused, capped at 4 frame timeouts
            Thread.sleep(frameTimeoutMs * (FrameDecoder.MAX_PAUSED_TIMEOUTS + 4));

            for (Command f : fetches) { // now it reads: every reply, in request order
                Command r = c.read();
                assertThat(r.requestId()).isEqualTo(f.requestId());
                assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
                assertThat(r.messages()).hasSize(64);
            }
            Command error = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(error.requestId()).isZero();
            assertThat(error.message()).contains("frame incomplete");
            c.close();
        }
    }

    @Test
    void aConnectionWhoseRepliesMakeNoProgressIsClosedAfterTheWriteStallTimeout() throws Exception {
        try (TestServer server = start(dir, 300); TestClient producer = server.connect("binary");
             TestClient idle = server.connect("binary")) {
            producer.createTopic("stalled", 1);
            sendMessages(producer, "stalled");
            TestClient c = nonReading(server);
            for (int i = 0; i < 100; i++) {
                c.writeNoFlush(fetchAll(c, "stalled", 0, 0));
            }
            c.flush();
            await("the connection that reads nothing closed", () -> server.gateway.openConnections() == 2);
            assertThat(server.gateway.largestUnsentReplyBytes()).as("its unsent replies released").isZero();
            // connections with nothing unsent are not stalled, however long they are idle
            assertThat(idle.call(idle.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
            assertThat(producer.call(producer.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
            c.close();
        }
    }
}
