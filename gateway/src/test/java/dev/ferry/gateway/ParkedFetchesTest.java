package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Long-polling fetches end with their connection, and the gateway bounds how many wait in all:
 * a client that parks fetches and disconnects, over and over, leaves nothing waiting for the
 * producers' appends to wake.
 */
class ParkedFetchesTest {
    @TempDir
    Path dir;

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L; // well under the fetches' own 30 s wait
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void fetchesParkedByAConnectionAreCancelledWhenItCloses() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient producer = server.connect("binary")) {
            producer.createTopic("orphan", 1);
            for (int round = 0; round < 3; round++) {
                try (TestClient c = server.connect("json")) {
                    for (int i = 0; i < 1024; i++) {
                        c.writeNoFlush(c.fetchRequest("orphan", 0, 0, 32, 30_000));
                    }
                    c.flush();
                    await("1,024 parked fetches", () -> server.broker.waitingFetches() == 1024);
                }
                await("the closed connection's parked fetches gone", () -> server.broker.waitingFetches() == 0);
            }
            assertThat(producer.send(TestClient.message("orphan", 0, new byte[] {1})).status()).isEqualTo(Status.OK);
            assertThat(server.broker.waitingFetches()).isZero();
        }
    }

    @Test
    void pastTheGatewaysLimitAFetchThatWouldWaitGetsBusy() throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l, gw -> gw.maxParkedFetches(10));
             TestClient a = server.connect("json"); TestClient b = server.connect("binary")) {
            a.createTopic("capped", 1);
            for (int i = 0; i < 6; i++) {
                a.writeNoFlush(a.fetchRequest("capped", 0, 0, 32, 30_000));
            }
            a.flush();
            await("a's 6 parked", () -> server.broker.waitingFetches() == 6);
            List<Command> mine = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Command f = b.fetchRequest("capped", 0, 0, 32, 30_000);
                mine.add(f);
                b.writeNoFlush(f);
            }
            b.flush();
            // 10 wait (a's 6, b's first 4); b's last 2 are answered at once
            for (int i = 4; i < 6; i++) {
                Command r = b.read();
                assertThat(r.requestId()).isEqualTo(mine.get(i).requestId());
                assertThat(r.status()).isEqualTo(Status.BUSY);
                assertThat(r.message()).contains("fetches waiting on this broker: 10 (limit 10)");
            }
            assertThat(server.broker.waitingFetches()).isEqualTo(10);
            // a message answers the waiting ones, which frees their places
            try (TestClient producer = server.connect("binary")) {
                assertThat(producer.send(TestClient.message("capped", 0, new byte[] {1})).status()).isEqualTo(Status.OK);
            }
            await("the woken fetches gone", () -> server.broker.waitingFetches() == 0);
        }
    }
}
