package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A broadcasting group's members' own positions ({@code GROUP%CLIENT_ID}) over a real socket, for
 * members that are not live: RESET_OFFSETS moves them (resetting with the consumers stopped is the
 * usual practice), and LIST_GROUPS and DESCRIBE_GROUP show them; and a member's commit of a
 * position it read before a reset, or in an earlier session, is fenced.
 */
class BroadcastPositionsTest {
    @TempDir
    Path dir;

    private static Command join(TestClient c, String clientId) throws IOException {
        return c.call(c.request(RequestCode.JOIN_GROUP).header(Headers.GROUP, "b").header(Headers.CLIENT_ID, clientId)
                .header(Headers.TOPICS, "orders").header(Headers.MODE, "BROADCASTING").build());
    }

    private static Command leave(TestClient c, String clientId) throws IOException {
        return c.call(c.request(RequestCode.LEAVE_GROUP).header(Headers.GROUP, "b").header(Headers.CLIENT_ID, clientId).build());
    }

    private static Command commit(TestClient c, String offsetGroup, int queueId, long offset) throws IOException {
        return c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, offsetGroup).header(Headers.TOPIC, "orders")
                .header(Headers.QUEUE_ID, queueId).header(Headers.OFFSET, offset).build());
    }

    /** A member's COMMIT_OFFSET of its own position, from a read that began at {@code readGeneration}. */
    private static Command memberCommit(TestClient c, String clientId, long readGeneration, long offset) throws IOException {
        return c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, "b%" + clientId).header(Headers.TOPIC, "orders")
                .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, offset).header(Headers.CLIENT_ID, clientId)
                .header(Headers.GENERATION, readGeneration).build());
    }

    private static long generation(Command response) {
        assertThat(response.status()).as(response.message()).isEqualTo(Status.OK);
        return Long.parseLong(response.header(Headers.GENERATION));
    }

    private static Command position(TestClient c, String offsetGroup) throws IOException {
        return c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, "orders").header(Headers.QUEUE_ID, 0)
                .header(Headers.GROUP, offsetGroup).build());
    }

    private static String body(Command response) {
        return new String(TestClient.bytes(response.body()), StandardCharsets.UTF_8);
    }

    private static void sendFive(TestClient c, int queueId) throws IOException {
        for (int i = 0; i < 5; i++) {
            assertThat(c.send(TestClient.message("orders", queueId, ("m" + i).getBytes(StandardCharsets.UTF_8))).status())
                    .isEqualTo(Status.OK);
        }
    }

    /**
     * The reviewer's case: m1 stops at 5, the group is reset to the earliest, m1 comes back and
     * reads from 0 — whether or not another member stayed live meanwhile. Nothing is written
     * under the group's own name.
     */
    @ParameterizedTest(name = "another member live: {0}")
    @ValueSource(booleans = {false, true})
    void aMemberThatWasStoppedDuringAResetReadsFromTheNewOffset(boolean anotherLive) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("orders", 1);
            sendFive(c, 0);
            assertThat(join(c, "m1").status()).isEqualTo(Status.OK);
            if (anotherLive) {
                assertThat(join(c, "m2").status()).isEqualTo(Status.OK);
                assertThat(commit(c, "b%m2", 0, 4).status()).isEqualTo(Status.OK);
            }
            assertThat(commit(c, "b%m1", 0, 5).status()).isEqualTo(Status.OK);
            assertThat(leave(c, "m1").status()).isEqualTo(Status.OK);

            Command reset = c.call(c.request(RequestCode.RESET_OFFSETS).header(Headers.GROUP, "b").header(Headers.TOPIC, "orders")
                    .header(Headers.TO, "earliest").build());
            assertThat(reset.status()).as(reset.message()).isEqualTo(Status.OK);
            assertThat(body(reset)).isEqualTo("0 0\n");
            assertThat(server.broker.committedOffset("b", "orders", 0)).as("an offset under the group's own name").isEmpty();
            if (anotherLive) {
                assertThat(Long.parseLong(position(c, "b%m2").header(Headers.OFFSET))).as("the live member's position").isZero();
            }

            assertThat(join(c, "m1").status()).isEqualTo(Status.OK);
            assertThat(Long.parseLong(position(c, "b%m1").header(Headers.OFFSET))).as("m1's position after the reset").isZero();
        }
    }

    /**
     * The gap a reviewer left open: a member's position read before a RESET_OFFSETS, committed
     * after it (sent before the member heard of the reset), put the old position back and undid
     * the reset without a word. Now it is FENCED and the reset stays, as is a commit from a
     * session the broker no longer has (the member left, or joined again since the read began),
     * while one from a read begun after the reset is stored, and one without clientId (a plain
     * consumer's, an older client's) is stored unchecked as before.
     */
    @Test
    void aMembersCommitOfAPositionReadBeforeAResetIsFenced() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            c.createTopic("orders", 1);
            sendFive(c, 0);
            long joined = generation(join(c, "m1"));
            assertThat(memberCommit(c, "m1", joined, 5).status()).isEqualTo(Status.OK);

            Command reset = c.call(c.request(RequestCode.RESET_OFFSETS).header(Headers.GROUP, "b").header(Headers.TOPIC, "orders")
                    .header(Headers.TO, "earliest").build());
            assertThat(reset.status()).as(reset.message()).isEqualTo(Status.OK);
            Command stale = memberCommit(c, "m1", joined, 5);
            assertThat(stale.status()).as("a position read before the reset: " + stale.message()).isEqualTo(Status.FENCED);
            assertThat(stale.message()).contains("before the offset reset");
            assertThat(Long.parseLong(position(c, "b%m1").header(Headers.OFFSET))).as("the reset stays").isZero();

            Command heard = c.call(c.request(RequestCode.GROUP_HEARTBEAT).header(Headers.GROUP, "b").header(Headers.CLIENT_ID, "m1")
                    .build());
            long afterReset = generation(heard);
            assertThat(body(heard)).as("the queue's new since").isEqualTo("orders 0 " + afterReset + "\n");
            assertThat(memberCommit(c, "m1", afterReset, 3).status()).as("a read begun after the reset").isEqualTo(Status.OK);
            assertThat(Long.parseLong(position(c, "b%m1").header(Headers.OFFSET))).isEqualTo(3);

            assertThat(leave(c, "m1").status()).isEqualTo(Status.OK);
            assertThat(memberCommit(c, "m1", afterReset, 4).status()).as("the member left").isEqualTo(Status.FENCED);
            long rejoined = generation(join(c, "m1"));
            assertThat(memberCommit(c, "m1", afterReset, 4).status()).as("a read of the session before").isEqualTo(Status.FENCED);
            assertThat(Long.parseLong(position(c, "b%m1").header(Headers.OFFSET))).isEqualTo(3);
            assertThat(memberCommit(c, "m1", rejoined, 4).status()).isEqualTo(Status.OK);
            assertThat(commit(c, "b%m1", 0, 2).status()).as("without clientId: unchecked").isEqualTo(Status.OK);
            assertThat(Long.parseLong(position(c, "b%m1").header(Headers.OFFSET))).isEqualTo(2);
        }
    }

    @Test
    void aMemberNotLiveIsListedAndDescribedByItsPositions() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            c.createTopic("orders", 1);
            sendFive(c, 0);
            assertThat(join(c, "m1").status()).isEqualTo(Status.OK);
            assertThat(join(c, "m2").status()).isEqualTo(Status.OK);
            assertThat(commit(c, "b%m1", 0, 3).status()).isEqualTo(Status.OK);
            assertThat(leave(c, "m1").status()).isEqualTo(Status.OK);

            Command d = c.call(c.request(RequestCode.DESCRIBE_GROUP).header(Headers.GROUP, "b").build());
            assertThat(d.status()).as(d.message()).isEqualTo(Status.OK);
            assertThat(d.header(Headers.MEMBERS)).isEqualTo("1");
            assertThat(List.of(body(d).split("\n"))).filteredOn(l -> l.startsWith("queue "))
                    .containsExactly("queue orders 0 m1 3 5 2 -", "queue orders 0 m2 -1 5 5 -");

            assertThat(leave(c, "m2").status()).isEqualTo(Status.OK);
            Command list = c.call(c.request(RequestCode.LIST_GROUPS).build());
            assertThat(List.of(body(list).split("\n"))).as("a group with only its members' positions stored").containsExactly("b");
            d = c.call(c.request(RequestCode.DESCRIBE_GROUP).header(Headers.GROUP, "b").build());
            assertThat(d.status()).as(d.message()).isEqualTo(Status.OK);
            assertThat(d.header(Headers.MODE)).isEqualTo("-");
            assertThat(d.header(Headers.MEMBERS)).isEqualTo("0");
            assertThat(body(d)).isEqualTo("queue orders 0 m1 3 5 2 -\n");
        }
    }
}
