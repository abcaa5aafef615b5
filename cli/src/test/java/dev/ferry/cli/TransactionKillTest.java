package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.TransactionProducer;
import dev.ferry.client.TransactionState;
import dev.ferry.protocol.Message;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transactional messages survive a broker process killed with {@code kill -9} between the half
 * message and the producer's decision: after a restart on the same data a commit applies once, a
 * rollback leaves nothing visible, and an undecided half is checked back with the producer group.
 * The broker is a real child JVM ({@code ferry broker}), killed with SIGKILL.
 */
class TransactionKillTest {

    @TempDir
    Path dir;

    @Test
    void halvesSurviveAKill9AndTheirDecisionsApplyOnceAfterTheRestart() throws Exception {
        Path config = dir.resolve("broker.properties");
        Files.writeString(config, "transactions.check.timeout.ms=300\ntransactions.check.interval.ms=200\n");
        String committed;
        String rolledBack;
        Process broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                 TransactionProducer p = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
                client.createTopic("orders", 2);
                committed = p.sendHalf(message("to-commit"));
                rolledBack = p.sendHalf(message("to-roll-back"));
                p.sendHalf(message("to-check"));
                assertThat(read(client, 300)).as("halves are invisible before a decision").isEmpty();
            }
        } finally {
            broker.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no clean-close marker
            assertThat(broker.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(broker.exitValue()).as("killed by SIGKILL").isEqualTo(137);

        broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                 TransactionProducer p = client.transactionProducer("tx", (m, id) ->
                         UTF_8.decode(m.body()).toString().equals("to-check") ? TransactionState.COMMIT : TransactionState.UNKNOWN)) {
                assertThat(p.commit(committed)).as("the commit applies after the restart").isPresent();
                assertThat(p.commit(committed)).as("and only once").isEmpty();
                p.rollback(rolledBack);
                List<String> seen = new ArrayList<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!seen.contains("to-check") && System.nanoTime() < deadline) {
                    seen = read(client, 300); // the undecided half is checked back; the checker says COMMIT
                }
                assertThat(seen).as("what consumers see after the restart").containsExactlyInAnyOrder("to-commit", "to-check");
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }

    private static Message message(String body) {
        return Message.builder("orders").body(body.getBytes(UTF_8)).build();
    }

    /** Every message of "orders" a fresh consumer gets within {@code settleMs}, as text. */
    private static List<String> read(FerryClient client, long settleMs) {
        List<String> out = new ArrayList<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder("orders", "reader-" + System.nanoTime()).build())) {
            long deadline = System.nanoTime() + settleMs * 1_000_000;
            do {
                c.poll(Duration.ofMillis(50)).forEach(m -> out.add(UTF_8.decode(m.body()).toString()));
            } while (System.nanoTime() < deadline);
        }
        return out;
    }
}
