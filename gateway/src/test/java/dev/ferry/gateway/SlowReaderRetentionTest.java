package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.StoredMessage;
import dev.ferry.log.StoredRecords;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.binary.BinaryCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer that reads slowly while retention deletes the segments its fetches are answered
 * from. Binary fetches go out by sendfile; the answers queue up behind each other on the
 * connection, and retention deletes their segment files before their turn comes. Every answer
 * must still arrive whole: the records were read before they were deleted. Before, epoll's file
 * regions opened their file only when their turn came, found it deleted, and the connection
 * closed in the middle of a frame.
 */
class SlowReaderRetentionTest {
    private static final int SEGMENT = 4 << 20;
    private static final int BODY = 3 << 20;

    @TempDir
    Path dir;

    @Test
    void answersQueuedBehindOthersArriveWholeAfterRetentionDeletedTheirSegments() throws Exception {
        // a write high-water mark above the four answers: all are read and queued before retention runs. Under the
        // default (4 MiB) the connection stops carrying out requests behind two of them, and those, read after the
        // deletion, are answered OFFSET_OUT_OF_RANGE: what this test is after is answers queued before it
        try (TestServer server = TestServer.start(dir, log -> log.segmentBytes(SEGMENT).retentionMs(1).retentionCheckIntervalMs(3_600_000),
                gw -> gw.writeWaterMarks(32 << 20, 64 << 20))) {
            List<byte[]> bodies = new ArrayList<>();
            try (TestClient c = server.connect("binary")) {
                c.createTopic("slow", 1);
                for (int i = 0; i < 4; i++) { // one 3 MiB record per 4 MiB segment: segments 0-2 closed, 3 active
                    byte[] body = new byte[BODY];
                    Arrays.fill(body, (byte) ('a' + i));
                    bodies.add(body);
                    assertThat(c.send(TestClient.message("slow", 0, body)).status()).isEqualTo(Status.OK);
                }
            }
            Socket s = new Socket();
            s.setReceiveBufferSize(4096); // the kernel takes what it likes above its minimum: far less than 12 MiB
            s.setSoTimeout(30_000);
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            assertThat(TestClient.handshake(s, Hello.of("binary")).accepted()).isTrue();
            try (TestClient c = TestClient.wrap(s, "binary")) {
                for (long offset = 0; offset < 4; offset++) { // four answers of 3 MiB, far more than the socket buffers hold
                    c.writeNoFlush(c.request(RequestCode.FETCH).header(Headers.TOPIC, "slow").header(Headers.QUEUE_ID, 0)
                            .header(Headers.OFFSET, offset).header(Headers.MAX_MESSAGES, 1).header(Headers.MAX_BYTES, BODY).build());
                }
                c.flush();
                Thread.sleep(500); // the broker has read them all, written what the buffers take, queued the rest
                Thread.sleep(5); // every closed segment's records are older than retention.ms (1)
                assertThat(server.broker.store().runRetention()).as("segments deleted").isEqualTo(3);

                for (int offset = 0; offset < 4; offset++) {
                    byte[] payload = c.readPayload();
                    Command r = new BinaryCodec().decode(ByteBuffer.wrap(payload), Limits.DEFAULT);
                    assertThat(r.status()).as("answer %d: %s", offset, r.message()).isEqualTo(Status.OK);
                    List<StoredMessage> records = StoredRecords.decode(r.body());
                    assertThat(records).hasSize(1);
                    assertThat(records.get(0).queueOffset()).isEqualTo(offset);
                    assertThat(records.get(0).body()).as("body of offset %d", offset).isEqualTo(bodies.get(offset));
                }
            }
        }
    }
}
