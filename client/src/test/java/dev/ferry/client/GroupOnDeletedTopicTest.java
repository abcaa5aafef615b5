package dev.ferry.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clustering group member reading a topic that is deleted under it and created again with fewer
 * queues: once it is back, the member gets exactly what was sent to the new topic, none of the
 * deleted topic's messages, each once.
 */
class GroupOnDeletedTopicTest {
    @TempDir
    Path dir;

    private static List<String> pollUntil(GroupConsumer c, int n, Duration timeout) {
        List<String> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (out.size() < n && System.nanoTime() < deadline) {
            try {
                for (Message m : c.poll(Duration.ofMillis(100))) {
                    out.add(UTF_8.decode(m.body()).toString());
                    c.ack(m);
                }
            } catch (FerryException e) {
                // NOT_FOUND while the topic is deleted: the member keeps asking
            }
        }
        return out;
    }

    @Test
    void aMemberGetsOnlyTheNewTopicsMessagesAfterItsTopicIsDeletedAndCreatedAgain() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic("orders", 2);
            for (int i = 0; i < 10; i++) {
                p.send(Message.builder("orders").queueId(i % 2).body(("old-" + i).getBytes(UTF_8)).build());
            }
            try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("orders", "billing").heartbeatIntervalMs(200).build())) {
                assertThat(pollUntil(c, 10, Duration.ofSeconds(20))).hasSize(10);
                Thread.sleep(300); // the member's fetches wait on both queues
                client.deleteTopic("orders");
                assertThat(pollUntil(c, 1, Duration.ofSeconds(2))).as("while deleted").isEmpty();
                client.createTopic("orders", 1);
                for (int i = 0; i < 5; i++) {
                    p.send(Message.builder("orders").queueId(0).body(("new-" + i).getBytes(UTF_8)).build());
                }
                List<String> got = pollUntil(c, 5, Duration.ofSeconds(30));
                got.addAll(pollUntil(c, 100, Duration.ofSeconds(1)));
                assertThat(got).as("after the topic came back").containsExactly("new-0", "new-1", "new-2", "new-3", "new-4");
            }
        }
    }
}
