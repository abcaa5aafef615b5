package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.ferry.broker.GroupConfig;
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
 *
 * <p>The broker's invisible time is made long: with its default (30 s, as long as close's default
 * wait) the broker moved the unacked message to the retry topic before the interrupt, and the test
 * saw that copy, whatever close did.
 */
class SubscriptionCloseTest {
    @TempDir
    Path dir;

    @Test
    void closeInterruptsAStuckHandlerAndTheMemberLeavesItsQueues() throws Exception {
        GroupConfig groups = GroupConfig.builder().invisibleTimeMs(TimeUnit.MINUTES.toMillis(10)).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups);
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

            assertThat(sub.close(Duration.ofMillis(200))).as("close, the handler interrupted").isTrue();

            assertThat(Thread.getAllStackTraces().keySet()).as("the subscription's thread")
                    .noneMatch(t -> t.getName().equals("ferry-subscription-sg-stuck-member") && t.isAlive());
            assertThat(client.describeGroup("sg").members()).as("members of the group after close").isEmpty();
            try (GroupConsumer next = client.groupConsumer(GroupConsumerConfig.builder("stuck", "sg").clientId("next").build())) {
                List<Message> got = new ArrayList<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (got.isEmpty() && System.nanoTime() < deadline) {
                    got.addAll(next.poll(Duration.ofMillis(100)));
                }
                assertThat(got).as("the next member gets the message the handler was stuck on, from its queue")
                        .extracting(Message::topic, Message::queueOffset).containsExactly(tuple("stuck", 0L));
            }
            assertThat(client.queueOffsets("%RETRY%sg", 0).maxOffset()).as("messages nacked to the retry topic").isZero();
        }
    }
}
