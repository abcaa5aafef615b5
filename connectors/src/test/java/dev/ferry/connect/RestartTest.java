package dev.ferry.connect;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A task that failed on a broker or I/O error is restarted with a backoff; a broker outage does not fail a sink for good. */
class RestartTest extends RuntimeTestCase {
    private static void send(FerryClient c, String... bodies) {
        try (Producer p = c.producer()) {
            for (String b : bodies) {
                p.send("lines", b.getBytes(UTF_8));
            }
        }
    }

    private List<String> lines(Path f) {
        try {
            return Files.exists(f) ? Arrays.asList(Files.readString(f).split("\n")) : List.of();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aSinkCarriesOnAfterABrokerOutage() {
        send(client, "a", "b");
        Path out = dir.resolve("copy.log");
        ConnectorConfig sink = Configs.of("name", "copy", "connector", "file-sink", "file", out.toString(), "topics", "lines",
                "commit.interval.ms", "50");
        try (ConnectRuntime rt = start(sink)) {
            Await.until("a and b written, lag 0", Duration.ofSeconds(10),
                    () -> status(rt, "copy").recordsOut() == 2 && status(rt, "copy").lag() == 0, () -> rt.status());
            int port = broker.port();
            broker.stopGateway();
            Await.until("the sink to notice the broker is gone (lag unknown, or failed)", Duration.ofSeconds(10),
                    () -> status(rt, "copy").lag() == -1 || status(rt, "copy").state() == TaskState.FAILED, () -> rt.status());
            broker.restartGateway(port);
            try (FerryClient again = broker.client()) {
                send(again, "c");
            }
            Await.until("c written and the sink running", Duration.ofSeconds(30),
                    () -> lines(out).contains("c") && status(rt, "copy").state() == TaskState.RUNNING, () -> rt.status());
        }
        assertThat(lines(out)).as("at-least-once, in order").containsSubsequence("a", "b", "c");
    }

    @Test
    void aSourceThatFailedOnAnIoErrorShowsTheRestartAndRunsAgain() throws IOException {
        Path file = dir.resolve("app.log");
        Files.createDirectories(file); // reading a directory fails with an IOException
        ConnectorConfig source = Configs.of("name", "tail", "connector", "file-source", "file", file.toString(), "topic", "lines");
        try (ConnectRuntime rt = start(source)) {
            Await.until("the task failed, restarting", Duration.ofSeconds(10),
                    () -> status(rt, "tail").state() == TaskState.FAILED && status(rt, "tail").reason().matches(".* \\(restarting in \\d+ s\\)"),
                    () -> rt.status());
            Files.delete(file);
            Files.writeString(file, "one\ntwo\n");
            Await.until("restarted and both lines sent", Duration.ofSeconds(15),
                    () -> status(rt, "tail").state() == TaskState.RUNNING && status(rt, "tail").recordsOut() == 2, () -> rt.status());
            assertThat(status(rt, "tail").reason()).isEmpty();
        }
    }

    @Test
    void aSourceLosesNoLineAcrossABrokerOutage() throws Exception {
        Path file = dir.resolve("app.log");
        Files.writeString(file, "");
        ConnectorConfig source = Configs.of("name", "tail", "connector", "file-source", "file", file.toString(), "topic", "lines",
                "commit.interval.ms", "20");
        int total = 3_000;
        try (ConnectRuntime rt = start(source)) {
            int port = broker.port();
            for (int i = 0; i < total; i++) {
                Files.writeString(file, "line-" + i + "\n", UTF_8, java.nio.file.StandardOpenOption.APPEND);
                if (i == 1_000) {
                    broker.stopGateway(); // sends in flight fail; lines keep coming
                }
                if (i == 2_000) {
                    Thread.sleep(7_000); // longer than the producer's retries (~5 s): sends fail and the task restarts
                    broker.restartGateway(port);
                }
            }
            try (FerryClient again = broker.client();
                 dev.ferry.client.Consumer c = again.consumer(dev.ferry.client.ConsumerConfig.builder("lines", "check").build())) {
                java.util.Set<String> stored = new java.util.HashSet<>();
                Await.until("every line stored after the outage", Duration.ofSeconds(60), () -> {
                    c.poll(Duration.ofMillis(100)).forEach(m -> stored.add(UTF_8.decode(m.body()).toString()));
                    return stored.size() == total;
                }, () -> "stored " + stored.size() + " of " + total + "; " + rt.status());
            }
        }
    }
}
