package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member reads a queue for one tenure, named by its {@code since}, over a real socket: a member
 * that joins again after a broker restart gets a new {@code since} (and so restarts at the
 * committed offset, keeping what it had in hand), and a long poll parked by a member that has
 * since lost its queue is fenced rather than handed the batch the new owner gets.
 */
class GroupTenureTest {
    private static final Pattern ORDERS_0 = Pattern.compile("(?m)^orders 0 (\\d+)$");

    @TempDir
    Path dir;

    private static Command join(TestClient c, String clientId) throws IOException {
        Command r = c.call(c.request(RequestCode.JOIN_GROUP).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, clientId)
                .header(Headers.TOPICS, "orders").build());
        assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
        return r;
    }

    private static Command heartbeat(TestClient c, String clientId) throws IOException {
        Command r = c.call(c.request(RequestCode.GROUP_HEARTBEAT).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, clientId).build());
        assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
        return r;
    }

    private static Command fetch(TestClient c, String clientId, long generation, long offset, int maxWaitMs) {
        return c.request(RequestCode.FETCH).header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, offset)
                .header(Headers.MAX_MESSAGES, 32).header(Headers.MAX_WAIT_MS, maxWaitMs).header(Headers.GROUP, "g")
                .header(Headers.CLIENT_ID, clientId).header(Headers.GENERATION, generation).build();
    }

    /** The {@code since} of orders/0 in an assignment body, or -1 if it is not there. */
    private static long sinceOfOrders0(Command assignment) {
        Matcher m = ORDERS_0.matcher(new String(TestClient.bytes(assignment.body()), StandardCharsets.UTF_8));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    @Test
    void aMemberThatJoinsAgainAfterARestartGetsANewSinceAndItsOldNackIsFenced() throws IOException {
        long sinceBefore;
        long generationBefore;
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("orders", 1);
            for (int i = 0; i < 3; i++) {
                c.send(TestClient.message("orders", 0, ("m" + i).getBytes(StandardCharsets.UTF_8)));
            }
            Command j = join(c, "m1");
            sinceBefore = sinceOfOrders0(j);
            generationBefore = Long.parseLong(j.header(Headers.GENERATION));
            assertThat(TestClient.fetched(c.call(fetch(c, "m1", generationBefore, 0, 0)))).hasSize(3); // 0..2 in hand
        }
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            Command j = join(c, "m1");
            assertThat(sinceOfOrders0(j)).as("a new since: the member restarts the queue at the committed offset")
                    .isGreaterThan(sinceBefore);
            long generation = Long.parseLong(j.header(Headers.GENERATION));
            Command refetch = c.call(fetch(c, "m1", generation, server.broker.committedOffset("g", "orders", 0).orElse(0), 0));
            assertThat(TestClient.fetched(refetch)).extracting(TestClient.Fetched::queueOffset).containsExactly(0L, 1L, 2L);
            Command staleNack = c.call(c.request(RequestCode.NACK).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, "m1")
                    .header(Headers.GENERATION, generationBefore).header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0)
                    .header(Headers.OFFSET, 1).build());
            assertThat(staleNack.status()).as("a NACK of the tenure before the restart").isEqualTo(Status.FENCED);
            Command nack = c.call(c.request(RequestCode.NACK).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, "m1")
                    .header(Headers.GENERATION, generation).header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0)
                    .header(Headers.OFFSET, 1).build());
            assertThat(nack.status()).isEqualTo(Status.OK);
            assertThat(server.broker.pendingDelayed()).as("the retry copy of message 1, in its backoff").isEqualTo(1);
        }
    }

    /**
     * A NACK whose reconsumeTimes is negative is refused, nothing moved: it was taken as 0, so a
     * client sending it kept a failing message retrying for ever, never reaching the dead-letter topic.
     */
    @Test
    void aNackWithANegativeReconsumeTimesIsRefused() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("orders", 1);
            c.send(TestClient.message("orders", 0, "m".getBytes(StandardCharsets.UTF_8)));
            long generation = Long.parseLong(join(c, "m1").header(Headers.GENERATION));
            assertThat(TestClient.fetched(c.call(fetch(c, "m1", generation, 0, 0)))).hasSize(1);
            Command nack = c.call(c.request(RequestCode.NACK).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, "m1")
                    .header(Headers.GENERATION, generation).header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0)
                    .header(Headers.OFFSET, 0).header(Headers.RECONSUME_TIMES, -3).build());
            assertThat(nack.status()).as(nack.message()).isEqualTo(Status.BAD_REQUEST);
            assertThat(nack.message()).contains("reconsumeTimes");
            assertThat(server.broker.pendingDelayed()).as("no retry copy").isZero();
        }
    }

    /** A NACK's maxReconsumeTimes outside 0..10,000 is refused, naming the range; nothing is moved. */
    @Test
    void aNackWithAMaxReconsumeTimesOutOfRangeIsRefused() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("orders", 1);
            c.send(TestClient.message("orders", 0, "m".getBytes(StandardCharsets.UTF_8)));
            long generation = Long.parseLong(join(c, "m1").header(Headers.GENERATION));
            assertThat(TestClient.fetched(c.call(fetch(c, "m1", generation, 0, 0)))).hasSize(1);
            for (long bad : new long[] {-1, 10_001}) {
                Command nack = c.call(c.request(RequestCode.NACK).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, "m1")
                        .header(Headers.GENERATION, generation).header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0)
                        .header(Headers.OFFSET, 0).header(Headers.MAX_RECONSUME_TIMES, bad).build());
                assertThat(nack.status()).as(nack.message()).isEqualTo(Status.BAD_REQUEST);
                assertThat(nack.message()).isEqualTo("header maxReconsumeTimes: " + bad + " (expected: 0..10000)");
            }
            assertThat(server.broker.pendingDelayed()).as("no retry copy").isZero();
        }
    }

    @Test
    void aLongPollParkedBeforeItsQueueMovedIsFencedAndOnlyTheNewOwnerGetsTheBatch() throws Exception {
        try (TestServer server = TestServer.start(dir); TestClient admin = server.connect("json"); TestClient old = server.connect("json");
             TestClient neu = server.connect("json")) {
            admin.createTopic("orders", 1);
            long oldGeneration = Long.parseLong(join(admin, "m1").header(Headers.GENERATION));
            old.write(fetch(old, "m1", oldGeneration, 0, 10_000)); // m1 waits at the end of orders/0
            Thread.sleep(200);
            join(admin, "a0"); // sorts first: AVERAGE gives it orders/0, handed over from m1
            assertThat(sinceOfOrders0(heartbeat(admin, "m1"))).as("m1 heard it lost the queue; its long poll is still parked")
                    .isEqualTo(-1);
            Command assigned = heartbeat(admin, "a0");
            assertThat(sinceOfOrders0(assigned)).isPositive();
            neu.write(fetch(neu, "a0", Long.parseLong(assigned.header(Headers.GENERATION)), 0, 10_000));
            Thread.sleep(200);
            List<Message> batch = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                batch.add(TestClient.message("orders", 0, ("m" + i).getBytes(StandardCharsets.UTF_8)));
            }
            assertThat(admin.call(admin.request(RequestCode.SEND_BATCH).messages(batch).build()).status()).isEqualTo(Status.OK);
            Command gotOld = old.read();
            Command gotNew = neu.read();
            assertThat(gotOld.status()).as("the old owner's long poll").isEqualTo(Status.FENCED);
            assertThat(TestClient.fetched(gotNew)).extracting(TestClient.Fetched::queueOffset).containsExactly(0L, 1L, 2L, 3L, 4L);
        }
    }
}
