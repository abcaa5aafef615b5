package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Committed offsets: a new consumer, on a new connection, resumes where the group committed. */
class ConsumerCommitTest {
    @TempDir
    Path dir;

    /** Creates {@code topic} with one queue holding messages m0 .. m{n-1}. */
    private static void oneQueueWith(FerryClient client, Producer p, String topic, int n) {
        client.createTopic(topic, 1);
        for (int i = 0; i < n; i++) {
            p.sendAsync(topic, ("m" + i).getBytes());
        }
        p.flush();
    }

    /** What {@code c}'s polls bring until {@code n} messages came (20 s at most). */
    static List<Message> pollN(Consumer c, int n) {
        List<Message> out = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (out.size() < n && System.nanoTime() < deadline) {
            out.addAll(c.poll(Duration.ofMillis(100)));
        }
        return out;
    }

    @Test
    void resumesFromTheCommittedOffsetAfterReconnecting() {
        try (BrokerFixture server = BrokerFixture.start(dir)) {
            try (FerryClient client = server.client("binary"); Producer p = client.producer()) {
                client.createTopic("c", 2);
                for (int i = 0; i < 100; i++) {
                    p.sendAsync(Message.builder("c").queueId(i % 2).body(("m" + i).getBytes()).build());
                }
                p.flush();
                ConsumerConfig config = ConsumerConfig.builder("c", "g").autoCommit(false).maxFetchMessages(10).maxPollMessages(10).build();
                try (Consumer c = client.consumer(config)) {
                    List<Message> first = pollN(c, 10);
                    assertThat(first).isNotEmpty();
                    c.commitSync();
                    for (int q = 0; q < 2; q++) {
                        assertThat(client.committedOffset("g", "c", q)).hasValue(c.position(q));
                    }
                }
            }
            // a new client: new connections
            try (FerryClient client = server.client("json")) {
                long committed0 = client.committedOffset("g", "c", 0).orElseThrow();
                long committed1 = client.committedOffset("g", "c", 1).orElseThrow();
                try (Consumer c = client.consumer(ConsumerConfig.builder("c", "g").build())) {
                    assertThat(c.position(0)).isEqualTo(committed0);
                    assertThat(c.position(1)).isEqualTo(committed1);
                    List<Message> rest = pollN(c, (int) (100 - committed0 - committed1));
                    assertThat(rest).hasSize((int) (100 - committed0 - committed1));
                    for (Message m : rest) {
                        long committed = m.queueId() == 0 ? committed0 : committed1;
                        assertThat(m.queueOffset()).as("nothing before the committed offset").isGreaterThanOrEqualTo(committed);
                        assertThat(new String(ProduceConsumeTest.bytes(m))).isEqualTo("m" + (m.queueOffset() * 2 + m.queueId()));
                    }
                } // autoCommit commits on close
                assertThat(client.committedOffset("g", "c", 0)).hasValue(50);
                assertThat(client.committedOffset("g", "c", 1)).hasValue(50);
                // from the end: only new messages
                try (Consumer latest = client.consumer(ConsumerConfig.builder("c", "other").startFrom(StartPosition.LATEST).build())) {
                    assertThat(latest.poll(Duration.ofMillis(100))).isEmpty();
                    assertThat(latest.position(0)).isEqualTo(50);
                }
            }
        }
    }

    @Test
    void seekRereadsAndLongPollWakesOnNewMessages() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("protobuf");
             Producer p = client.producer(ProducerConfig.builder().lingerMs(0).build())) {
            client.createTopic("s", 1);
            try (Consumer c = client.consumer(ConsumerConfig.builder("s", "g").maxWaitMs(5_000).build())) {
                assertThat(c.poll(Duration.ofMillis(50))).isEmpty();
                long t0 = System.nanoTime();
                p.send("s", "late".getBytes());
                List<Message> got = pollN(c, 1);
                assertThat(got).hasSize(1);
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("the long poll answered on arrival, not after 5 s")
                        .isLessThan(Duration.ofSeconds(3));
                c.seek(0, 0);
                assertThat(pollN(c, 1)).extracting(Message::queueOffset).containsExactly(0L);
            }
        }
    }

    /**
     * A poll that stops part-way through a fetch (maxPollMessages) leaves the rest of it unreturned:
     * close() commits the position after the last message returned. Before, close() moved the
     * position to the fetch's end and committed 100.
     */
    @Test
    void closeCommitsOnlyWhatPollReturned() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer()) {
            oneQueueWith(client, p, "part", 100);
            try (Consumer c = client.consumer(ConsumerConfig.builder("part", "g").maxPollMessages(10).build())) {
                List<Message> got = pollN(c, 10);
                assertThat(got).extracting(Message::queueOffset).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
            }
            assertThat(client.committedOffset("g", "part", 0)).hasValue(10);
        }
    }

    /**
     * A subscription closed while its handler works through a batch commits only what the handler
     * returned from: close() stops after the message in hand. Before, it committed the whole batch
     * (the consumer's position covered it), 200 here, and the messages not handled were lost to
     * the group.
     */
    @Test
    void aSubscriptionClosedMidBatchCommitsOnlyWhatItsHandlerSaw() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer()) {
            oneQueueWith(client, p, "slow", 200);
            List<Long> handled = new CopyOnWriteArrayList<>();
            Subscription s = client.subscribe("slow", "sg", m -> {
                Thread.sleep(20);
                handled.add(m.queueOffset());
            });
            ConsumerGroupTest.await("5 handled", Duration.ofSeconds(20), () -> handled.size() >= 5);
            s.close();
            assertThat(handled.size()).as("closed mid-batch").isLessThan(200);
            assertThat(client.committedOffset("sg", "slow", 0)).hasValue(handled.size());
        }
    }

    /** A handler that throws an Error (not an Exception) stops the subscription; its close commits only what was handled. */
    @Test
    void aSubscriptionStoppedByAnErrorCommitsOnlyWhatItsHandlerSaw() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer()) {
            oneQueueWith(client, p, "fatal", 50);
            List<Long> handled = new CopyOnWriteArrayList<>();
            Subscription s = client.subscribe("fatal", "eg", m -> {
                if (m.queueOffset() == 5) {
                    throw new LinkageError("the handler's own fault");
                }
                handled.add(m.queueOffset());
            });
            ConsumerGroupTest.await("the stopped subscription's commit", Duration.ofSeconds(20),
                    () -> client.committedOffset("eg", "fatal", 0).isPresent());
            s.close();
            assertThat(handled).containsExactly(0L, 1L, 2L, 3L, 4L);
            assertThat(client.committedOffset("eg", "fatal", 0)).as("not past the message whose handler failed").hasValue(5);
        }
    }

    /**
     * A seek past a queue's end is answered OFFSET_OUT_OF_RANGE and moves the queue to its end, the
     * nearest stored offset, and the polling position with it: the messages sent then come. Before,
     * only the fetch moved; the position stayed at 1,000 and every message below it was dropped.
     */
    @Test
    void aSeekPastTheEndReadsOnFromTheEnd() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer(ProducerConfig.builder().lingerMs(0).build())) {
            client.createTopic("past", 1);
            for (int i = 0; i < 10; i++) {
                p.send("past", ("m" + i).getBytes());
            }
            try (Consumer c = client.consumer(ConsumerConfig.builder("past", "g").autoCommit(false).build())) {
                assertThat(pollN(c, 10)).hasSize(10);
                c.seek(0, 1_000);
                ConsumerGroupTest.await("the position moved to the queue's end", Duration.ofSeconds(10), () -> {
                    assertThat(c.poll(Duration.ofMillis(50))).isEmpty();
                    return c.position(0) == 10;
                });
                for (int i = 10; i < 15; i++) {
                    p.send("past", ("m" + i).getBytes());
                }
                assertThat(pollN(c, 5)).extracting(Message::queueOffset).containsExactly(10L, 11L, 12L, 13L, 14L);
                assertThat(c.position(0)).isEqualTo(15);
            }
        }
    }

    @Test
    void subscriptionRedeliversAfterAHandlerFailureAndCommits() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("hessian");
             Producer p = client.producer()) {
            oneQueueWith(client, p, "sub", 20);
            List<String> handled = new CopyOnWriteArrayList<>();
            AtomicBoolean failedOnce = new AtomicBoolean();
            try (Subscription s = client.subscribe("sub", "sg", m -> {
                String body = new String(ProduceConsumeTest.bytes(m));
                if (body.equals("m5") && failedOnce.compareAndSet(false, true)) {
                    throw new IllegalStateException("first attempt fails");
                }
                handled.add(body);
            })) {
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (handled.size() < 20 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                expected.add("m" + i);
            }
            assertThat(handled).as("each message handled once, in order, m5 after its retry").isEqualTo(expected);
            assertThat(client.committedOffset("sg", "sub", 0)).hasValue(20);
        }
    }
}
