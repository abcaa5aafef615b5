package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Produces and consumes through a real gateway with each codec, and with two codecs at once. */
class ProduceConsumeTest {
    private static final int MESSAGES = 10_000;
    private static final int QUEUES = 4;

    @TempDir
    static Path dir;
    static BrokerFixture server;

    @BeforeAll
    static void start() {
        server = BrokerFixture.start(dir);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Body i: its index, then pseudo-random bytes (any byte value, so also invalid UTF-8), 0..300 bytes. */
    static byte[] body(long seed, int i) {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003 + i);
        byte[] b = new byte[4 + r.nextInt(300)];
        ByteBuffer.wrap(b).putInt(i);
        for (int k = 4; k < b.length; k++) {
            b[k] = (byte) r.nextInt(256);
        }
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void tenThousandMessagesArriveByteEqualAndInOrderPerQueue(String codec) throws Exception {
        String topic = "pc-" + codec;
        try (FerryClient client = server.client(codec)) {
            assertThat(client.codec()).isEqualTo(codec);
            client.createTopic(topic, QUEUES);
            List<CompletableFuture<SendResult>> acks = new ArrayList<>(MESSAGES);
            try (Producer producer = client.producer(ProducerConfig.builder().batchSizeBytes(16 << 10).maxInFlight(1).build())) {
                for (int i = 0; i < MESSAGES; i++) {
                    acks.add(producer.sendAsync(topic, body(codec.hashCode(), i)));
                }
                producer.flush();
            }
            // what the broker says it stored where
            Map<Integer, List<Integer>> sentPerQueue = new HashMap<>();
            Map<Long, Integer> indexAt = new HashMap<>();
            for (int i = 0; i < MESSAGES; i++) {
                SendResult r = acks.get(i).join();
                assertThat(r.queueId()).as("queue of message %d", i).isBetween(0, QUEUES - 1);
                assertThat(r.msgId()).as("msgId of message %d", i).isNotEmpty();
                sentPerQueue.computeIfAbsent(r.queueId(), q -> new ArrayList<>()).add(i);
                assertThat(indexAt.put(key(r.queueId(), r.queueOffset()), i)).as("two messages at %s", r).isNull();
            }
            assertThat(sentPerQueue).as("round-robin uses every queue").hasSize(QUEUES);

            Map<Integer, List<Integer>> receivedPerQueue = new HashMap<>();
            try (Consumer consumer = client.consumer(ConsumerConfig.builder(topic, "g-" + codec).build())) {
                int received = 0;
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (received < MESSAGES && System.nanoTime() < deadline) {
                    for (Message m : consumer.poll(Duration.ofMillis(500))) {
                        Integer i = indexAt.get(key(m.queueId(), m.queueOffset()));
                        assertThat(i).as("a message at %d/%d that was not sent", m.queueId(), m.queueOffset()).isNotNull();
                        byte[] got = new byte[m.bodyLength()];
                        m.body().get(got);
                        assertThat(got).as("body of message %d (%d/%d)", i, m.queueId(), m.queueOffset())
                                .isEqualTo(body(codec.hashCode(), i));
                        assertThat(m.topic()).isEqualTo(topic);
                        assertThat(m.msgId()).isEqualTo(acks.get(i).join().msgId());
                        receivedPerQueue.computeIfAbsent(m.queueId(), q -> new ArrayList<>()).add(i);
                        received++;
                    }
                }
                assertThat(received).as("messages consumed").isEqualTo(MESSAGES);
                assertThat(consumer.poll(Duration.ofMillis(50))).as("nothing beyond what was sent").isEmpty();
            }
            // FIFO within each queue: consumed in the order they were sent
            assertThat(receivedPerQueue).isEqualTo(sentPerQueue);
        }
    }

    private static long key(int queue, long offset) {
        return ((long) queue << 40) | offset;
    }

    @Test
    void twoConnectionsWithDifferentCodecsShareThePort() throws Exception {
        String topic = "mixed";
        try (FerryClient binary = server.client("binary"); FerryClient json = server.client("json");
             Producer pb = binary.producer(); Producer pj = json.producer()) {
            binary.createTopic(topic, 2);
            List<CompletableFuture<SendResult>> acks = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                acks.add(pb.sendAsync(topic, ("b" + i).getBytes()));
                acks.add(pj.sendAsync(topic, ("j" + i).getBytes()));
            }
            pb.flush();
            pj.flush();
            acks.forEach(CompletableFuture::join);
            assertThat(json.describeTopic(topic)).contains(new TopicDescription(topic, 2));
            // each codec reads what the other wrote
            for (FerryClient reader : List.of(binary, json)) {
                try (Consumer c = reader.consumer(ConsumerConfig.builder(topic, "mixed-" + reader.codec()).build())) {
                    List<String> bodies = new ArrayList<>();
                    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                    while (bodies.size() < 1000 && System.nanoTime() < deadline) {
                        for (Message m : c.poll(Duration.ofMillis(200))) {
                            bodies.add(new String(bytes(m)));
                        }
                    }
                    assertThat(bodies).as("read with %s", reader.codec()).hasSize(1000).contains("b0", "j0", "b499", "j499");
                }
            }
        }
    }

    static byte[] bytes(Message m) {
        byte[] b = new byte[m.bodyLength()];
        m.body().get(b);
        return b;
    }
}
