package dev.ferry.client;

import static dev.ferry.client.ConsumerGroupTest.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The orderly handover as a poll-style member sees it: a rebalance takes a queue away while the
 * member still has a polled batch of it in hand. The member acks the batch (after it heard of
 * the rebalance, before it polls again) and the acks count: it still holds the queue's lock,
 * which its next poll releases behind them, so the new owner starts after the batch instead of
 * handling it a second time, out of order. Before, the member dropped the acks of a queue it no
 * longer owned. (The other half of the fix, that an unlock queued before a revocation was read
 * cannot overtake acks sent after it, needs a socket read between two event-loop tasks; this test
 * does not reach it, ConsumerGroupTest's orderly case does, now and then.)
 */
class OrderlyHandoverTest {
    @TempDir
    Path dir;

    private static GroupConsumerConfig member(String clientId) {
        return GroupConsumerConfig.builder("ho", "hg").clientId(clientId).orderly(true).heartbeatIntervalMs(50).maxWaitMs(100)
                .retryBackoffMs(50).build();
    }

    private static void send(Producer p, int queueId, String prefix, int count) {
        for (int i = 0; i < count; i++) {
            p.sendAsync(Message.builder("ho").queueId(queueId).body((prefix + i).getBytes(StandardCharsets.UTF_8)).build());
        }
        p.flush();
    }

    @Test
    void aBatchAckedAfterItsQueueMovedIsNotHandledAgainByTheNextOwner() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic("ho", 2);
            send(p, 0, "a", 5);
            send(p, 1, "b", 5);
            GroupConsumer b = client.groupConsumer(member("b"));
            List<Message> inHand = new ArrayList<>();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (inHand.size() < 10 && System.nanoTime() < deadline) {
                inHand.addAll(b.poll(Duration.ofMillis(50)));
            }
            assertThat(inHand).as("b's batch of both queues, not acked yet").hasSize(10);

            GroupConsumer c = client.groupConsumer(member("c")); // takes queue 1 (averaged: b 0, c 1)
            ConsumerGroupTest.await("b heard that queue 1 moved", Duration.ofSeconds(10), () -> b.assignment().equals(List.of("ho/0")));
            for (Message m : inHand) {
                b.ack(m); // handled before it heard; acked before its next poll, as the contract asks
            }
            send(p, 1, "c", 3);
            List<String> readByC = new ArrayList<>();
            deadline = System.nanoTime() + 10_000_000_000L;
            while (readByC.size() < 3 && System.nanoTime() < deadline) {
                for (Message m : b.poll(Duration.ofMillis(20))) { // b's next poll unlocks queue 1
                    b.ack(m);
                }
                for (Message m : c.poll(Duration.ofMillis(20))) {
                    readByC.add(text(m));
                    c.ack(m);
                }
            }
            assertThat(readByC).as("what c read of queue 1: only what came after b's batch").containsExactly("c0", "c1", "c2");
            // c's acks are sent asynchronously: the committed offset reaches the end once they are counted
            ConsumerGroupTest.await("queue 1's committed offset at 8", Duration.ofSeconds(10),
                    () -> client.committedOffset("hg", "ho", 1).orElse(-1) == 8);
            c.close();
            b.close();
        }
    }
}
