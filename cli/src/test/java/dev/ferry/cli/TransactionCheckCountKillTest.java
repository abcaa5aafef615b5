package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.FerryException;
import dev.ferry.client.TransactionProducer;
import dev.ferry.client.TransactionState;
import dev.ferry.protocol.Message;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A half message's check count survives a broker killed with {@code kill -9}
 * (DATA/transactions/checks is written before the checks it counts are sent): the checks seen by
 * the producer before the kill count towards {@code transactions.max.checks} after the restart.
 * Here the broker is restarted with a limit the half has reached already and a check interval of
 * an hour: it must give the half up at its first scan. With counts that start from zero at every
 * start, it sent the half one more check and kept it for another hour.
 */
class TransactionCheckCountKillTest {

    @TempDir
    Path dir;

    @Test
    void checksCountedBeforeAKill9CountAfterTheRestart() throws Exception {
        Path first = dir.resolve("first.properties");
        Files.writeString(first, "transactions.check.timeout.ms=200\ntransactions.check.interval.ms=200\ntransactions.max.checks=1000\n");
        Path second = dir.resolve("second.properties");
        Files.writeString(second, "transactions.check.timeout.ms=200\ntransactions.check.interval.ms=3600000\ntransactions.max.checks=2\n");
        String id;
        AtomicInteger checks = new AtomicInteger();
        Process broker = ChildBroker.start(dir, "--config", first.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                 TransactionProducer p = client.transactionProducer("tx", (m, txId) -> {
                     checks.incrementAndGet();
                     return TransactionState.UNKNOWN;
                 })) {
                client.createTopic("orders", 1);
                id = p.sendHalf(Message.builder("orders").body("undecided".getBytes(UTF_8)).build());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (checks.get() < 2 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(checks.get()).as("checks seen before the kill").isGreaterThanOrEqualTo(2);
            }
        } finally {
            broker.destroyForcibly(); // SIGKILL: no shutdown hook, no clean close
            assertThat(broker.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(broker.exitValue()).as("killed by SIGKILL").isEqualTo(137);
        assertThat(dir.resolve("data/transactions/checks")).as("the counts file").exists();

        broker = ChildBroker.start(dir, "--config", second.toString());
        try {
            int port = ChildBroker.port(broker, dir);
            String givenUp = "transaction " + id + " of producer group tx: still undecided after ";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.readString(dir.resolve("broker.err")).contains(givenUp) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(Files.readString(dir.resolve("broker.err"))).as("the restarted broker gives the half up: it was checked twice already")
                    .contains(givenUp);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                 TransactionProducer p = client.transactionProducer("tx", (m, txId) -> TransactionState.UNKNOWN)) {
                assertThatThrownBy(() -> p.commit(id)).as("rolled back by the check limit").isInstanceOf(FerryException.class);
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }
}
