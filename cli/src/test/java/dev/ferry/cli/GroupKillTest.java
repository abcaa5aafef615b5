package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.FerryException;
import dev.ferry.client.GroupConsumer;
import dev.ferry.client.GroupConsumerConfig;
import dev.ferry.client.Producer;
import dev.ferry.client.ProducerConfig;
import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clustering group member acking what it handles while a producer sends with {@code --flush
 * sync}, and the broker is killed with {@code kill -9}: after the restart, a member of the same
 * group reads on from the committed offsets, and what the two handled covers every acknowledged
 * send (at-least-once: some come twice, none is skipped). A real child JVM, SIGKILL.
 */
class GroupKillTest {
    private static final int QUEUES = 4;

    @TempDir
    Path dir;

    @Test
    void whatAGroupHandledBeforeAndAfterAKill9CoversEveryAcknowledgedSend() throws Exception {
        Set<String> acked = ConcurrentHashMap.newKeySet();
        Set<String> handled = new HashSet<>();
        Process broker = ChildBroker.start(dir, "--flush", "sync");
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).requestTimeoutMs(3_000).build())) {
                client.createTopic("orders", QUEUES);
                AtomicBoolean stop = new AtomicBoolean();
                Thread producer = new Thread(() -> {
                    try (Producer p = client.producer(ProducerConfig.builder().deliveryTimeoutMs(3_000).build())) {
                        for (int i = 0; !stop.get(); i++) {
                            String body = "m" + i;
                            p.send(Message.builder("orders").queueId(i % QUEUES).body(body.getBytes(UTF_8)).build());
                            acked.add(body);
                        }
                    } catch (RuntimeException e) {
                        // killed under a send: not acknowledged
                    }
                });
                producer.start();
                try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("orders", "billing").build())) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (handled.size() < 1_500 && System.nanoTime() < deadline) {
                        for (Message m : c.poll(Duration.ofMillis(50))) {
                            handled.add(UTF_8.decode(m.body()).toString());
                            c.ack(m);
                        }
                    }
                    ChildBroker.kill(broker); // SIGKILL while the producer sends and the member acks
                }
                stop.set(true);
                producer.join(30_000);
            }
        } finally {
            ChildBroker.kill(broker);
        }
        assertThat(handled).as("handled before the kill").hasSizeGreaterThan(100);

        broker = ChildBroker.start(dir, "--flush", "sync");
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                 GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("orders", "billing").build())) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!handled.containsAll(acked) && System.nanoTime() < deadline) {
                    try {
                        for (Message m : c.poll(Duration.ofMillis(100))) {
                            handled.add(UTF_8.decode(m.body()).toString());
                            c.ack(m);
                        }
                    } catch (FerryException e) {
                        // a passing refusal while the member joins: it asks again
                    }
                }
                Set<String> missed = new HashSet<>(acked);
                missed.removeAll(handled);
                assertThat(missed).as("acknowledged sends the group never handled").isEmpty();
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }
}
