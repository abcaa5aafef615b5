package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway-wide memory budget for request frames being read ({@code maxBufferedFrameBytes},
 * {@link FrameBudget}), on a real gateway and raw sockets: many clients each sending most of a
 * large frame no longer make the broker hold all of them; those the budget cannot cover are not
 * read (their bytes stay in the kernel) until memory is returned, then are read and answered as
 * usual, first come first served. Nothing here depends on timing: each step waits for the state
 * it needs.
 */
class FrameMemoryBudgetTest {
    private static final int MAX_FRAME = 1 << 20;
    /** One maximum frame: two of the frames below fit, a third does not. */
    private static final long BUDGET = MAX_FRAME;
    private static final int BODY = 450 << 10;
    /** What each client sends of its frame at first: the length prefix and part of the payload. */
    private static final int FIRST_PART = 4 + (300 << 10);
    /** Generous bound on what one socket read brings (Netty reads at most 64 KiB at a time). */
    private static final int ONE_READ = 128 << 10;
    private static final String TOPIC = "budget";

    @TempDir
    Path dir;

    /**
     * A broker whose frames are at most {@link #MAX_FRAME} bytes and whose frame budget is
     * {@code budget}, with {@code more} applied to its gateway's settings.
     */
    private TestServer start(long budget, UnaryOperator<GatewayConfig.Builder> more) {
        return TestServer.start(dir, UnaryOperator.identity(),
                gw -> more.apply(gw.limits(Limits.builder().maxFrameBytes(MAX_FRAME).build()).maxBufferedFrameBytes(budget)));
    }

    @ParameterizedTest(name = "native transport: {0}")
    @ValueSource(booleans = {true, false})
    void clientsTheBudgetCannotCoverAreNotReadUntilMemoryReturnsThenAllAreAnswered(boolean nativeTransport) throws Exception {
        ExecutorService writers = Executors.newCachedThreadPool();
        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicLong mostReserved = new AtomicLong();
        try (TestServer server = start(BUDGET, gw -> gw.nativeTransport(nativeTransport))) {
            Thread sampler = new Thread(() -> {
                while (sampling.get()) {
                    mostReserved.accumulateAndGet(server.gateway.bufferedFrameBytes(), Math::max);
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                }
            });
            sampler.start();
            List<TestClient> clients = new ArrayList<>();
            List<byte[]> frames = new ArrayList<>();
            List<Future<?>> firstParts = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                TestClient c = server.connect("binary");
                clients.add(c);
                byte[] body = new byte[BODY];
                Arrays.fill(body, (byte) ('a' + i));
                frames.add(TestClient.bytes(c.codec.encodeFrame(c.sendRequest(TestClient.message(TOPIC, 0, body)))));
            }
            long frameLength = frames.get(0).length - 4;
            assertThat(2 * frameLength).isLessThanOrEqualTo(BUDGET);
            assertThat(3 * frameLength).isGreaterThan(BUDGET);

            // one after the other, so that the order they queue in is known: 0 and 1 fit, 2, 3, 4 wait in that order
            for (int i = 0; i < 5; i++) {
                TestClient c = clients.get(i);
                byte[] part = Arrays.copyOf(frames.get(i), FIRST_PART);
                firstParts.add(writers.submit(() -> { c.writeRaw(part); return null; })); // may block: the server may not read it
                int started = i;
                if (i < 2) {
                    await("frame " + i + " reserved", () -> server.gateway.bufferedFrameBytes() == (started + 1) * frameLength);
                } else {
                    await("connection " + i + " waiting", () -> server.gateway.connectionsWaitingForFrameMemory() == started - 1);
                }
            }
            await("the first parts of frames 0 and 1 read", () -> server.gateway.frameBytesHeldInDecoders() >= 2L * FIRST_PART);
            assertThat(server.gateway.bufferedFrameBytes()).isEqualTo(2 * frameLength);
            // the three waiting connections hold at most the read that brought their length prefix; the rest stays in the kernel
            assertThat(server.gateway.frameBytesHeldInDecoders()).as("bytes held by the frame decoders")
                    .isLessThanOrEqualTo(2L * FIRST_PART + 3L * ONE_READ);

            // frame 0 completes and is answered: its memory goes to the first waiter, 2
            firstParts.get(0).get();
            clients.get(0).writeRaw(Arrays.copyOfRange(frames.get(0), FIRST_PART, frames.get(0).length));
            assertThat(clients.get(0).read().status()).isEqualTo(Status.OK);
            await("connection 2 granted", () -> server.gateway.connectionsWaitingForFrameMemory() == 2
                    && server.gateway.bufferedFrameBytes() == 2 * frameLength);

            // client 1 goes away mid-frame: its reservation is returned, and goes to 3
            firstParts.get(1).get();
            clients.get(1).close();
            await("connection 3 granted", () -> server.gateway.connectionsWaitingForFrameMemory() == 1
                    && server.gateway.bufferedFrameBytes() == 2 * frameLength);

            for (int i : new int[] {2, 3}) {
                firstParts.get(i).get();
                clients.get(i).writeRaw(Arrays.copyOfRange(frames.get(i), FIRST_PART, frames.get(i).length));
                assertThat(clients.get(i).read().status()).as("send of client " + i).isEqualTo(Status.OK);
            }
            await("connection 4 granted", () -> server.gateway.connectionsWaitingForFrameMemory() == 0);
            firstParts.get(4).get();
            clients.get(4).writeRaw(Arrays.copyOfRange(frames.get(4), FIRST_PART, frames.get(4).length));
            assertThat(clients.get(4).read().status()).isEqualTo(Status.OK);
            await("every reservation returned", () -> server.gateway.bufferedFrameBytes() == 0);

            Set<Byte> stored = new HashSet<>();
            try (TestClient reader = server.connect("binary")) {
                for (long offset = 0; offset < 4; offset++) {
                    Command r = reader.fetch(TOPIC, 0, offset, 1);
                    assertThat(r.status()).isEqualTo(Status.OK);
                    List<TestClient.Fetched> got = TestClient.fetched(r);
                    assertThat(got).hasSize(1);
                    byte[] body = got.get(0).body();
                    assertThat(body).hasSize(BODY);
                    byte first = body[0];
                    assertThat(body).containsOnly(first);
                    stored.add(first);
                }
            }
            assertThat(stored).containsExactlyInAnyOrder((byte) 'a', (byte) 'c', (byte) 'd', (byte) 'e');
            for (TestClient c : clients) {
                c.close();
            }
            sampling.set(false);
            sampler.join();
            assertThat(mostReserved.get()).as("most bytes reserved at any time").isLessThanOrEqualTo(BUDGET);
        } finally {
            sampling.set(false);
            writers.shutdownNow();
        }
    }

    @Test
    void aWaitingConnectionIsReadOnceGrantedEvenIfItsFrameIsAlreadyWhole() throws Exception {
        // the waiter's whole frame arrived with its length prefix: no further read would come, the grant must decode it
        try (TestServer server = start(BUDGET, UnaryOperator.identity());
             TestClient holder = server.connect("binary");
             TestClient small = server.connect("json")) {
            byte[] big = takeTheBudget(server, holder);
            Command heartbeat = small.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build();
            small.write(heartbeat);
            await("the small frame waiting", () -> server.gateway.connectionsWaitingForFrameMemory() == 1);
            holder.writeRaw(Arrays.copyOfRange(big, 1024, big.length));
            assertThat(holder.read().status()).isEqualTo(Status.OK);
            assertAnswered(small, heartbeat);
        }
    }

    @ParameterizedTest(name = "native transport: {0}")
    @ValueSource(booleans = {true, false})
    void aClientThatShutsItsOutputWhileWaitingIsStillAnswered(boolean nativeTransport) throws Exception {
        // nc-style: the whole request, then a half-close, all while the budget is taken; answered once memory returns
        try (TestServer server = start(BUDGET, gw -> gw.nativeTransport(nativeTransport));
             TestClient holder = server.connect("binary");
             TestClient small = server.connect("binary")) {
            byte[] big = takeTheBudget(server, holder);
            Command heartbeat = small.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build();
            small.write(heartbeat);
            small.socket.shutdownOutput();
            await("the small frame waiting", () -> server.gateway.connectionsWaitingForFrameMemory() == 1);
            holder.writeRaw(Arrays.copyOfRange(big, 1024, big.length));
            assertThat(holder.read().status()).isEqualTo(Status.OK);
            List<Command> replies = small.readUntilEof();
            assertThat(replies).hasSize(1);
            assertThat(replies.get(0).requestId()).isEqualTo(heartbeat.requestId());
            assertThat(replies.get(0).status()).isEqualTo(Status.OK);
            await("every reservation returned", () -> server.gateway.bufferedFrameBytes() == 0);
        }
    }

    /**
     * A frame put off while its client does not read its replies holds only about the memory it
     * reserved. The decoder passes frames on as slices of its read buffer, so a small frame read
     * together with the end of a large one kept that whole buffer (the large frame's size) alive
     * while it was put off, once the large frame was done and its reservation returned: the budget
     * counted a few bytes for about a megabyte here, and clients doing this on many connections held
     * many times the budget. The large SEND's tail, FETCHes whose replies the client does not read
     * (they fill the socket buffers, so the connection stays unwritable) and a HEARTBEAT arrive in
     * one write, so in one read; the frames behind the replies that do not fit are put off.
     */
    @ParameterizedTest(name = "native transport: {0}")
    @ValueSource(booleans = {true, false})
    void framesPutOffHoldNoMoreMemoryThanTheyReserved(boolean nativeTransport) throws Exception {
        String topic = "put-off";
        int fetches = 64;
        try (TestServer server = start(4L * MAX_FRAME,
                gw -> gw.writeWaterMarks(1 << 10, 2 << 10).nativeTransport(nativeTransport));
             TestClient writer = server.connect("binary");
             TestClient c = server.connect("binary")) {
            assertThat(writer.createTopic(topic, 1).status()).isEqualTo(Status.OK);
            assertThat(writer.send(TestClient.message(topic, 0, new byte[400 << 10])).status()).isEqualTo(Status.OK);

            byte[] big = TestClient.bytes(c.codec.encodeFrame(c.sendRequest(TestClient.message(topic, 0, new byte[600 << 10]))));
            int head = big.length - 64;
            c.writeRaw(Arrays.copyOf(big, head));
            await("the large frame's head read", () -> server.gateway.frameBytesHeldInDecoders() == head);

            java.io.ByteArrayOutputStream rest = new java.io.ByteArrayOutputStream();
            rest.write(big, head, big.length - head);
            for (int i = 0; i < fetches; i++) {
                rest.write(TestClient.bytes(c.codec.encodeFrame(c.fetchRequest(topic, 0, 0, 1, 0))));
            }
            Command heartbeat = c.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build();
            rest.write(TestClient.bytes(c.codec.encodeFrame(heartbeat)));
            c.writeRaw(rest.toByteArray());

            await("frames put off", () -> server.gateway.deferredFrameMemory()[0] > 0);
            long[] putOff = server.gateway.deferredFrameMemory();
            assertThat(putOff[1]).as("memory kept by the frames put off, which reserved %d bytes", putOff[0])
                    .isLessThanOrEqualTo(2 * putOff[0]);

            assertThat(c.read().status()).as("the SEND").isEqualTo(Status.OK);
            for (int i = 0; i < fetches; i++) {
                assertThat(c.read().status()).as("FETCH %d", i).isEqualTo(Status.OK);
            }
            assertAnswered(c, heartbeat);
            await("every reservation returned", () -> server.gateway.bufferedFrameBytes() == 0);
        }
    }

    /**
     * A frame begun behind a large one holds about its own size, not the large one's read buffer.
     * The decoder gathers a frame's bytes in one buffer grown to the frame's size; the bytes of
     * the next frame that came with the large one's end stayed in that buffer, which was kept (its
     * read bytes discarded, its capacity not) for as long as the next frame took, up to four frame
     * timeouts: a few bytes reserved, a frame limit's worth held. One connection after another can
     * do that with the budget free again each time, so together they held many times the budget.
     */
    @ParameterizedTest(name = "native transport: {0}")
    @ValueSource(booleans = {true, false})
    void aFrameBegunBehindALargeOneHoldsNoMoreThanAboutItsSize(boolean nativeTransport) throws Exception {
        String topic = "behind-large";
        try (TestServer server = start(BUDGET, gw -> gw.nativeTransport(nativeTransport));
             TestClient c = server.connect("binary")) {
            assertThat(c.createTopic(topic, 1).status()).isEqualTo(Status.OK);
            byte[] big = TestClient.bytes(c.codec.encodeFrame(c.sendRequest(TestClient.message(topic, 0, new byte[600 << 10]))));
            int head = big.length - 64;
            c.writeRaw(Arrays.copyOf(big, head));
            await("the large frame's head read", () -> server.gateway.frameBytesHeldInDecoders() == head);

            Command heartbeat = c.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build();
            byte[] next = TestClient.bytes(c.codec.encodeFrame(heartbeat));
            byte[] rest = Arrays.copyOfRange(big, head, big.length + 10);
            System.arraycopy(next, 0, rest, big.length - head, 10);
            c.writeRaw(rest); // the large frame's end and the next frame's first 10 bytes, in one read
            assertThat(c.read().status()).as("the SEND").isEqualTo(Status.OK);
            await("the next frame's head read", () -> server.gateway.frameBytesHeldInDecoders() == 10);

            long[] held = server.gateway.frameDecoderMemory();
            assertThat(held[0]).as("reserved for the next frame").isEqualTo(next.length - 4);
            assertThat(held[1]).as("memory held for the next frame, which reserved %d bytes", held[0])
                    .isLessThanOrEqualTo(ONE_READ);

            c.writeRaw(Arrays.copyOfRange(next, 10, next.length));
            assertAnswered(c, heartbeat);
            await("every reservation returned", () -> server.gateway.bufferedFrameBytes() == 0);
        }
    }

    /**
     * A client that shuts its output while waiting for memory, half-way through its frame, is told
     * why once it is granted (the frame will never be whole), as it is without a budget.
     */
    @ParameterizedTest(name = "native transport: {0}")
    @ValueSource(booleans = {true, false})
    void aClientThatShutsItsOutputMidFrameWhileWaitingIsToldTheFrameIsIncomplete(boolean nativeTransport) throws Exception {
        try (TestServer server = start(BUDGET, gw -> gw.nativeTransport(nativeTransport));
             TestClient holder = server.connect("binary");
             TestClient small = server.connect("binary")) {
            byte[] big = takeTheBudget(server, holder);
            byte[] heartbeat = TestClient.bytes(small.codec.encodeFrame(small.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build()));
            small.writeRaw(Arrays.copyOf(heartbeat, heartbeat.length - 1));
            small.socket.shutdownOutput();
            await("the small frame waiting", () -> server.gateway.connectionsWaitingForFrameMemory() == 1);
            holder.writeRaw(Arrays.copyOfRange(big, 1024, big.length));
            assertThat(holder.read().status()).isEqualTo(Status.OK);
            Command error = small.closingAnswer(Status.BAD_REQUEST);
            assertThat(error.message()).startsWith("frame incomplete: " + (heartbeat.length - 1) + " bytes received");
            await("every reservation returned", () -> server.gateway.bufferedFrameBytes() == 0);
        }
    }

    /**
     * Every way a connection's frames end returns their memory: a frame over the limit, a frame
     * the codec cannot read behind one it can, a frame not complete within the frame timeout, and
     * frames put off (the client does not read its replies) when the client goes away.
     */
    @ParameterizedTest(name = "native transport: {0}")
    @ValueSource(booleans = {true, false})
    void everyWayAConnectionsFramesEndReturnsTheirMemory(boolean nativeTransport) throws Exception {
        String topic = "ends";
        try (TestServer server = start(BUDGET,
                gw -> gw.frameTimeoutMs(300).writeWaterMarks(1 << 10, 2 << 10).nativeTransport(nativeTransport))) {
            try (TestClient c = server.connect("binary")) {
                c.writeRaw(new byte[] {0, (byte) 0x10, 0, 1}); // MAX_FRAME + 1
                c.closingAnswer(Status.FRAME_TOO_LARGE);
            }
            try (TestClient c = server.connect("binary")) {
                Command heartbeat = c.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build();
                java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream();
                frames.write(TestClient.bytes(c.codec.encodeFrame(heartbeat)));
                frames.write(new byte[] {0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); // no command
                frames.write(TestClient.bytes(c.codec.encodeFrame(c.request(dev.ferry.protocol.RequestCode.HEARTBEAT).build())));
                c.writeRaw(frames.toByteArray());
                assertThat(c.read().requestId()).isEqualTo(heartbeat.requestId());
                c.closingAnswer(Status.BAD_REQUEST);
            }
            try (TestClient c = server.connect("binary")) {
                c.writeRaw(new byte[] {0, 0, 1, 0, 1, 2, 3}); // 256 bytes announced, 3 sent
                assertThat(c.closingAnswer(Status.BAD_REQUEST).message()).startsWith("frame incomplete");
            }
            await("the memory of the refused and abandoned frames returned", () -> server.gateway.bufferedFrameBytes() == 0);

            try (TestClient writer = server.connect("binary")) {
                assertThat(writer.createTopic(topic, 1).status()).isEqualTo(Status.OK);
                assertThat(writer.send(TestClient.message(topic, 0, new byte[400 << 10])).status()).isEqualTo(Status.OK);
            }
            TestClient c = server.connect("binary");
            java.io.ByteArrayOutputStream fetches = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < 64; i++) {
                fetches.write(TestClient.bytes(c.codec.encodeFrame(c.fetchRequest(topic, 0, 0, 1, 0))));
            }
            c.writeRaw(fetches.toByteArray());
            await("frames put off", () -> server.gateway.deferredFrameMemory()[0] > 0);
            c.socket.setSoLinger(true, 0); // gone without reading: a reset
            c.close();
            await("the memory of the frames put off returned", () -> server.gateway.bufferedFrameBytes() == 0);
        }
    }

    @Test
    void aBudgetBelowOneFrameIsRefused() {
        Limits limits = Limits.builder().maxFrameBytes(MAX_FRAME).build();
        assertThatThrownBy(() -> GatewayConfig.builder().limits(limits).maxBufferedFrameBytes(MAX_FRAME - 1).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("maxBufferedFrameBytes: " + (MAX_FRAME - 1) + " (expected: at least the frame limit, " + MAX_FRAME);
        assertThat(GatewayConfig.builder().build().maxBufferedFrameBytes()).isEqualTo(GatewayConfig.DEFAULT_MAX_BUFFERED_FRAME_BYTES);
        int huge = 512 << 20;
        assertThat(GatewayConfig.builder().limits(Limits.builder().maxFrameBytes(huge).build()).build().maxBufferedFrameBytes())
                .as("the default follows a frame limit above it").isEqualTo(huge);
    }

    /** A SEND frame whose payload is exactly the frame limit (and the budget). */
    private static byte[] maximumFrame(TestClient c) {
        int overhead = c.codec.encodeFrame(c.sendRequest(TestClient.message(TOPIC, 0, new byte[BODY]))).remaining() - 4 - BODY;
        byte[] frame = TestClient.bytes(c.codec.encodeFrame(c.sendRequest(TestClient.message(TOPIC, 0, new byte[MAX_FRAME - overhead]))));
        assertThat(frame.length - 4).isEqualTo(MAX_FRAME);
        return frame;
    }

    /**
     * {@code holder} sends the first KiB of a {@link #maximumFrame}, which reserves the whole budget;
     * returns the frame, whose rest the caller sends to give the memory back.
     */
    private static byte[] takeTheBudget(TestServer server, TestClient holder) throws java.io.IOException {
        byte[] big = maximumFrame(holder);
        holder.writeRaw(Arrays.copyOf(big, 1024));
        await("the big frame reserved", () -> server.gateway.bufferedFrameBytes() == BUDGET);
        return big;
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) {
        TestServer.await(what, Duration.ofSeconds(20), condition);
    }

    /** The next reply {@code c} reads answers {@code request}, with OK. */
    private static void assertAnswered(TestClient c, Command request) throws java.io.IOException {
        Command reply = c.read();
        assertThat(reply.requestId()).isEqualTo(request.requestId());
        assertThat(reply.status()).isEqualTo(Status.OK);
    }
}
