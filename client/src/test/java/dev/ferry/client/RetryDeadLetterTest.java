package dev.ferry.client;

import static dev.ferry.client.ConsumerGroupTest.await;
import static dev.ferry.client.ConsumerGroupTest.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acks, nacks, ack timeouts, the retry topic with growing delays (through the broker's delayed
 * delivery) and the dead-letter topic, end to end with small configured delays.
 */
class RetryDeadLetterTest {
    @TempDir
    Path dir;

    @Test
    void aMessageThatAlwaysFailsIsRetriedWithGrowingDelaysThenDeadLettered() {
        GroupConfig groups = GroupConfig.builder().maxReconsumeTimes(3).retryDelaysMs(List.of(100L, 250L, 500L)).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FerryClient client = server.client("binary");
             Producer p = client.producer()) {
            client.createTopic("rt", 2);
            Map<String, List<long[]>> deliveries = new ConcurrentHashMap<>();
            Subscription s = client.subscribe(GroupConsumerConfig.builder("rt", "fail").clientId("f1").heartbeatIntervalMs(50)
                    .maxWaitMs(200).build(), m -> {
                        String origin = m.properties().getOrDefault("ORIGIN_MSG_ID", m.msgId());
                        int reconsume = Integer.parseInt(m.properties().getOrDefault("RECONSUME_TIMES", "0"));
                        deliveries.computeIfAbsent(origin, k -> new CopyOnWriteArrayList<>()).add(new long[] {System.nanoTime(), reconsume});
                        throw new IllegalStateException("always fails");
                    });
            for (int i = 0; i < 3; i++) {
                p.send("rt", ("bad" + i).getBytes(StandardCharsets.UTF_8));
            }
            await("3 dead letters", Duration.ofSeconds(20), () -> client.describeTopic("%DLQ%fail").isPresent()
                    && client.queueOffsets("%DLQ%fail", 0).maxOffset() == 3);
            s.close();
            assertThat(deliveries).hasSize(3);
            for (Map.Entry<String, List<long[]>> e : deliveries.entrySet()) {
                List<long[]> d = e.getValue();
                assertThat(d).as("deliveries of %s: the first and 3 retries", e.getKey()).hasSize(4);
                StringBuilder gaps = new StringBuilder();
                for (int i = 1; i < d.size(); i++) {
                    assertThat(d.get(i)[1]).as("RECONSUME_TIMES of delivery %d", i).isEqualTo(i);
                    long gapMs = (d.get(i)[0] - d.get(i - 1)[0]) / 1_000_000;
                    gaps.append(gapMs).append(" ms ");
                    assertThat(gapMs).as("gap before retry %d of %s", i, e.getKey()).isGreaterThanOrEqualTo(groups.retryDelayMs(i) - 5);
                }
                System.out.println("RESULT retry gaps of " + e.getKey() + ": " + gaps + "(configured 100, 250, 500)");
            }
            // the dead-letter topic is a normal topic: read it, and send a message back
            try (Consumer dlq = client.consumer(ConsumerConfig.builder("%DLQ%fail", "ops").build())) {
                List<Message> dead = new ArrayList<>();
                await("dead letters read", Duration.ofSeconds(10), () -> {
                    dead.addAll(dlq.poll(Duration.ofMillis(50)));
                    return dead.size() == 3;
                });
                assertThat(dead).allSatisfy(m -> {
                    assertThat(m.properties()).containsEntry("ORIGIN_TOPIC", "rt").containsEntry("RECONSUME_TIMES", "4");
                    assertThat(text(m)).startsWith("bad");
                });
                long before = client.queueOffsets("rt", 0).maxOffset() + client.queueOffsets("rt", 1).maxOffset();
                p.send("rt", bytes(dead.get(0)));
                assertThat(client.queueOffsets("rt", 0).maxOffset() + client.queueOffsets("rt", 1).maxOffset()).isEqualTo(before + 1);
            }
        }
    }

    private static byte[] bytes(Message m) {
        byte[] b = new byte[m.body().remaining()];
        m.body().duplicate().get(b);
        return b;
    }

    @Test
    void nackedAndTimedOutMessagesComeBackThroughTheRetryTopic() {
        GroupConfig groups = GroupConfig.builder().invisibleTimeMs(400).sweepIntervalMs(20).retryDelaysMs(List.of(100L)).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FerryClient client = server.client("json");
             Producer p = client.producer()) {
            client.createTopic("at", 1);
            p.send("at", "keep-silent".getBytes(StandardCharsets.UTF_8));
            p.send("at", "nack-me".getBytes(StandardCharsets.UTF_8));
            try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("at", "ag").clientId("a1").heartbeatIntervalMs(50)
                    .maxWaitMs(100).build())) {
                List<Message> first = new ArrayList<>();
                await("both delivered", Duration.ofSeconds(10), () -> {
                    first.addAll(c.poll(Duration.ofMillis(50)));
                    return first.size() >= 2;
                });
                long t0 = System.nanoTime();
                c.nack(first.stream().filter(m -> text(m).equals("nack-me")).findFirst().orElseThrow()).join();
                // "keep-silent" is neither acked nor nacked: its invisible time runs out
                List<Message> again = new ArrayList<>();
                await("both redelivered from the retry topic", Duration.ofSeconds(10), () -> {
                    again.addAll(c.poll(Duration.ofMillis(50)));
                    return again.size() >= 2;
                });
                long waitedMs = (System.nanoTime() - t0) / 1_000_000;
                assertThat(again).extracting(ConsumerGroupTest::text).containsExactlyInAnyOrder("keep-silent", "nack-me");
                assertThat(again).allSatisfy(m -> {
                    assertThat(m.topic()).isEqualTo("%RETRY%ag");
                    assertThat(m.properties()).containsEntry("RECONSUME_TIMES", "1").containsEntry("ORIGIN_TOPIC", "at");
                });
                assertThat(waitedMs).as("ack timeout 400 ms + retry delay 100 ms").isGreaterThanOrEqualTo(450);
                again.forEach(c::ack);
                await("the group's committed offsets advance past everything", Duration.ofSeconds(10),
                        () -> client.committedOffset("ag", "at", 0).orElse(-1) == 2
                                && client.committedOffset("ag", "%RETRY%ag", 0).orElse(-1) == 2);
            }
        }
    }
}
