package dev.ferry.client;

import static dev.ferry.client.ConsumerGroupTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker restart forgets every queue lock (they are in memory), while an orderly member may
 * still have a batch of its queue in hand. Before, the member went on handling that batch until
 * its connection was back (its lease, 2/3 of the session timeout, still ran): another member
 * that was back first joined, locked the queue at once and read it from the committed offset,
 * so both handled the queue at the same time, the same messages twice and out of order. Member
 * a reconnects slowly here (a long retry backoff), b at once.
 */
class OrderlyRestartTest {
    @TempDir
    Path dir;

    private static GroupConsumerConfig.Builder member(String clientId) {
        return GroupConsumerConfig.builder("rq", "rg").clientId(clientId).orderly(true).heartbeatIntervalMs(50).maxWaitMs(200)
                .retryBackoffMs(50);
    }

    private static FerryClient client(int port) {
        return FerryClient.connect(ClientConfig.builder().port(port).codec("binary").requestTimeoutMs(10_000).build());
    }

    @Test
    void afterABrokerRestartAnotherMemberDoesNotHandleTheQueueWhileItsOldHolderStillDoes() throws Exception {
        Path data = dir.resolve("data");
        GroupConfig groups = GroupConfig.builder().sessionTimeoutMs(3_000).build();
        BrokerFixture server = BrokerFixture.start(data, UnaryOperator.identity(), UnaryOperator.identity(), groups);
        int port = server.port();
        AtomicReference<String> handling = new AtomicReference<>();
        List<String> overlaps = new CopyOnWriteArrayList<>();
        List<String> log = Collections.synchronizedList(new ArrayList<>()); // "offset member", in handling order
        java.util.function.Function<String, MessageHandler> handler = name -> m -> {
            String other = handling.getAndSet(name);
            if (other != null) {
                overlaps.add("offset " + m.queueOffset() + " by " + name + " while " + other + " handled the queue");
            }
            Thread.sleep(20); // a slow handler: the batch in hand lasts
            log.add(m.queueOffset() + " " + name);
            handling.compareAndSet(name, null);
        };
        try (FerryClient admin = client(port); FerryClient ca = client(port); FerryClient cb = client(port)) {
            admin.createTopic("rq", 1);
            try (Producer p = admin.producer(ProducerConfig.builder().maxInFlight(1).build())) {
                for (int i = 0; i < 300; i++) {
                    p.sendAsync(Message.builder("rq").queueId(0).body(("m" + i).getBytes(StandardCharsets.UTF_8)).build());
                }
                p.flush();
            }
            Subscription a = ca.subscribe(member("a").retryBackoffMs(1_500).build(), handler.apply("a"));
            await("a handles the queue", Duration.ofSeconds(10), () -> log.size() >= 10);
            Subscription b = cb.subscribe(member("b").build(), handler.apply("b")); // no queue: a keeps the only one
            await("b a member", Duration.ofSeconds(10), () -> admin.describeGroup("rg").members().size() == 2);
            server.close();
            server = BrokerFixture.start(data, UnaryOperator.identity(), g -> g.port(port), groups);
            await("every message handled", Duration.ofSeconds(30), () -> {
                synchronized (log) {
                    return log.stream().map(e -> e.split(" ")[0]).distinct().count() == 300;
                }
            });
            a.close();
            b.close();
        } finally {
            server.close();
        }
        assertThat(overlaps).as("the queue handled by two members at once").isEmpty();
    }
}
