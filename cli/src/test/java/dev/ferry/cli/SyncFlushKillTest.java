package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.ProducerConfig;
import dev.ferry.client.SendResult;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker with {@code --flush sync} killed with {@code kill -9} while two producers send and a
 * consumer group commits what it read: after the restart on the same data, every acknowledged
 * message is there exactly once at the offset its acknowledgement named, findable by its id and
 * its key, and the group's committed offsets are at most the queues' ends and at most what it
 * committed (a crash may forget the last commits, never invent one). A real child JVM, SIGKILL.
 */
class SyncFlushKillTest {
    private static final int QUEUES = 2;

    @TempDir
    Path dir;

    /** An acknowledged send: where the broker said it stored {@code body}. */
    private record Acked(int queueId, long queueOffset, String msgId, String body) {
    }

    @Test
    void acknowledgedSendsAndCommittedOffsetsSurviveAKill9() throws Exception {
        Map<String, Acked> acked = new ConcurrentHashMap<>();
        long[] committedBefore = new long[QUEUES];
        Process broker = ChildBroker.start(dir, "--flush", "sync");
        try {
            int port = ChildBroker.port(broker, dir);
            // short timeouts: after the kill, sends and the consumer's close fail soon instead of retrying for minutes
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).requestTimeoutMs(3_000).build())) {
                client.createTopic("orders", QUEUES);
                AtomicBoolean stop = new AtomicBoolean();
                AtomicLong sent = new AtomicLong();
                List<Thread> producers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    int thread = t;
                    Thread th = new Thread(() -> {
                        // no resends: a send resent after its 3 s request timeout (a slow disk under sync flush) is stored twice,
                        // once by each attempt, which is the producer's at-least-once, not the recovery this test checks
                        try (Producer p = client.producer(ProducerConfig.builder().deliveryTimeoutMs(3_000).retries(0).build())) {
                            for (int i = 0; !stop.get(); i++) {
                                String body = "p" + thread + "-" + i;
                                SendResult r = p.send(Message.builder("orders").queueId(i % QUEUES).keys(List.of("key-" + body))
                                        .body(body.getBytes(UTF_8)).build());
                                acked.put(body, new Acked(r.queueId(), r.queueOffset(), r.msgId(), body));
                                sent.incrementAndGet();
                            }
                        } catch (RuntimeException e) {
                            // the broker was killed under a send: not acknowledged, nothing to check
                        }
                    });
                    th.start();
                    producers.add(th);
                }
                ConsumerConfig config = ConsumerConfig.builder("orders", "billing").autoCommit(false)
                        .startFrom(StartPosition.COMMITTED_ELSE_EARLIEST).build();
                try (Consumer c = client.consumer(config)) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (sent.get() < 2_000 && System.nanoTime() < deadline) {
                        c.poll(Duration.ofMillis(50));
                        c.commitSync();
                        for (int q = 0; q < QUEUES; q++) {
                            committedBefore[q] = c.position(q);
                        }
                    }
                    ChildBroker.kill(broker); // SIGKILL while both producers send: no flush, no clean-close marker
                }
                stop.set(true);
                for (Thread th : producers) {
                    th.join(30_000);
                }
            }
        } finally {
            ChildBroker.kill(broker);
        }
        assertThat(acked).as("acknowledged before the kill").hasSizeGreaterThan(100);

        broker = ChildBroker.start(dir, "--flush", "sync");
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build())) {
                Map<String, List<Message>> stored = new HashMap<>();
                for (int q = 0; q < QUEUES; q++) {
                    long end = client.queueOffsets("orders", q).maxOffset();
                    long committed = client.committedOffset("billing", "orders", q).orElse(0);
                    assertThat(committed).as("committed offset of queue %d", q).isLessThanOrEqualTo(end)
                            .isLessThanOrEqualTo(committedBefore[q]);
                    try (Consumer c = client.consumer(ConsumerConfig.builder("orders", "audit").queues(q).build())) {
                        long read = 0;
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                        while (read < end && System.nanoTime() < deadline) {
                            for (Message m : c.poll(Duration.ofMillis(100))) {
                                stored.computeIfAbsent(UTF_8.decode(m.body()).toString(), k -> new ArrayList<>()).add(m);
                                read++;
                            }
                        }
                        assertThat(read).as("messages read from queue %d", q).isEqualTo(end);
                    }
                }
                int checked = 0;
                for (Acked a : acked.values()) {
                    assertThat(stored.get(a.body())).as("copies of acknowledged %s", a.body()).hasSize(1);
                    Message m = stored.get(a.body()).get(0);
                    assertThat(m.queueId()).as("queue of %s", a.body()).isEqualTo(a.queueId());
                    assertThat(m.queueOffset()).as("offset of %s", a.body()).isEqualTo(a.queueOffset());
                    if (checked++ % 50 == 0) {
                        assertThat(client.queryById(a.msgId())).as("by id: %s", a.body()).hasValueSatisfying(
                                found -> assertThat(UTF_8.decode(found.body()).toString()).isEqualTo(a.body()));
                        assertThat(client.queryByKey("orders", "key-" + a.body(), 10)).as("by key: %s", a.body())
                                .extracting(found -> UTF_8.decode(found.body()).toString()).containsExactly(a.body());
                    }
                }
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }
}
