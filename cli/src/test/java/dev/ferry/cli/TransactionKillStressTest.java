package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.TransactionProducer;
import dev.ferry.client.TransactionState;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import dev.ferry.protocol.Message;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transactions decided while the broker is killed with {@code kill -9}: after the restart every
 * transaction the producer meant to commit is visible exactly once, none meant to roll back is.
 */
class TransactionKillStressTest {

    @TempDir
    Path dir;

    private static TransactionState intent(Message m) {
        return UTF_8.decode(m.body()).toString().startsWith("c-") ? TransactionState.COMMIT : TransactionState.ROLLBACK;
    }

    @Test
    void decisionsUnderWayAtAKill9AreAppliedOnceAfterTheRestart() throws Exception {
        Path config = dir.resolve("broker.properties");
        Files.writeString(config, "transactions.check.timeout.ms=500\ntransactions.check.interval.ms=200\n");
        Map<String, Boolean> acked = new ConcurrentHashMap<>(); // body -> half acknowledged
        Process broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build())) {
                client.createTopic("orders", 2);
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    int thread = t;
                    Thread th = new Thread(() -> {
                        try (TransactionProducer p = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
                            for (int i = 0; !stop.get(); i++) {
                                String body = (i % 2 == 0 ? "c-" : "r-") + thread + "-" + i;
                                try {
                                    p.sendInTransaction(Message.builder("orders").body(body.getBytes(UTF_8)).build(), (m, id) -> {
                                        acked.put(body, true);
                                        return intent(m);
                                    });
                                } catch (RuntimeException e) {
                                    return; // the broker is gone
                                }
                            }
                        } catch (RuntimeException e) {
                            // closing after the kill
                        }
                    });
                    th.start();
                    threads.add(th);
                }
                Thread.sleep(2_500);
                broker.destroyForcibly();
                stop.set(true);
                for (Thread th : threads) {
                    th.join(30_000);
                }
            }
        } finally {
            broker.destroyForcibly();
            assertThat(broker.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(acked.size()).as("transactions begun").isGreaterThan(20);

        broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                 TransactionProducer p = client.transactionProducer("tx", (m, id) -> intent(m))) {
                // check-backs decide what was left undecided: read until every commit meant is there, then a while more
                Map<String, Integer> seen = new HashMap<>();
                try (Consumer c = client.consumer(ConsumerConfig.builder("orders", "reader").build())) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    long quietUntil = Long.MAX_VALUE;
                    while (System.nanoTime() < Math.min(deadline, quietUntil)) {
                        c.poll(Duration.ofMillis(100)).forEach(m -> seen.merge(UTF_8.decode(m.body()).toString(), 1, Integer::sum));
                        if (quietUntil == Long.MAX_VALUE && acked.keySet().stream().filter(k -> k.startsWith("c-")).allMatch(seen::containsKey)) {
                            quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                        }
                    }
                }
                assertThat(seen.keySet().stream().filter(b -> b.startsWith("r-")).toList()).as("rolled back yet visible").isEmpty();
                assertThat(seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList())
                        .as("visible twice").isEmpty();
                assertThat(acked.keySet().stream().filter(b -> b.startsWith("c-") && !seen.containsKey(b)).toList())
                        .as("meant to commit, half acknowledged, not visible").isEmpty();
                System.out.println("RESULT " + acked.size() + " transactions begun, " + seen.size() + " visible");
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }

}
