package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
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
 * Delayed messages survive a broker process killed with {@code kill -9} while it is delivering
 * them: after a restart on the same data every one is delivered exactly once, none before its time.
 */
class DelayedKillTest {
    private static final int COUNT = 4_000;

    @TempDir
    Path dir;

    @Test
    void delayedMessagesDueAroundAKill9AreDeliveredOnceAfterTheRestart() throws Exception {
        Path config = dir.resolve("broker.properties");
        Files.writeString(config, "");
        long due;
        Process broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build()); Producer p = client.producer()) {
                client.createTopic("later", 2);
                due = System.currentTimeMillis() + 3_000;
                List<Message> batch = new ArrayList<>();
                for (int i = 0; i < COUNT; i++) {
                    batch.add(Message.builder("later").body(("m-" + i).getBytes(UTF_8)).deliverAt(due + (i % 50))
                            .properties(Map.of("due", Long.toString(due + (i % 50)))).build());
                    if (batch.size() == 200) {
                        p.sendBatch(batch).join();
                        batch = new ArrayList<>();
                    }
                }
                assertThat(System.currentTimeMillis()).as("sent before due").isLessThan(due);
                // kill while the deliveries run: as soon as the first ones are visible
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (client.queueOffsets("later", 0).maxOffset() + client.queueOffsets("later", 1).maxOffset() == 0
                        && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
            }
        } finally {
            broker.destroyForcibly();
            assertThat(broker.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }

        broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build())) {
                Map<String, Integer> seen = new HashMap<>();
                List<String> early = new ArrayList<>();
                try (Consumer c = client.consumer(ConsumerConfig.builder("later", "reader").build())) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    long quietUntil = Long.MAX_VALUE;
                    while (System.nanoTime() < deadline && System.nanoTime() < quietUntil) {
                        List<Message> got = c.poll(Duration.ofMillis(100));
                        for (Message m : got) {
                            seen.merge(UTF_8.decode(m.body()).toString(), 1, Integer::sum);
                            if (m.storeTimestamp() < Long.parseLong(m.properties().get("due"))) {
                                early.add(UTF_8.decode(m.body()).toString());
                            }
                        }
                        if (seen.size() >= COUNT && quietUntil == Long.MAX_VALUE) {
                            quietUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_000);
                        }
                    }
                }
                assertThat(early).as("delivered before their time").isEmpty();
                assertThat(seen).as("distinct delayed messages delivered").hasSize(COUNT);
                assertThat(seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList())
                        .as("delivered twice").isEmpty();
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }

}
