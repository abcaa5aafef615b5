package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.StoredMessage;
import dev.ferry.log.StoredRecords;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.binary.BinaryCodec;
import dev.ferry.protocol.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A binary-codec FETCH response carries the stored records verbatim in its body, and the bytes on
 * the wire are the same whether they go out by sendfile (epoll's DefaultFileRegion, or NIO's
 * {@link SegmentFileRegion}) or copied through buffers ({@code zeroCopy=false}). Three gateways
 * serve one broker whose small segments make a fetch span several files and several regions.
 */
class BinaryFetchTest {
    private static final String TOPIC = "verbatim";
    private static final int COUNT = 240;

    @TempDir
    static Path dir;
    static TestServer server;
    static Gateway copying;
    static Gateway nio;
    static List<byte[]> bodies = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        server = TestServer.start(dir, log -> log.segmentBytes(64 << 10), gw -> gw);
        copying = Gateway.start(server.broker, GatewayConfig.builder().host("127.0.0.1").port(0).zeroCopy(false).build());
        nio = Gateway.start(server.broker, GatewayConfig.builder().host("127.0.0.1").port(0).nativeTransport(false).build());
        Random random = new Random(20240611);
        try (TestClient c = server.connect("binary")) {
            c.createTopic(TOPIC, 2);
            for (int i = 0; i < COUNT; i++) {
                byte[] body = new byte[100 + random.nextInt(3000)];
                random.nextBytes(body);
                bodies.add(body);
                Command r = c.send(TestClient.message(TOPIC, i % 2, body)); // interleaved queues: queue 0's records are not adjacent
                assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
            }
        }
    }

    @AfterAll
    static void stop() {
        copying.close();
        nio.close();
        server.close();
    }

    private static byte[] fetchRaw(int port, long offset, int maxMessages, int maxBytes) throws IOException {
        try (TestClient c = TestClient.connect(port, "binary")) {
            Command req = c.request(RequestCode.FETCH).header(Headers.TOPIC, TOPIC).header(Headers.QUEUE_ID, 0)
                    .header(Headers.OFFSET, offset).header(Headers.MAX_MESSAGES, maxMessages).header(Headers.MAX_BYTES, maxBytes).build();
            c.write(req);
            return c.readPayload();
        }
    }

    @Test
    void bodyHoldsStoredRecordsVerbatimAndEveryTransportSendsTheSameBytes() throws Exception {
        assertThat(nio.transport()).isEqualTo("nio");
        assertThat(server.gateway.transport()).as("native transport where it loads")
                .isEqualTo(io.netty.channel.epoll.Epoll.isAvailable() ? "epoll" : "nio");
        System.out.println("BinaryFetchTest: default gateway transport " + server.gateway.transport());
        byte[] zeroCopy = fetchRaw(server.port(), 0, 1000, 1 << 20);
        byte[] copied = fetchRaw(copying.port(), 0, 1000, 1 << 20);
        byte[] viaNio = fetchRaw(nio.port(), 0, 1000, 1 << 20);
        assertThat(copied).as("zeroCopy=false vs " + server.gateway.transport() + " sendfile").isEqualTo(zeroCopy);
        assertThat(viaNio).as("NIO transferTo vs " + server.gateway.transport() + " sendfile").isEqualTo(zeroCopy);

        Command response = new BinaryCodec().decode(ByteBuffer.wrap(zeroCopy), Limits.DEFAULT);
        assertThat(response.status()).isEqualTo(Status.OK);
        assertThat(response.messages()).isEmpty();
        assertThat(response.headers()).containsEntry(Headers.NEXT_OFFSET, String.valueOf(COUNT / 2))
                .containsEntry(Headers.MAX_OFFSET, String.valueOf(COUNT / 2));
        List<StoredMessage> records = StoredRecords.decode(response.body());
        assertThat(records).hasSize(COUNT / 2);
        long segments = records.stream().mapToLong(m -> m.physicalOffset() / (64 << 10)).distinct().count();
        assertThat(segments).as("the fetch spans several segment files").isGreaterThan(3);
        for (int i = 0; i < records.size(); i++) {
            StoredMessage m = records.get(i);
            assertThat(m.queueOffset()).isEqualTo(i);
            assertThat(m.queueId()).isZero();
            assertThat(m.body()).as("body of offset %d", i).isEqualTo(bodies.get(2 * i));
        }
        assertThat(server.broker.store().readMessages(TOPIC, 0, 0, COUNT)).extracting(StoredMessage::messageId)
                .containsExactlyElementsOf(records.stream().map(StoredMessage::messageId).toList());
    }

    @Test
    void partialFetchesAgreeAcrossTransportsToo() throws Exception {
        for (long offset : new long[] {0, 7, 63, 119}) {
            byte[] zeroCopy = fetchRaw(server.port(), offset, 5, 4000);
            assertThat(fetchRaw(copying.port(), offset, 5, 4000)).isEqualTo(zeroCopy);
            assertThat(fetchRaw(nio.port(), offset, 5, 4000)).isEqualTo(zeroCopy);
            List<StoredMessage> records = StoredRecords.decode(new BinaryCodec().decode(ByteBuffer.wrap(zeroCopy), Limits.DEFAULT).body());
            assertThat(records).as("maxBytes 4000 still returns at least one").isNotEmpty().hasSizeLessThanOrEqualTo(5);
            assertThat(records.get(0).queueOffset()).isEqualTo(offset);
            assertThat(records.get(0).body()).isEqualTo(bodies.get((int) (2 * offset)));
        }
        byte[] empty = fetchRaw(server.port(), COUNT / 2, 5, 4000);
        assertThat(new BinaryCodec().decode(ByteBuffer.wrap(empty), Limits.DEFAULT).bodyLength()).isZero();
        assertThat(fetchRaw(nio.port(), COUNT / 2, 5, 4000)).isEqualTo(empty);
    }
}
