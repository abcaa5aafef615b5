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

    /**
     * The limits refuse only a FETCH that would wait (docs/PROTOCOL.md, "Long-poll limits"): with
     * the gateway's waiting places all taken, a consumer with messages to read, which asks to wait
     * as every long-polling consumer does, still gets them; one at its queue's end gets BUSY.
     */
    @Test
    void pastTheGatewaysLimitAFetchWithMessagesToReadIsAnswered() throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l, gw -> gw.maxParkedFetches(4));
             TestClient waiter = server.connect("json"); TestClient consumer = server.connect("binary")) {
            waiter.createTopic("idle", 1);
            waiter.createTopic("backlog", 1);
            assertThat(consumer.send(TestClient.message("backlog", 0, new byte[] {7})).status()).isEqualTo(Status.OK);
            for (int i = 0; i < 4; i++) {
                waiter.writeNoFlush(waiter.fetchRequest("idle", 0, 0, 32, 30_000));
            }
            waiter.flush();
            await("the gateway's 4 places taken", () -> server.broker.waitingFetches() == 4);

            Command backlog = consumer.call(consumer.fetchRequest("backlog", 0, 0, 32, 30_000));
            assertThat(backlog.status()).as(backlog.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(backlog)).as("the backlog's message").hasSize(1);

            Command atTheEnd = consumer.call(consumer.fetchRequest("backlog", 0, 1, 32, 30_000));
            assertThat(atTheEnd.status()).isEqualTo(Status.BUSY);
            assertThat(atTheEnd.message()).contains("fetches waiting on this broker: 4 (limit 4)");
            assertThat(server.broker.waitingFetches()).isEqualTo(4);
        }
    }

    /** As the gateway's limit, a connection's own refuses only a FETCH that would wait, and counts only fetches that wait. */
    @Test
    void pastAConnectionsLimitAFetchWithMessagesToReadIsAnswered() throws Exception {
        try (TestServer server = TestServer.start(dir, l -> l, gw -> gw.maxParkedFetchesPerConnection(2));
             TestClient c = server.connect("binary")) {
            c.createTopic("idle", 1);
            c.createTopic("backlog", 1);
            assertThat(c.send(TestClient.message("backlog", 0, new byte[] {7})).status()).isEqualTo(Status.OK);
            // answered at once: they do not count against the limit
            for (int i = 0; i < 3; i++) {
                Command r = c.call(c.fetchRequest("backlog", 0, 0, 32, 30_000));
                assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
            }
            Command first = c.fetchRequest("idle", 0, 0, 32, 30_000);
            Command second = c.fetchRequest("idle", 0, 0, 32, 30_000);
            c.writeNoFlush(first);
            c.writeNoFlush(second);
            c.flush();
            await("the connection's 2 places taken", () -> server.broker.waitingFetches() == 2);

            Command backlog = c.call(c.fetchRequest("backlog", 0, 0, 32, 30_000));
            assertThat(backlog.status()).as(backlog.message()).isEqualTo(Status.OK);
            assertThat(TestClient.fetched(backlog)).hasSize(1);
            Command atTheEnd = c.call(c.fetchRequest("backlog", 0, 1, 32, 30_000));
            assertThat(atTheEnd.status()).isEqualTo(Status.BUSY);
            assertThat(atTheEnd.message()).contains("fetches waiting on this connection: 2 (limit 2)");

            // a message answers the waiting two, which frees their places
            try (TestClient producer = server.connect("binary")) {
                assertThat(producer.send(TestClient.message("idle", 0, new byte[] {1})).status()).isEqualTo(Status.OK);
            }
            assertThat(List.of(c.read().requestId(), c.read().requestId())).as("both answered, in the order they were woken")
                    .containsExactlyInAnyOrder(first.requestId(), second.requestId());
            await("the woken fetches gone", () -> server.broker.waitingFetches() == 0);
            c.write(c.fetchRequest("idle", 0, 1, 32, 30_000));
            await("a place free again: the next fetch waits", () -> server.broker.waitingFetches() == 1);
        }
    }
}
