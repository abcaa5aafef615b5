package dev.ferry.client;

import static dev.ferry.client.ConsumerGroupTest.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An orderly member whose connection breaks (the broker stays up and keeps its session and its
 * queue locks) while a rebalance moves one of its queues to another member: once it is back, it
 * must release the lock of the queue it did not get back, or the queue's new owner is refused
 * its lock (LOCKED) for as long as the member lives, its heartbeats renewing every lock it holds.
 * The broker's session timeout is long, so that neither a session expiry (which releases the
 * locks too) nor a heartbeat of the member before the break (which would tell it of the move
 * the usual way) plays a part.
 */
class OrderlyReconnectTest {
    @TempDir
    Path dir;

    private static GroupConsumerConfig member(String clientId, long heartbeatMs) {
        return GroupConsumerConfig.builder("rc", "rg").clientId(clientId).orderly(true).heartbeatIntervalMs(heartbeatMs).maxWaitMs(100)
                .retryBackoffMs(50).build();
    }

    private static void send(Producer p, int queueId, String prefix, int count) {
        for (int i = 0; i < count; i++) {
            p.sendAsync(Message.builder("rc").queueId(queueId).body((prefix + i).getBytes(StandardCharsets.UTF_8)).build());
        }
        p.flush();
    }

    /** Polls {@code m} for {@code ms}, acking everything, and returns the bodies read. */
    private static List<String> pollAndAck(GroupConsumer m, long ms) {
        List<String> out = new ArrayList<>();
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < deadline) {
            for (Message msg : m.poll(Duration.ofMillis(20))) {
                out.add(text(msg));
                m.ack(msg);
            }
        }
        return out;
    }

    @Test
    void aMemberBackFromALostConnectionUnlocksTheQueueThatMovedAway() throws Exception {
        GroupConfig groups = GroupConfig.builder().sessionTimeoutMs(300_000).lockTimeoutMs(300_000).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); TcpProxy proxy = new TcpProxy(server.port());
             FerryClient viaProxy = FerryClient.connect(ClientConfig.builder().port(proxy.port()).codec("binary").requestTimeoutMs(10_000)
                     .build());
             FerryClient direct = server.client("binary"); Producer p = direct.producer()) {
            direct.createTopic("rc", 2);
            send(p, 0, "a", 5);
            send(p, 1, "b", 5);
            // b alone: both queues, both locked once read; it heartbeats rarely (its session lasts 5 min), so
            // it hears of the rebalance below only through the join it sends after its connection is back
            GroupConsumer b = viaProxy.groupConsumer(member("b", 60_000));
            List<String> readByB = new ArrayList<>();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (readByB.size() < 10 && System.nanoTime() < deadline) {
                readByB.addAll(pollAndAck(b, 50));
            }
            assertThat(readByB).as("b read both queues").hasSize(10);
            // b's acks counted before its connection breaks (else c would rightly read b's last messages again)
            ConsumerGroupTest.await("b's acks counted", Duration.ofSeconds(10),
                    () -> direct.committedOffset("rg", "rc", 0).orElse(-1) == 5 && direct.committedOffset("rg", "rc", 1).orElse(-1) == 5);

            GroupConsumer c = direct.groupConsumer(member("c", 50)); // takes queue 1 (averaged: b 0, c 1)
            proxy.dropConnections();
            ConsumerGroupTest.await("b back with its new assignment", Duration.ofSeconds(10),
                    () -> b.assignment().equals(List.of("rc/0")));
            send(p, 1, "c", 5);
            List<String> readByC = new ArrayList<>();
            deadline = System.nanoTime() + 10_000_000_000L;
            while (readByC.size() < 5 && System.nanoTime() < deadline) {
                pollAndAck(b, 20); // b's polls send its unlocks
                readByC.addAll(pollAndAck(c, 20));
            }
            assertThat(c.assignment()).containsExactly("rc/1");
            assertThat(readByC).as("what c read of queue 1, which b held locked before its connection broke")
                    .containsExactly("c0", "c1", "c2", "c3", "c4");
            c.close();
            b.close();
        }
    }
}
