package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.TransactionConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A delayed message or a transaction's half message names its queue when it is sent; if its topic
 * is deleted and created again with fewer queues before the message is delivered or committed, it
 * must still reach a queue of the topic, where consumers read it.
 */
class RecreatedTopicTargetTest {
    private static final TransactionConfig NEVER = TransactionConfig.builder().checkTimeoutMs(600_000).build();

    @TempDir
    Path dir;

    private static String text(Message m) {
        return StandardCharsets.UTF_8.decode(m.body().duplicate()).toString();
    }

    private static List<String> readAll(FerryClient client, String topic, int want, long ms) {
        List<String> out = new ArrayList<>();
        try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder(topic, "g-" + System.nanoTime()).clientId("c")
                .heartbeatIntervalMs(50).maxWaitMs(100).build())) {
            long deadline = System.nanoTime() + ms * 1_000_000;
            while (out.size() < want && System.nanoTime() < deadline) {
                for (Message m : c.poll(Duration.ofMillis(50))) {
                    out.add(text(m));
                    c.ack(m);
                }
            }
        }
        return out;
    }

    @Test
    void aDelayedMessageForAQueueTheTopicNoLongerHasIsDeliveredToOneItHas() throws Exception {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("orders", 4);
            long at = System.currentTimeMillis() + 1_500;
            p.send(Message.builder("orders").queueId(3).body("later".getBytes(StandardCharsets.UTF_8)).deliverAt(at).build());
            client.deleteTopic("orders");
            client.createTopic("orders", 2);
            try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("orders", "g").clientId("c")
                    .heartbeatIntervalMs(50).maxWaitMs(100).build())) {
                List<String> got = new ArrayList<>();
                long deadline = System.nanoTime() + 8_000_000_000L;
                while (got.isEmpty() && System.nanoTime() < deadline) {
                    for (Message m : c.poll(Duration.ofMillis(50))) {
                        got.add(text(m));
                        c.ack(m);
                    }
                }
                assertThat(got).as("the delayed message, due after the topic came back with 2 queues").containsExactly("later");
            }
            assertThat(b.broker.deliveredDelayed()).isEqualTo(1);
        }
    }

    @Test
    void aCommitForAQueueTheTopicNoLongerHasGoesToOneItHas() {
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client("binary");
             TransactionProducer tp = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 4);
            String id = tp.sendHalf(Message.builder("orders").queueId(3).body("tx".getBytes(StandardCharsets.UTF_8)).build());
            client.deleteTopic("orders");
            client.createTopic("orders", 2);
            SendResult r = tp.commit(id).orElseThrow();
            assertThat(r.queueId()).as("a queue of the topic as it is now").isBetween(0, 1);
            assertThat(readAll(client, "orders", 1, 5_000)).containsExactly("tx");
        }
    }
}
