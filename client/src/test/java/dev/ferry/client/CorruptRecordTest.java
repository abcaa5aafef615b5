package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.MessageIds;
import dev.ferry.log.StoredMessage;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stored record damaged on disk (one byte of its body changed behind the broker's back, so it
 * fails its CRC32C when the consumer checks it): a consumer hands out the records before it,
 * then reports the bad one with its offset at every poll, without skipping it, until the
 * application seeks past it; then it reads on. Before, the consumer moved past the whole fetch
 * silently (and a Subscription's thread died). A broadcasting group member skips the bad record
 * alone.
 */
class CorruptRecordTest {
    @TempDir
    Path dir;

    /** Sends m0..m9 to queue 0 of a new topic "damaged" and damages the record at offset 5 on disk. */
    private void sendTenAndDamageOffsetFive(BrokerFixture server, FerryClient client) throws Exception {
        client.createTopic("damaged", 1);
        List<SendResult> sent = new ArrayList<>();
        try (Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).build())) {
            for (int i = 0; i < 10; i++) {
                sent.add(producer.send(Message.builder("damaged").queueId(0).body(("m" + i).getBytes(StandardCharsets.UTF_8)).build()));
            }
        }
        long physical = MessageIds.parse(sent.get(5).msgId());
        StoredMessage fifth = server.broker.store().readAt(physical).orElseThrow();
        Path segment = dir.resolve("commitlog").resolve(String.format("%020d", 0));
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'X'}), physical + fifth.size() - 1); // the body's last byte: "m5" becomes "mX"
        }
    }

    @Test
    void aConsumerStopsAtACorruptRecordReportsItsOffsetAndReadsOnAfterASeek() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            sendTenAndDamageOffsetFive(server, client);

            try (Consumer consumer = client.consumer(ConsumerConfig.builder("damaged", "g").queues(0)
                    .startFrom(StartPosition.COMMITTED_ELSE_EARLIEST).autoCommit(false).build())) {
                List<String> got = new ArrayList<>();
                FerryException reported = null;
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (reported == null && System.nanoTime() < deadline) {
                    try {
                        consumer.poll(Duration.ofMillis(200)).forEach(m -> got.add(body(m)));
                    } catch (FerryException e) {
                        reported = e;
                    }
                }
                assertThat(got).as("the records before the bad one").containsExactly("m0", "m1", "m2", "m3", "m4");
                assertThat(reported).isNotNull();
                assertThat(reported.getMessage()).contains("offset 5").contains("cannot be decoded");
                assertThat(reported).isInstanceOfSatisfying(DamagedRecordException.class, d -> {
                    assertThat(d.topic()).isEqualTo("damaged");
                    assertThat(d.queueId()).isZero();
                    assertThat(d.offset()).isEqualTo(5);
                });
                assertThat(consumer.position(0)).as("not skipped").isEqualTo(5);

                FerryException again = null;
                for (int i = 0; i < 50 && again == null; i++) {
                    try {
                        assertThat(consumer.poll(Duration.ofMillis(200))).as("nothing past it").isEmpty();
                    } catch (FerryException e) {
                        again = e;
                    }
                }
                assertThat(again).as("reported again").isNotNull();

                consumer.seek(0, 6);
                List<String> after = new ArrayList<>();
                while (after.size() < 4 && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(200)).forEach(m -> after.add(body(m)));
                }
                assertThat(after).containsExactly("m6", "m7", "m8", "m9");
            }
        }
    }

    /**
     * A broadcasting member skips the damaged record alone: it gets the records before and after
     * it, is told of it once with its place, and its position passes it. Before, the intact records
     * after it in the same fetch were skipped with it (the next fetch started at the fetch's end),
     * and the report was a plain FerryException without an offset.
     */
    @Test
    void aBroadcastingMemberSkipsOnlyTheCorruptRecord() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            sendTenAndDamageOffsetFive(server, client);

            try (GroupConsumer member = client.groupConsumer(GroupConsumerConfig.builder("damaged", "bg").clientId("b1").broadcasting()
                    .heartbeatIntervalMs(50).maxWaitMs(200).retryBackoffMs(50).build())) {
                List<String> got = new ArrayList<>();
                List<FerryException> reported = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (got.size() < 9 && System.nanoTime() < deadline) {
                    try {
                        for (Message m : member.poll(Duration.ofMillis(200))) {
                            got.add(body(m));
                            member.ack(m);
                        }
                    } catch (FerryException e) {
                        reported.add(e);
                    }
                }
                assertThat(got).containsExactly("m0", "m1", "m2", "m3", "m4", "m6", "m7", "m8", "m9");
                assertThat(reported).singleElement().isInstanceOfSatisfying(DamagedRecordException.class, d -> {
                    assertThat(d.topic()).isEqualTo("damaged");
                    assertThat(d.queueId()).isZero();
                    assertThat(d.offset()).isEqualTo(5);
                    assertThat(d.getMessage()).contains("offset 5").contains("skipped");
                });
            } // close commits the position
            assertThat(client.committedOffset("bg%b1", "damaged", 0)).hasValue(10);
        }
    }

    private static String body(Message m) {
        ByteBuffer b = m.body().duplicate();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
