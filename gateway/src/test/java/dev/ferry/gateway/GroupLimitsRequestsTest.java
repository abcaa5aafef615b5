package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.TopicInfo;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The limits of JOIN_GROUP and of producer-group registration on a raw socket, with the broker's
 * default caps (256 topics per join, 1,000 members per group, 16 producer groups per connection):
 * a request beyond one is answered with an error naming it, and creates nothing; other connections
 * and the data stored are unaffected.
 */
class GroupLimitsRequestsTest {
    private static final int MAX_TOPICS_PER_JOIN = 256;
    private static final int MAX_MEMBERS_PER_GROUP = 1_000;
    private static final int MAX_PRODUCER_GROUPS_PER_CONNECTION = 16;

    @TempDir
    Path dir;

    private static Command join(TestClient c, String group, String clientId, String topics) throws IOException {
        return c.call(c.request(RequestCode.JOIN_GROUP).header(Headers.GROUP, group).header(Headers.CLIENT_ID, clientId)
                .header(Headers.TOPICS, topics).build());
    }

    private static Command register(TestClient c, String producerGroup) throws IOException {
        return c.call(c.request(RequestCode.REGISTER_PRODUCER).header(Headers.PRODUCER_GROUP, producerGroup).build());
    }

    private static Command half(TestClient c, String producerGroup) throws IOException {
        return c.call(c.request(RequestCode.SEND_HALF).header(Headers.PRODUCER_GROUP, producerGroup)
                .messages(List.of(TestClient.message("orders", -1, "x".getBytes(StandardCharsets.UTF_8)))).build());
    }

    private static String body(Command c) {
        return new String(TestClient.bytes(c.body()), StandardCharsets.UTF_8);
    }

    private static List<String> topics(TestServer server) {
        return server.broker.listTopics().stream().map(TopicInfo::name).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void aJoinNamingMoreTopicsThanTheLimitIsRefusedAndCreatesNothing(String codec) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect(codec)) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i <= MAX_TOPICS_PER_JOIN; i++) {
                names.add("many-" + i);
            }
            Command refused = join(c, "g", "a", String.join(",", names));
            assertThat(refused.status()).as(refused.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(refused.message()).contains("topics: count " + (MAX_TOPICS_PER_JOIN + 1)).contains("<= " + MAX_TOPICS_PER_JOIN);
            assertThat(topics(server)).as("topics after the refused join").isEmpty();

            Command atLimit = join(c, "g", "a", String.join(",", names.subList(0, MAX_TOPICS_PER_JOIN)));
            assertThat(atLimit.status()).as(atLimit.message()).isEqualTo(Status.OK);
            assertThat(topics(server)).as("a join creates only its group's retry topic").containsExactly("%RETRY%g");
        }
    }

    /** As in RocketMQ, a subscription does not create its topic; the member gets its queues once a send created it. */
    @Test
    void aJoinedTopicIsCreatedByTheFirstSendAndThenAssignedAtTheNextHeartbeat() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            Command joined = join(c, "g", "a", "orders");
            assertThat(joined.status()).as(joined.message()).isEqualTo(Status.OK);
            assertThat(body(joined)).isEqualTo("%RETRY%g 0 " + joined.header(Headers.GENERATION) + "\n");
            Command described = c.call(c.request(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, "orders").build());
            assertThat(described.status()).as("a topic a JOIN named").isEqualTo(Status.NOT_FOUND);

            Command sent = c.send(TestClient.message("orders", -1, "first".getBytes(StandardCharsets.UTF_8)));
            assertThat(sent.status()).as(sent.message()).isEqualTo(Status.OK);
            Command beat = c.call(c.request(RequestCode.GROUP_HEARTBEAT).header(Headers.GROUP, "g").header(Headers.CLIENT_ID, "a").build());
            assertThat(beat.status()).as(beat.message()).isEqualTo(Status.OK);
            assertThat(body(beat).lines().filter(l -> l.startsWith("orders ")).count()).as(body(beat)).isEqualTo(8);
        }
    }

    @Test
    void aBadGroupNameIsRefusedBeforeItsRetryTopicIsCreated() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            c.createTopic("orders", 2);
            for (String bad : List.of("%x", "a%b", "a b", "g".repeat(129))) {
                Command refused = join(c, bad, "a", "orders");
                assertThat(refused.status()).as(bad).isEqualTo(Status.BAD_REQUEST);
                assertThat(refused.message()).as(bad).startsWith("group: '" + bad + "'");
            }
            assertThat(topics(server)).containsExactly("orders");
        }
    }

    @Test
    void aGroupTakesAtMostTheMemberLimit() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary"); TestClient other = server.connect("json")) {
            c.createTopic("orders", 2);
            for (int i = 0; i < MAX_MEMBERS_PER_GROUP; i++) {
                Command joined = join(c, "g", String.format("m%04d", i), "orders");
                assertThat(joined.status()).as(joined.message()).isEqualTo(Status.OK);
            }
            Command refused = join(other, "g", "one-too-many", "orders");
            assertThat(refused.status()).as(refused.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(refused.message()).contains("members").contains("<= " + MAX_MEMBERS_PER_GROUP);
            assertThat(join(other, "g", "m0042", "orders").status()).as("a member joining again").isEqualTo(Status.OK);
            assertThat(join(other, "h", "one-too-many", "orders").status()).as("another group").isEqualTo(Status.OK);
            Command described = c.call(c.request(RequestCode.DESCRIBE_GROUP).header(Headers.GROUP, "g").build());
            assertThat(described.header(Headers.MEMBERS)).isEqualTo(Integer.toString(MAX_MEMBERS_PER_GROUP));
        }
    }

    @Test
    void aConnectionJoinsAtMostTheProducerGroupLimit() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary"); TestClient other = server.connect("json")) {
            c.createTopic("orders", 1);
            for (int i = 0; i < MAX_PRODUCER_GROUPS_PER_CONNECTION; i++) {
                Command ok = register(c, "p" + i);
                assertThat(ok.status()).as(ok.message()).isEqualTo(Status.OK);
            }
            String extra = "p" + MAX_PRODUCER_GROUPS_PER_CONNECTION;
            Command refused = register(c, extra);
            assertThat(refused.status()).as(refused.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(refused.message()).contains("producer groups").contains("<= " + MAX_PRODUCER_GROUPS_PER_CONNECTION);
            Command refusedHalf = half(c, extra);
            assertThat(refusedHalf.status()).as(refusedHalf.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(server.broker.transactions().stats().prepared()).as("half messages stored").isZero();

            assertThat(register(c, "p3").status()).as("a group the connection has").isEqualTo(Status.OK);
            Command half = half(c, "p3");
            assertThat(half.status()).as(half.message()).isEqualTo(Status.OK);
            assertThat(register(other, extra).status()).as("another connection").isEqualTo(Status.OK);
        }
    }

    @Test
    void aProducerGroupNameOutsideTheRuleIsRefused() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            c.createTopic("orders", 1);
            for (String bad : List.of("a b", "a\tb", "a/b", "x".repeat(201))) {
                Command refused = register(c, bad);
                assertThat(refused.status()).as(bad).isEqualTo(Status.BAD_REQUEST);
                assertThat(refused.message()).as(bad).startsWith("producerGroup: '");
                assertThat(half(c, bad).status()).as("SEND_HALF of " + bad).isEqualTo(Status.BAD_REQUEST);
            }
            assertThat(server.broker.transactions().stats().prepared()).as("half messages stored").isZero();
            assertThat(register(c, "orders-tx.v2|%RETRY%").status()).isEqualTo(Status.OK);
        }
    }
}
