package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.protocol.Message;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delayed messages survive a broker process killed with {@code kill -9} while it is delivering
 * them: after a restart on the same data every one is delivered exactly once, none before its time.
 */
class DelayedKillTest {
    private static final Pattern LISTENING = Pattern.compile("listening on [^:]+:(\\d+)");
    private static final int COUNT = 4_000;

    @TempDir
    Path dir;

    @Test
    void delayedMessagesDueAroundAKill9AreDeliveredOnceAfterTheRestart() throws Exception {
        Path config = dir.resolve("broker.properties");
        Files.writeString(config, "");
        long due;
        Process broker = startBroker(config);
        try {
            int port = port(broker);
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

        broker = startBroker(config);
        try {
            int port = port(broker);
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

    private Process startBroker(Path config) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), "dev.ferry.cli.Ferry", "broker",
                "--config", config.toString(), "--data", dir.resolve("data").toString(), "--port", "0")
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.err").toFile())).start();
    }

    private int port(Process broker) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                Thread drain = new Thread(() -> {
                    try {
                        while (out.readLine() != null) {
                            // keep the pipe from filling
                        }
                    } catch (IOException ignored) {
                        // the broker is gone
                    }
                });
                drain.setDaemon(true);
                drain.start();
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the broker exited before listening; stderr: " + Files.readString(dir.resolve("broker.err")));
    }
}
