package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker process killed with {@code kill -9} right after a deleted topic was created again:
 * after the restart on the same data the topic still starts where it was created again, and a
 * new group gets only what is sent to it from then on, none of the deleted topic's messages. The
 * broker is a real child JVM ({@code ferry broker}), killed with SIGKILL, so nothing is written at
 * close; where the topic starts must already be on disk when CREATE_TOPIC is answered.
 */
class RecreatedTopicKillTest {
    private static final Pattern LISTENING = Pattern.compile("listening on [^:]+:(\\d+)");

    @TempDir
    Path dir;

    @Test
    void aTopicCreatedAgainStillStartsEmptyAfterAKill9() throws Exception {
        long start;
        Process broker = startBroker();
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port(broker)).build())) {
                client.createTopic("orders", 1);
                try (Producer p = client.producer()) {
                    for (int i = 0; i < 5; i++) {
                        p.send("orders", ("old-" + i).getBytes(UTF_8));
                    }
                }
                client.deleteTopic("orders");
                client.createTopic("orders", 1);
                start = client.queueOffsets("orders", 0).minOffset();
                assertThat(start).as("created again, it starts after the deleted topic's messages").isEqualTo(5);
            }
        } finally {
            broker.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no clean-close marker
            assertThat(broker.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(broker.exitValue()).as("killed by SIGKILL").isEqualTo(137);

        broker = startBroker();
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port(broker)).build())) {
                assertThat(client.queueOffsets("orders", 0).minOffset()).as("after the kill").isEqualTo(start);
                try (Producer p = client.producer()) {
                    p.send("orders", "new-0".getBytes(UTF_8));
                }
                List<String> got = new ArrayList<>();
                try (Consumer c = client.consumer(ConsumerConfig.builder("orders", "fresh").build())) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (got.isEmpty() && System.nanoTime() < deadline) {
                        c.poll(Duration.ofMillis(100)).forEach(m -> got.add(UTF_8.decode(m.body()).toString()));
                    }
                    c.poll(Duration.ofMillis(300)).forEach(m -> got.add(UTF_8.decode(m.body()).toString()));
                }
                assertThat(got).as("what a new group gets").containsExactly("new-0");
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }

    private Process startBroker() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), "dev.ferry.cli.Ferry", "broker",
                "--data", dir.resolve("data").toString(), "--port", "0")
                .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.err").toFile())).start();
    }

    /** The port the broker printed it listens on. */
    private int port(Process broker) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the broker exited before listening; stderr: " + Files.readString(dir.resolve("broker.err")));
    }
}
