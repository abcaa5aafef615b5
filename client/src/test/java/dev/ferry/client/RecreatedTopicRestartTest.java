package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A topic deleted and created again, then a broker restart on the same data: consumers of new
 * groups get exactly the messages sent to the new topic. The deleted topic's records stay on disk
 * until retention, and the new topic continues its offsets; before, where it starts was kept in
 * memory only, and after a restart a new group started at the deleted topic's first record,
 * getting its messages (acked ones too) as the new topic's.
 */
class RecreatedTopicRestartTest {
    private static final String TOPIC = "orders";
    private static final int QUEUES = 4;
    private static final int OLD = 20;
    private static final int NEW = 6;

    @TempDir
    Path dir;

    @Test
    void newGroupsGetOnlyTheNewTopicsMessagesAfterARestart() throws Exception {
        long[] newStart = new long[QUEUES];
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic(TOPIC, QUEUES);
            send(client, "old-", OLD);
            List<Message> acked = new CopyOnWriteArrayList<>();
            try (Subscription s = client.subscribe(TOPIC, "before", acked::add)) {
                ConsumerGroupTest.await("the old messages", Duration.ofSeconds(30), () -> acked.size() == OLD);
            }
            client.deleteTopic(TOPIC);
            client.createTopic(TOPIC, QUEUES);
            for (int q = 0; q < QUEUES; q++) {
                newStart[q] = client.queueOffsets(TOPIC, q).maxOffset();
            }
            send(client, "new-", NEW);
        }

        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            long total = 0;
            for (int q = 0; q < QUEUES; q++) {
                QueueOffsets o = client.queueOffsets(TOPIC, q);
                assertThat(o.minOffset()).as("queue %d starts where the new topic started", q).isEqualTo(newStart[q]);
                total += o.maxOffset() - o.minOffset();
            }
            assertThat(total).isEqualTo(NEW);

            List<Message> plain = new CopyOnWriteArrayList<>();
            List<Message> grouped = new CopyOnWriteArrayList<>();
            try (Subscription s = client.subscribe(TOPIC, "fresh", plain::add);
                 Subscription g = client.subscribe(GroupConsumerConfig.builder(TOPIC, "fresh-group").clientId("m1")
                         .heartbeatIntervalMs(50).maxWaitMs(200).retryBackoffMs(50).build(), grouped::add)) {
                ConsumerGroupTest.await("the new messages", Duration.ofSeconds(30), () -> plain.size() >= NEW && grouped.size() >= NEW);
                Thread.sleep(500); // anything more would come within this
                assertThat(texts(plain)).as("a consumer of a new group").containsExactlyInAnyOrderElementsOf(expected());
                assertThat(texts(grouped)).as("a group consumer of a new group").containsExactlyInAnyOrderElementsOf(expected());
            }

            List<String> sought = new ArrayList<>();
            try (Consumer c = client.consumer(ConsumerConfig.builder(TOPIC, "seeker").build())) {
                for (int q = 0; q < QUEUES; q++) {
                    c.seek(q, 0); // the deleted topic's first offset: out of range, moved to the new topic's start
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (sought.size() < NEW && System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(100)).forEach(m -> sought.add(ConsumerGroupTest.text(m)));
                }
                c.poll(Duration.ofMillis(300)).forEach(m -> sought.add(ConsumerGroupTest.text(m)));
            }
            assertThat(sought).as("a consumer seeking to offset 0").containsExactlyInAnyOrderElementsOf(expected());
        }
    }

    private static void send(FerryClient client, String prefix, int count) {
        try (Producer p = client.producer()) {
            for (int i = 0; i < count; i++) {
                p.send(TOPIC, (prefix + i).getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static List<String> expected() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < NEW; i++) {
            out.add("new-" + i);
        }
        return out;
    }

    private static List<String> texts(List<Message> messages) {
        return messages.stream().map(ConsumerGroupTest::text).toList();
    }
}
