package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A broadcasting subscription retries a failing message in place and then skips it (there is no
 * retry or dead-letter topic in broadcasting, as in RocketMQ), orderly or not: its position moves
 * past the message, so the member does not get it again when it comes back.
 */
class BroadcastFailureTest {
    @TempDir
    Path dir;

    private static String text(Message m) {
        return StandardCharsets.UTF_8.decode(m.body().duplicate()).toString();
    }

    @ParameterizedTest(name = "orderly={0}")
    @ValueSource(booleans = {false, true})
    void aMessageThatAlwaysFailsIsSkippedForGood(boolean orderly) throws Exception {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("bc", 1);
            p.send("bc", "good-1".getBytes(StandardCharsets.UTF_8));
            p.send("bc", "bad".getBytes(StandardCharsets.UTF_8));
            GroupConsumerConfig config = GroupConsumerConfig.builder("bc", "bg").clientId("m1").broadcasting().orderly(orderly)
                    .heartbeatIntervalMs(50).maxWaitMs(100).retryBackoffMs(20).maxReconsumeTimes(2).build();
            List<String> first = new CopyOnWriteArrayList<>();
            try (Subscription s = client.subscribe(config, m -> {
                first.add(text(m));
                if (text(m).equals("bad")) {
                    throw new IllegalStateException("always fails");
                }
            })) {
                ConsumerGroupTest.await("the first delivery and its 2 retries", Duration.ofSeconds(10),
                        () -> first.stream().filter("bad"::equals).count() == 3);
                Thread.sleep(300); // the skip is recorded
            }
            assertThat(first).containsExactly("good-1", "bad", "bad", "bad");
            List<String> again = new CopyOnWriteArrayList<>();
            try (Subscription s = client.subscribe(config, m -> again.add(text(m)))) {
                Thread.sleep(1_500);
            }
            assertThat(again).as("what the member gets when it comes back").isEmpty();
        }
    }

    /**
     * A broadcasting member's NACK does not retry the message (the broker ignores it: there is no
     * retry topic), so it skips it as RocketMQ drops a failed broadcast message: the member's position
     * moves past it whether or not a later message is acked, and it does not come back.
     */
    @Test
    void aNackedMessageOfABroadcastingMemberIsNotDeliveredAgain() {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("bn", 1);
            p.send("bn", "ok".getBytes(StandardCharsets.UTF_8));
            p.send("bn", "failed".getBytes(StandardCharsets.UTF_8));
            GroupConsumerConfig config = GroupConsumerConfig.builder("bn", "bng").clientId("m1").broadcasting()
                    .heartbeatIntervalMs(50).maxWaitMs(100).build();
            List<String> first = new CopyOnWriteArrayList<>();
            try (GroupConsumer c = client.groupConsumer(config)) {
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (first.size() < 2 && System.nanoTime() < deadline) {
                    for (Message m : c.poll(Duration.ofMillis(50))) {
                        first.add(text(m));
                        if (text(m).equals("failed")) {
                            c.nack(m).join();
                        } else {
                            c.ack(m);
                        }
                    }
                }
            }
            assertThat(first).containsExactly("ok", "failed");
            List<String> again = new CopyOnWriteArrayList<>();
            try (GroupConsumer c = client.groupConsumer(config)) {
                long deadline = System.nanoTime() + 1_500_000_000L;
                while (System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(50)).forEach(m -> {
                        again.add(text(m));
                        c.ack(m);
                    });
                }
            }
            assertThat(again).as("what the member gets when it comes back").isEmpty();
        }
    }
}
