package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.GroupCoordinator;
import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * What a Kafka user checks once retention has deleted records a group committed past: where the
 * group resumes (the queue's first offset, as auto.offset.reset=earliest), what describe and the
 * lag say, that the consumer says so (a WARN naming the messages it never read), and where a reset
 * by time lands before the oldest retained record and after the newest.
 * 64 KiB segments, the log kept under 128 KiB: 400 messages of 1 KiB push the first ones out.
 */
class RetainedOffsetsTest {
    @TempDir
    Path dir;

    private static BrokerFixture start(Path dir) {
        return BrokerFixture.start(dir, log -> log.segmentBytes(64 * 1024).retentionBytes(128 * 1024).retentionCheckIntervalMs(3_600_000),
                UnaryOperator.identity(), GroupConfig.defaults());
    }

    private static void send(Producer p, int from, int to) {
        for (int i = from; i < to; i++) {
            byte[] body = new byte[1024];
            body[0] = (byte) i;
            p.send(Message.builder("orders").queueId(0).keys(List.of("k" + i)).body(body).build()); // one by one: fits a segment
        }
    }

    @Test
    void aGroupWhoseCommittedOffsetRetentionDeletedResumesAtTheFirstRetainedOffset() {
        try (BrokerFixture b = start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("orders", 1);
            send(p, 0, 10);
            ConsumerConfig config = ConsumerConfig.builder("orders", "billing").autoCommit(false).build();
            try (Consumer c = client.consumer(config)) {
                assertThat(ConsumerCommitTest.pollN(c, 10)).hasSize(10);
                c.commitSync();
            }
            assertThat(client.committedOffset("billing", "orders", 0)).hasValue(10);
            long before = System.currentTimeMillis();
            send(p, 10, 400);
            b.broker.store().flush();
            assertThat(b.broker.store().runRetention()).as("segments deleted").isPositive();
            QueueOffsets offsets = client.queueOffsets("orders", 0);
            assertThat(offsets.minOffset()).as("retention passed the committed offset").isGreaterThan(10);
            assertThat(offsets.maxOffset()).isEqualTo(400);

            GroupInfo info = client.describeGroup("billing");
            assertThat(info.queues()).singleElement().satisfies(q -> {
                assertThat(q.lag()).as("lag: only what is still stored").isEqualTo(400 - offsets.minOffset());
            });

            ListAppender<ILoggingEvent> logs = capture(Consumer.class);
            try (Consumer c = client.consumer(config)) {
                List<Message> got = ConsumerCommitTest.pollN(c, 1);
                assertThat(got).isNotEmpty();
                assertThat(got.get(0).queueOffset()).as("where the group resumes").isEqualTo(offsets.minOffset());
            } finally {
                release(Consumer.class, logs);
            }
            assertThat(warnings(logs)).as("what the consumer logged").anySatisfy(line -> assertThat(line)
                    .contains("orders/0", "committed offset 10 is below the queue's first offset " + offsets.minOffset(),
                            (offsets.minOffset() - 10) + " message(s)"));

            Map<Integer, Long> early = client.resetOffsets("billing", "orders", "timestamp", before - 60_000);
            assertThat(early).as("a time before the oldest retained record").containsEntry(0, offsets.minOffset());
            Map<Integer, Long> late = client.resetOffsets("billing", "orders", "timestamp", System.currentTimeMillis() + 60_000);
            assertThat(late).as("a time after the newest record").containsEntry(0, 400L);
            assertThat(client.queryByKey("orders", "k0", 10)).as("a key whose message retention deleted").isEmpty();
            assertThat(client.queryByKey("orders", "k399", 10)).extracting(Message::queueOffset).containsExactly(399L);
        }
    }

    /** The same with a group member: the broker committed what it acked; a new member resumes at the first offset, and says so. */
    @Test
    void aGroupMemberWhoseCommittedOffsetRetentionDeletedSaysSo() {
        try (BrokerFixture b = start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("orders", 1);
            send(p, 0, 10);
            GroupConsumerConfig config = GroupConsumerConfig.builder("orders", "billing").build();
            try (GroupConsumer c = client.groupConsumer(config)) {
                List<Message> got = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (got.size() < 10 && System.nanoTime() < deadline) {
                    for (Message m : c.poll(Duration.ofMillis(100))) {
                        got.add(m);
                        c.ack(m);
                    }
                }
                assertThat(got).hasSize(10);
                ConsumerGroupTest.await("the acks committed", Duration.ofSeconds(10),
                        () -> client.committedOffset("billing", "orders", 0).orElse(-1) == 10);
            }
            send(p, 10, 400);
            b.broker.store().flush();
            assertThat(b.broker.store().runRetention()).as("segments deleted").isPositive();
            long min = client.queueOffsets("orders", 0).minOffset();

            ListAppender<ILoggingEvent> logs = capture(GroupConsumer.class);
            try (GroupConsumer c = client.groupConsumer(config)) {
                assertThat(firstPoll(c).get(0).queueOffset()).as("where the member resumes").isEqualTo(min);
            } finally {
                release(GroupConsumer.class, logs);
            }
            assertThat(warnings(logs)).as("what the member logged").anySatisfy(line -> assertThat(line)
                    .contains("group billing", "orders/0", "committed offset 10 is below the queue's first offset " + min));
        }
    }

    /**
     * A message a member holds unacked is deleted by retention, and then nacked (or its invisible
     * time runs out): there is nothing to retry, and the broker says so instead of dropping it without
     * a word.
     */
    @Test
    void aHandedOutMessageRetentionDeletesBeforeItsAckIsLoggedNotDroppedSilently() {
        try (BrokerFixture b = start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            List<String> warnings = nackAHeldMessageAfter(b, client, p, held -> {
                send(p, 10, 400);
                b.broker.store().flush();
                assertThat(b.broker.store().runRetention()).as("segments deleted").isPositive();
                assertThat(client.queueOffsets("orders", 0).minOffset()).as("the held message is gone").isGreaterThan(held.queueOffset());
            });
            assertThat(warnings).anySatisfy(line -> assertThat(line)
                    .startsWith("group billing: orders/0: offset 0 was deleted by retention (earliest available: ")
                    .endsWith(") before it was acked; it is not retried"));
        }
    }

    /**
     * The same for a message held while its topic is deleted and created again: the broker names
     * that cause, not retention (whose settings are not why; the record is still on disk). Before,
     * this too was "was deleted by retention".
     */
    @Test
    void aHandedOutMessageOfATopicDeletedAndCreatedAgainIsLoggedWithThatCause() {
        try (BrokerFixture b = start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            List<String> warnings = nackAHeldMessageAfter(b, client, p, held -> {
                client.deleteTopic("orders");
                client.createTopic("orders", 1);
                assertThat(client.queueOffsets("orders", 0).minOffset()).as("the new topic starts at the old end").isEqualTo(10);
            });
            assertThat(warnings).anySatisfy(line -> assertThat(line).isEqualTo("group billing: orders/0: offset 0 is from before the"
                    + " topic was deleted and created again (earliest available: 10) before it was acked; it is not retried"));
        }
    }

    /**
     * Has a member of group billing hold the first message of a new topic orders (10 sent), runs
     * {@code removal} on it, then nacks it; returns what the group coordinator logged at WARN.
     */
    private static List<String> nackAHeldMessageAfter(BrokerFixture b, FerryClient client, Producer p,
                                                      java.util.function.Consumer<Message> removal) {
        client.createTopic("orders", 1);
        send(p, 0, 10);
        ListAppender<ILoggingEvent> logs = capture(GroupCoordinator.class);
        try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("orders", "billing").build())) {
            Message held = firstPoll(c).get(0);
            removal.accept(held);
            c.nack(held).join();
        } finally {
            release(GroupCoordinator.class, logs);
        }
        return warnings(logs);
    }

    /** What a member's polls bring until one brings something (20 s at most). */
    private static List<Message> firstPoll(GroupConsumer c) {
        List<Message> got = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (got.isEmpty() && System.nanoTime() < deadline) {
            got.addAll(c.poll(Duration.ofMillis(100)));
        }
        assertThat(got).as("polled").isNotEmpty();
        return got;
    }

    private static ListAppender<ILoggingEvent> capture(Class<?> type) {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        ((Logger) LoggerFactory.getLogger(type)).addAppender(logs);
        return logs;
    }

    private static void release(Class<?> type, ListAppender<ILoggingEvent> logs) {
        ((Logger) LoggerFactory.getLogger(type)).detachAppender(logs);
    }

    private static List<String> warnings(ListAppender<ILoggingEvent> logs) {
        return logs.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
    }
}
