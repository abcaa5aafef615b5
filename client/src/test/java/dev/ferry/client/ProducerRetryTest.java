package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The producer's retries: on BUSY from a gateway shedding load, and across a lost connection. */
class ProducerRetryTest {
    @TempDir
    Path dir;

    @Test
    void busyBatchesAreResentUntilStored() {
        // more than 1 unflushed byte makes the gateway answer BUSY until the flusher catches up
        try (BrokerFixture server = BrokerFixture.start(dir, l -> l.flushIntervalMs(5).flushMinDirtyPages(1), g -> g.maxUnflushedBytes(1));
             FerryClient client = server.client("binary")) {
            client.createTopic("busy", 2);
            ProducerConfig config = ProducerConfig.builder().batchSizeBytes(2048).lingerMs(0).maxInFlight(4).retries(1_000)
                    .retryBackoffMs(1).maxRetryBackoffMs(20).build();
            List<CompletableFuture<SendResult>> acks = new ArrayList<>();
            try (Producer producer = client.producer(config)) {
                for (int i = 0; i < 300; i++) {
                    acks.add(producer.sendAsync("busy", ("m" + i).getBytes()));
                }
                producer.flush();
                assertThat(producer.resends()).as("batches resent after BUSY").isPositive();
            }
            acks.forEach(a -> assertThat(a).isCompleted());
            long stored = 0;
            for (int q = 0; q < 2; q++) {
                stored += client.queueOffsets("busy", q).maxOffset();
            }
            assertThat(stored).as("each message stored exactly once").isEqualTo(300);
        }
    }

    @Test
    void withoutRetriesBusyFailsTheSend() {
        try (BrokerFixture server = BrokerFixture.start(dir, g -> g.maxUnflushedBytes(1));
             FerryClient client = server.client("binary");
             Producer producer = client.producer(ProducerConfig.builder().retries(0).lingerMs(0).build())) {
            client.createTopic("busy0", 1);
            FerryException last = null;
            for (int i = 0; i < 50 && last == null; i++) {
                try {
                    producer.send(Message.builder("busy0").body(new byte[100]).build());
                } catch (FerryException e) {
                    last = e;
                }
            }
            assertThat(last).as("some send was answered BUSY").isNotNull();
            assertThat(last.status()).contains(Status.BUSY);
            assertThat(last.retryable()).isTrue();
        }
    }

    @Test
    void sendsSurviveAGatewayRestartOnTheSamePort() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).retryBackoffMs(10).build())) {
            client.createTopic("restart", 1);
            producer.send("restart", "before".getBytes());
            int port = server.port();
            server.gateway.close();
            // sent while the gateway is down: waits in the producer until it reconnects
            CompletableFuture<SendResult> during = producer.sendAsync("restart", "during".getBytes());
            Thread.sleep(100);
            try (Gateway again = Gateway.start(server.broker, GatewayConfig.builder().host("127.0.0.1").port(port).build())) {
                SendResult r = during.get(20, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.queueOffset()).isEqualTo(1);
                assertThat(producer.send("restart", "after".getBytes()).queueOffset()).isEqualTo(2);
            }
        }
    }

    @Test
    void badInputIsNamed() {
        assertThatThrownBy(() -> ClientConfig.builder().server("nohost").build()).hasMessageContaining("server");
        assertThatThrownBy(() -> ClientConfig.builder().port(0).build()).hasMessageContaining("port: 0");
        assertThatThrownBy(() -> ProducerConfig.builder().maxInFlight(0).build()).hasMessageContaining("maxInFlight: 0");
        assertThatThrownBy(() -> ConsumerConfig.builder("", "g").build()).hasMessageContaining("topic");
        try (BrokerFixture server = BrokerFixture.start(dir)) {
            assertThatThrownBy(() -> server.client("xml")).hasMessageContaining("codec: 'xml'");
        }
    }
}
