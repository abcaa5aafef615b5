package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A consumer whose topic is deleted for a while and created again. */
class DeletedTopicTest {
    @TempDir
    Path dir;

    /**
     * While the topic is deleted, each queue's fetch fails every second; the consumer keeps at most
     * one of its errors waiting to be reported, so once the topic is back its messages come within
     * seconds. Before, the errors piled up (16 a second, and a subscription reports one per 200 ms),
     * and a message sent after 10 s of deletion waited about 20 s behind them.
     */
    @Test
    void aSubscriptionGetsMessagesSoonAfterItsTopicIsCreatedAgain() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("gone", 16);
            List<Message> got = new CopyOnWriteArrayList<>();
            try (Subscription s = client.subscribe("gone", "g", got::add)) {
                Thread.sleep(500); // the subscription's fetches are waiting
                client.deleteTopic("gone");
                Thread.sleep(10_000);
                client.createTopic("gone", 16);
                try (Producer p = client.producer()) {
                    p.send("gone", "back".getBytes());
                }
                long sent = System.nanoTime();
                ConsumerGroupTest.await("the message after the topic came back", Duration.ofSeconds(60), () -> !got.isEmpty());
                assertThat(Duration.ofNanos(System.nanoTime() - sent)).as("delivered soon, not after a backlog of stale errors")
                        .isLessThan(Duration.ofSeconds(8));
            }
        }
    }
}
