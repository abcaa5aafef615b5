package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing a subscription whose handler does not return (a call without a timeout, a lock never
 * released). Before, close() gave up after 30 s and returned with the subscription's thread still
 * in the handler and its member still in the group, heartbeating and holding its queues, so no
 * other member got them; now close interrupts the handler, the member leaves, and the message it
 * was stuck on goes to the group's next member.
 */
class SubscriptionCloseTest {
    @TempDir
    Path dir;

    @Test
    void closeInterruptsAStuckHandlerAndTheMemberLeavesItsQueues() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer()) {
            client.createTopic("stuck", 1);
            producer.send("stuck", "first".getBytes());
            CountDownLatch inHandler = new CountDownLatch(1);
            Subscription sub = client.subscribe(GroupConsumerConfig.builder("stuck", "sg").clientId("stuck-member").build(), m -> {
                inHandler.countDown();
                Thread.sleep(TimeUnit.MINUTES.toMillis(10));
            });
            assertThat(inHandler.await(10, TimeUnit.SECONDS)).as("the handler got the message").isTrue();

            sub.close();

            assertThat(Thread.getAllStackTraces().keySet()).as("the subscription's thread")
                    .noneMatch(t -> t.getName().equals("ferry-subscription-sg-stuck-member") && t.isAlive());
            assertThat(client.describeGroup("sg").members()).as("members of the group after close").isEmpty();
            try (GroupConsumer next = client.groupConsumer(GroupConsumerConfig.builder("stuck", "sg").clientId("next").build())) {
                List<Message> got = new ArrayList<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (got.isEmpty() && System.nanoTime() < deadline) {
                    got.addAll(next.poll(Duration.ofMillis(100)));
                }
                assertThat(got).as("the next member gets the message the handler was stuck on")
                        .extracting(Message::queueOffset).containsExactly(0L);
            }
        }
    }
}
