package dev.ferry.connect;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping a source whose sends the broker never acknowledges ends within the runtime's stop timeout. */
class StopTest {
    @TempDir
    Path dir;
    private BrokerFixture broker;

    @BeforeEach
    void startBroker() {
        broker = BrokerFixture.start(dir.resolve("broker"));
        try (FerryClient c = broker.client()) {
            c.createTopic("lines", 1);
        }
    }

    @AfterEach
    void stopBroker() {
        broker.close();
    }

    private void append(String text) throws IOException {
        Files.writeString(dir.resolve("app.log"), text, UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static ConnectorStatus status(ConnectRuntime rt) {
        return rt.status().get(0);
    }

    @Test
    void aSourceStopsWithinTheDeadlineWhenTheBrokerIsGoneAndCommitsOnlyWhatWasAcknowledged() throws IOException {
        append("a\nb\n");
        ConnectorConfig source = Configs.of("name", "tail", "connector", "file-source", "file", dir.resolve("app.log").toString(),
                "topic", "lines");
        ConnectRuntime rt = ConnectRuntime.create(List.of(source), RuntimeOptions.of(broker.server(), dir.resolve("state"))
                .withStatusIntervalMs(100).withStopTimeoutMs(2_000));
        rt.start();
        int port = broker.port();
        try {
            Await.until("a and b acknowledged", Duration.ofSeconds(10), () -> status(rt).recordsOut() == 2, () -> rt.status());
            broker.stopGateway();
            append("c\nd\n");
            Await.until("c and d handed to the producer", Duration.ofSeconds(10), () -> status(rt).recordsIn() == 4, () -> rt.status());
        } finally {
            long t0 = System.nanoTime();
            rt.close();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(ms).as("close() took %d ms with a 2 s stop timeout", ms).isLessThan(8_000);
        }
        assertThat(Thread.getAllStackTraces().keySet()).as("no task thread left running")
                .noneMatch(t -> t.getName().equals("connect-tail") && t.isAlive() && !t.isDaemon());
        assertThat(new PositionStore(dir.resolve("state/positions")).load("tail")).as("committed up to b only")
                .containsEntry("offset", "4");

        broker.restartGateway(port);
        try (ConnectRuntime again = ConnectRuntime.create(List.of(source), RuntimeOptions.of(broker.server(), dir.resolve("state")))) {
            again.start();
            Await.until("c and d sent after the restart", Duration.ofSeconds(10), () -> status(again).recordsOut() == 2,
                    () -> again.status());
        }
        List<String> bodies = new ArrayList<>();
        try (FerryClient c = broker.client();
             Consumer consumer = c.consumer(ConsumerConfig.builder("lines", "check").autoCommit(false).build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!bodies.containsAll(List.of("a", "b", "c", "d")) && System.nanoTime() < deadline) {
                for (Message m : consumer.poll(Duration.ofMillis(200))) {
                    bodies.add(UTF_8.decode(m.body()).toString());
                }
            }
        }
        assertThat(bodies).as("nothing lost").containsSubsequence("a", "b", "c", "d");
    }
}
