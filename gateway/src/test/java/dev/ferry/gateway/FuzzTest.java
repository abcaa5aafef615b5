package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.BrokerConfig;
import dev.ferry.log.StoredMessage;
import dev.ferry.log.StoredRecords;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile input against a live gateway: garbage instead of a hello, garbage frames, truncated
 * frames, oversized length prefixes and mutated valid frames of every codec, while a healthy
 * connection keeps producing and fetching. Seeded (the seed is in the failure message) and bounded
 * in time. Afterwards the server still accepts connections, every acknowledged message reads back
 * byte for byte, and the heap has not grown without bound.
 */
class FuzzTest {
    private static final long SEED = Long.getLong("ferry.fuzz.seed", 0x5EEDF00DL);
    private static final long FUZZ_MILLIS = 9_000;
    /** How long hostile connections wait for answers that may not come (a quiet spell ends the read). */
    private static final int FUZZ_READ_TIMEOUT_MS = 150;
    private static final int HANDSHAKE_TIMEOUT_MS = 10_000;

    @TempDir
    Path dir;

    private static TestServer start(Path dir) {
        // small offset-index files (mutated sends create topics) and short long polls (mutated fetches park)
        return TestServer.start(dir, log -> log.indexEntriesPerFile(1024),
                log -> new BrokerConfig(log, 4, true, 500, 1_000), gw -> gw);
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void oversizedLengthPrefixesAreAnsweredFrameTooLargeWithIdZeroThenClosed(String codec) throws IOException {
        try (TestServer server = start(dir)) {
            for (int length : new int[] {0x7FFFFFFF, Limits.DEFAULT.maxFrameBytes() + 1, 0xFFFFFFFF}) {
                try (TestClient c = server.connect(codec)) {
                    c.writeRaw(ByteBuffer.allocate(8).putInt(length).putInt(0x01020304).array());
                    Command r = c.read();
                    assertThat(r.status()).as("length 0x%08x", length).isEqualTo(Status.FRAME_TOO_LARGE);
                    assertThat(r.requestId()).isZero();
                    assertThat(r.message()).contains("frame");
                    assertThat(c.closedByPeer()).as("closed: the stream cannot be resynchronised").isTrue();
                }
            }
        }
    }

    /**
     * A frame that cannot be decoded closes the connection; a SEND that arrived behind it, in the
     * same read, is not carried out. Before, it was stored without an answer: a client that saw
     * the connection close and sent it again stored it twice.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void framesBehindAnUndecodableOneAreNotCarriedOut(String codec) throws IOException {
        try (TestServer server = start(dir); TestClient c = server.connect(codec)) {
            assertThat(c.createTopic("behind", 1).status()).isEqualTo(Status.OK);
            byte[] bad = ByteBuffer.allocate(8).putInt(4).putInt(0xFFFFFFFF).array();
            byte[] send = TestClient.bytes(c.codec.encodeFrame(c.sendRequest(TestClient.message("behind", 0, new byte[] {1}))));
            byte[] both = Arrays.copyOf(bad, bad.length + send.length);
            System.arraycopy(send, 0, both, bad.length, send.length);
            c.writeRaw(both);
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.requestId()).isZero();
            try (TestClient other = server.connect(codec)) {
                assertThat(TestClient.fetched(other.fetch("behind", 0, 0, 10))).as("the SEND behind the bad frame").isEmpty();
            }
        }
    }

    /**
     * A SEND read in the same go as an over-limit frame length is stored and answered before the
     * FRAME_TOO_LARGE that closes the connection: its client must not take it for lost and send it
     * again. Under SYNC flush its answer comes after the flush, and the close waits for it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ASYNC", "SYNC"})
    void aSendBeforeAnOversizedFrameIsAnsweredBeforeTheClose(String flush) throws IOException {
        try (TestServer server = TestServer.start(dir, log -> log.flushMode(dev.ferry.log.FlushMode.valueOf(flush)), gw -> gw);
             TestClient c = server.connect("binary")) {
            assertThat(c.createTopic("before", 1).status()).isEqualTo(Status.OK);
            Command send = c.sendRequest(TestClient.message("before", 0, new byte[] {1}));
            byte[] frame = TestClient.bytes(c.codec.encodeFrame(send));
            byte[] both = Arrays.copyOf(frame, frame.length + 4);
            ByteBuffer.wrap(both, frame.length, 4).putInt(0x7FFFFFFF);
            c.writeRaw(both);
            List<Command> replies = c.readUntilEof();
            assertThat(replies).extracting(Command::requestId, Command::status)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(send.requestId(), Status.OK),
                            org.assertj.core.groups.Tuple.tuple(0, Status.FRAME_TOO_LARGE));
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("before", 0, 0, 10))).as("the SEND, stored once").hasSize(1);
            }
        }
    }

    /** A frame over a count limit is answered LIMIT_EXCEEDED (not BAD_REQUEST: it is well formed), then closed. */
    @Test
    void aFrameOverACountLimitIsAnsweredLimitExceeded() throws IOException {
        try (TestServer server = start(dir); TestClient c = server.connect("json")) {
            StringBuilder json = new StringBuilder("{\"kind\":\"REQUEST\",\"code\":\"HEARTBEAT\",\"requestId\":1,\"headers\":{");
            for (int i = 0; i <= Limits.DEFAULT.maxHeaders(); i++) {
                json.append(i == 0 ? "" : ",").append("\"h").append(i).append("\":\"v\"");
            }
            byte[] payload = json.append("}}").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            c.writeRaw(ByteBuffer.allocate(4 + payload.length).putInt(payload.length).put(payload).array());
            assertThat(c.closingAnswer(Status.LIMIT_EXCEEDED).message()).contains("headers: count 65");
        }
    }

    @Test
    void hostileConnectionsDoNotHurtAHealthyOneNorTheStore() throws Exception {
        try (TestServer server = start(dir)) {
            Runtime rt = Runtime.getRuntime();
            System.gc();
            long heapBefore = rt.totalMemory() - rt.freeMemory();

            Healthy healthy = new Healthy(server.port(), new Random(SEED));
            CompletableFuture<Void> healthyRun = CompletableFuture.runAsync(healthy);
            Random random = new Random(SEED);
            int[] cases = new int[5];
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FUZZ_MILLIS);
            try {
                while (System.nanoTime() < deadline && !healthyRun.isDone()) {
                    int kind = random.nextInt(cases.length);
                    cases[kind]++;
                    try (Socket s = TestClient.open(server.port())) {
                        s.setSoTimeout(FUZZ_READ_TIMEOUT_MS);
                        switch (kind) {
                            case 0 -> garbageHello(s, random);
                            case 1 -> garbageFrames(s, random);
                            case 2 -> truncatedFrame(s, random);
                            case 3 -> oversizedPrefix(s, random);
                            default -> mutatedFrames(s, random);
                        }
                    }
                }
            } catch (AssertionError | IOException e) {
                throw new AssertionError("seed " + SEED + ", cases " + Arrays.toString(cases) + ": " + e.getMessage(), e);
            }
            healthy.stop.set(true);
            healthyRun.get(20, TimeUnit.SECONDS); // rethrows the healthy connection's failure, if any
            System.out.printf("fuzz seed %d: cases (hello, frames, truncated, oversized, mutated) %s; healthy acks %d%n",
                    SEED, Arrays.toString(cases), healthy.acked.size());
            assertThat(healthy.acked).as("the healthy connection kept working").hasSizeGreaterThan(50);
            assertThat(Arrays.stream(cases).min().orElse(0)).as("every kind of hostile input ran; cases %s", Arrays.toString(cases))
                    .isGreaterThan(3);

            // the server still accepts and serves new connections
            for (String codec : TestClient.CODEC_NAMES) {
                try (TestClient c = server.connect(codec)) {
                    assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
                }
            }
            // every acknowledged message is stored undamaged, at the offset it was acknowledged with
            for (Map.Entry<String, byte[]> e : healthy.acked.entrySet()) {
                String[] at = e.getKey().split("/");
                List<StoredMessage> m = server.broker.store().readMessages(Healthy.TOPIC, Integer.parseInt(at[0]), Long.parseLong(at[1]), 1);
                assertThat(m).as("message at %s", e.getKey()).hasSize(1);
                assertThat(m.get(0).body()).as("bytes at %s", e.getKey()).isEqualTo(e.getValue());
            }
            healthy.acked.clear(); // the test's own copies are not the server's heap

            System.gc();
            long heapAfter = rt.totalMemory() - rt.freeMemory();
            assertThat(heapAfter).as("used heap after GC: before %d MB, after %d MB", heapBefore >> 20, heapAfter >> 20)
                    .isLessThan(heapBefore + (256L << 20));
        }
    }

    /** Produces and fetches on its own connection until stopped; fails on any wrong answer. */
    private static final class Healthy implements Runnable {
        static final String TOPIC = "healthy";
        final int port;
        final Random random;
        final AtomicBoolean stop = new AtomicBoolean();
        final Map<String, byte[]> acked = new ConcurrentHashMap<>();
        final long[] fetchedUpTo = new long[4];

        Healthy(int port, Random random) {
            this.port = port;
            this.random = random;
        }

        @Override
        public void run() {
            try (TestClient c = TestClient.connect(port, "binary")) {
                assertThat(c.createTopic(TOPIC, 4).status()).isEqualTo(Status.OK);
                int n = 0;
                while (!stop.get()) {
                    int queue = random.nextInt(4);
                    byte[] body = new byte[1 + random.nextInt(2000)];
                    random.nextBytes(body);
                    Command r = c.send(TestClient.message(TOPIC, queue, body));
                    assertThat(r.status()).as("healthy send: %s", r.message()).isEqualTo(Status.OK);
                    acked.put(queue + "/" + r.header(Headers.QUEUE_OFFSET), body);
                    if (++n % 8 == 0) {
                        fetchAndCheck(c, random.nextInt(4));
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        private void fetchAndCheck(TestClient c, int queue) throws IOException {
            Command r = c.fetch(TOPIC, queue, fetchedUpTo[queue], 64);
            assertThat(r.status()).as("healthy fetch: %s", r.message()).isEqualTo(Status.OK);
            for (StoredMessage m : StoredRecords.decode(r.body())) {
                assertThat(m.body()).as("healthy fetch of %d/%d", queue, m.queueOffset())
                        .isEqualTo(acked.get(queue + "/" + m.queueOffset()));
            }
            fetchedUpTo[queue] = Long.parseLong(r.header(Headers.NEXT_OFFSET));
        }
    }

    // ---- hostile inputs ----

    private static void garbageHello(Socket s, Random random) throws IOException {
        byte[] junk = new byte[1 + random.nextInt(600)];
        random.nextBytes(junk);
        if (junk[0] == 'F') {
            junk[0] = 'G';
        }
        write(s, junk);
        assertThat(drain(s, 5_000).closed).as("a connection that does not start with FRRY is closed").isTrue();
    }

    private static Codec handshake(Socket s, Random random) throws IOException {
        String name = TestClient.CODEC_NAMES.get(random.nextInt(TestClient.CODEC_NAMES.size()));
        // a healthy reply is owed here, however loaded the machine: wait for it as long as a client would
        s.setSoTimeout(HANDSHAKE_TIMEOUT_MS);
        HelloReply reply = TestClient.handshake(s, Hello.of(name));
        s.setSoTimeout(FUZZ_READ_TIMEOUT_MS);
        assertThat(reply.accepted()).isTrue();
        return TestClient.CODECS.get(name);
    }

    private static void garbageFrames(Socket s, Random random) throws IOException {
        Codec codec = handshake(s, random);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1 + random.nextInt(4); i > 0; i--) {
            byte[] payload = new byte[random.nextInt(300)];
            random.nextBytes(payload);
            out.writeBytes(ByteBuffer.allocate(4).putInt(payload.length).array());
            out.writeBytes(payload);
        }
        write(s, out.toByteArray());
        finish(s, codec, random);
    }

    private static void truncatedFrame(Socket s, Random random) throws IOException {
        Codec codec = handshake(s, random);
        byte[] frame = TestClient.bytes(codec.encodeFrame(template(random)));
        write(s, Arrays.copyOf(frame, random.nextInt(frame.length)));
        // and close at once, mid-frame
    }

    private static void oversizedPrefix(Socket s, Random random) throws IOException {
        Codec codec = handshake(s, random);
        int[] lengths = {0x7FFFFFFF, Limits.DEFAULT.maxFrameBytes() + 1, -1, Limits.DEFAULT.maxFrameBytes() + 1 + random.nextInt(1 << 20)};
        write(s, ByteBuffer.allocate(4).putInt(lengths[random.nextInt(lengths.length)]).array());
        Drained d = drain(s, 2_000);
        List<Command> answers = frames(d.bytes, codec);
        assertThat(answers).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.FRAME_TOO_LARGE);
            assertThat(r.requestId()).isZero();
        });
        assertThat(d.closed).isTrue();
    }

    private static void mutatedFrames(Socket s, Random random) throws IOException {
        Codec codec = handshake(s, random);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1 + random.nextInt(3); i > 0; i--) {
            byte[] payload = TestClient.bytes(codec.encode(template(random)));
            byte[] mutated = mutate(payload, random);
            int length = random.nextInt(10) == 0 ? payload.length : mutated.length; // now and then a stale prefix
            out.writeBytes(ByteBuffer.allocate(4).putInt(length).array());
            out.writeBytes(mutated);
        }
        write(s, out.toByteArray());
        finish(s, codec, random);
    }

    /** Either half-closes and reads until the server closes, or waits briefly for answers and closes itself. */
    private static void finish(Socket s, Codec codec, Random random) throws IOException {
        if (random.nextBoolean()) {
            s.shutdownOutput();
        }
        Drained d = drain(s);
        for (Command r : frames(d.bytes, codec)) {
            assertThat(r.status()).as("answer to hostile input: %s", r.message()).isNotEqualTo(Status.INTERNAL_ERROR);
        }
    }

    private static final AtomicInteger TOPICS = new AtomicInteger();

    /** A valid request of a random code, aimed at the fuzzer's own topics. */
    private static Command template(Random random) {
        String topic = "fz-" + (TOPICS.incrementAndGet() % 16);
        int id = random.nextInt();
        Message m = Message.builder(topic).queueId(random.nextInt(3) - 1).keys(List.of("k" + random.nextInt(9))).tags("t")
                .properties(Map.of("p", "v")).body(new byte[random.nextInt(64)]).build();
        return switch (random.nextInt(9)) {
            case 0 -> Command.request(RequestCode.SEND, id).messages(List.of(m)).build();
            case 1 -> Command.request(RequestCode.SEND_BATCH, id).messages(List.of(m, m)).build();
            case 2 -> Command.request(RequestCode.FETCH, id).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.OFFSET, 0).header(Headers.MAX_WAIT_MS, random.nextInt(300)).build();
            case 3 -> Command.request(RequestCode.CREATE_TOPIC, id).header(Headers.TOPIC, topic).header(Headers.QUEUES, 2).build();
            case 4 -> Command.request(RequestCode.GET_OFFSET, id).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.GROUP, "g").build();
            case 5 -> Command.request(RequestCode.COMMIT_OFFSET, id).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, 0)
                    .header(Headers.GROUP, "g").header(Headers.OFFSET, 0).build();
            case 6 -> Command.request(RequestCode.QUERY_MESSAGE, id).header(Headers.TOPIC, topic).header(Headers.KEY, "k1").build();
            case 7 -> Command.request(RequestCode.LIST_TOPICS, id).header(Headers.PREFIX, "fz").build();
            default -> Command.request(RequestCode.HEARTBEAT, id).header(Headers.CLIENT_ID, "fuzz").build();
        };
    }

    private static byte[] mutate(byte[] payload, Random random) {
        byte[] b = payload.clone();
        switch (random.nextInt(4)) {
            case 0 -> { // flip bytes
                for (int i = 1 + random.nextInt(4); i > 0 && b.length > 0; i--) {
                    b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
                }
            }
            case 1 -> b = Arrays.copyOf(b, random.nextInt(b.length + 1)); // cut
            case 2 -> { // insert junk
                int at = random.nextInt(b.length + 1);
                byte[] junk = new byte[1 + random.nextInt(16)];
                random.nextBytes(junk);
                byte[] c = new byte[b.length + junk.length];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(junk, 0, c, at, junk.length);
                System.arraycopy(b, at, c, at + junk.length, b.length - at);
                b = c;
            }
            default -> { // set a length-looking spot to a big number
                if (b.length >= 4) {
                    ByteBuffer.wrap(b).putInt(random.nextInt(b.length - 3), random.nextBoolean() ? Integer.MAX_VALUE : -1);
                }
            }
        }
        return b;
    }

    private static void write(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        try {
            out.write(bytes);
            out.flush();
        } catch (SocketException e) {
            // the server may close while we write: that is an allowed answer
        }
    }

    private record Drained(byte[] bytes, boolean closed) {}

    private static Drained drain(Socket s) throws IOException {
        return drain(s, FUZZ_READ_TIMEOUT_MS);
    }

    /** Reads until EOF, reset or a quiet spell of {@code quietMs}. */
    private static Drained drain(Socket s, int quietMs) throws IOException {
        s.setSoTimeout(quietMs);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                got.write(buf, 0, n);
            }
            return new Drained(got.toByteArray(), true);
        } catch (SocketTimeoutException e) {
            return new Drained(got.toByteArray(), false);
        } catch (SocketException e) {
            return new Drained(got.toByteArray(), true);
        }
    }

    /** The whole frames in {@code bytes}, decoded; a cut last frame is ignored. */
    private static List<Command> frames(byte[] bytes, Codec codec) {
        List<Command> out = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            for (ByteBuffer p; (p = Frames.next(in, Limits.DEFAULT)) != null; ) {
                out.add(codec.decode(p, Limits.DEFAULT));
            }
        } catch (CodecException e) {
            throw new AssertionError("server sent an undecodable " + codec.name() + " frame: " + e.getMessage(), e);
        }
        return out;
    }
}
