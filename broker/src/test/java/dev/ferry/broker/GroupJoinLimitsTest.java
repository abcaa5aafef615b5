package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a JOIN_GROUP may ask of the broker, on a real store: a bounded number of topics, validated
 * names, a bounded number of members per group, and no topic created by a join that is refused,
 * nor for a topic a member merely subscribes to. The caps are the defaults of {@link GroupConfig}.
 */
class GroupJoinLimitsTest {
    private static final int DEFAULT_MAX_TOPICS = 256;
    private static final int DEFAULT_MAX_MEMBERS = 1_000;

    @TempDir
    Path dir;

    private Broker broker;

    private GroupCoordinator open(boolean autoCreate) {
        LogConfig log = LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build();
        broker = Broker.open(new BrokerConfig(log, 8, autoCreate, 30_000, 1_000), GroupConfig.builder().sweepIntervalMs(3_600_000).build());
        broker.createTopic("t", 4);
        return broker.groups();
    }

    @AfterEach
    void close() {
        if (broker != null) {
            broker.close();
        }
    }

    private List<String> topicNames() {
        return broker.listTopics().stream().map(TopicInfo::name).toList();
    }

    private static List<Integer> queuesOf(GroupCoordinator.Assignment a, String topic) {
        return a.queues().stream().filter(q -> q.topic().equals(topic)).map(GroupCoordinator.AssignedQueue::queueId).toList();
    }

    @Test
    void aJoinNamingMoreTopicsThanTheLimitIsRefusedBeforeAnythingIsCreated() {
        GroupCoordinator groups = open(true);
        List<String> many = new ArrayList<>();
        for (int i = 0; i <= DEFAULT_MAX_TOPICS; i++) {
            many.add("many-" + i);
        }
        assertThatThrownBy(() -> groups.join("g", "a", many, MessageModel.CLUSTERING, "AVERAGE", false))
                .isInstanceOf(BrokerException.class)
                .hasMessageContaining("topics: count " + (DEFAULT_MAX_TOPICS + 1))
                .hasMessageContaining("<= " + DEFAULT_MAX_TOPICS);
        assertThat(topicNames()).as("topics after a refused join").containsExactly("t");
        assertThat(groups.isLive("g")).isFalse();

        List<String> atTheLimit = new ArrayList<>(many.subList(0, DEFAULT_MAX_TOPICS - 1));
        atTheLimit.add("t");
        GroupCoordinator.Assignment a = groups.join("g", "a", atTheLimit, MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(queuesOf(a, "t")).containsExactly(0, 1, 2, 3);
    }

    /**
     * A subscription does not create its topic (as in RocketMQ): the member gets the topic's queues
     * at the heartbeat after a send (or CREATE_TOPIC) created it. With auto-creation off such a
     * topic can only come from an operator, and the join is refused as before.
     */
    @Test
    void aJoinDoesNotCreateTheTopicsItSubscribesTo() {
        GroupCoordinator groups = open(true);
        GroupCoordinator.Assignment a = groups.join("g", "a", List.of("t", "later"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(queuesOf(a, "later")).isEmpty();
        assertThat(broker.describeTopic("later")).as("a topic named only by a JOIN").isEmpty();
        assertThat(topicNames()).containsExactly("%RETRY%g", "t");

        broker.send(List.of(LogMessage.builder("later", 1, "x".getBytes(StandardCharsets.UTF_8)).build())).join(); // auto-created, 8 queues
        GroupCoordinator.Assignment after = groups.heartbeat("g", "a");
        assertThat(after.generation()).as("the new topic's queues are a rebalance").isGreaterThan(a.generation());
        assertThat(queuesOf(after, "later")).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        groups.checkConsume("g", "a", after.generation(), "later", 1);
        for (int q = 0; q < 8; q++) {
            // a member starting from LATEST would otherwise begin after the message that created the topic
            assertThat(broker.committedOffset("g", "later", q)).as("queue " + q + " starts at its beginning").hasValue(0);
        }
    }

    @Test
    void withoutAutoCreationAJoinNamingAMissingTopicIsNotFoundAndCreatesNothing() {
        GroupCoordinator groups = open(false);
        assertThatThrownBy(() -> groups.join("g", "a", List.of("t", "missing"), MessageModel.CLUSTERING, "AVERAGE", false))
                .isInstanceOf(TopicNotFoundException.class).hasMessageContaining("missing");
        assertThat(topicNames()).containsExactly("t");
    }

    @Test
    void badTopicNamesAndTheBrokersInternalTopicsAreRefused() {
        GroupCoordinator groups = open(true);
        for (String bad : List.of("a b", "x".repeat(201), "%SCHEDULE%", "%TRANS_HALF%", "%TRANS_OP%", "")) {
            assertThatThrownBy(() -> groups.join("g", "a", List.of("t", bad), MessageModel.CLUSTERING, "AVERAGE", false))
                    .as("topic '%s'", bad).isInstanceOf(BrokerException.class).hasMessageContaining("topic");
        }
        assertThat(topicNames()).containsExactly("t");
        assertThat(groups.isLive("g")).isFalse();
    }

    /**
     * The group name becomes part of a topic name ({@code %RETRY%GROUP}) and of an offset-store
     * group ({@code GROUP%CLIENT_ID}): it is checked before anything is created, with the rule of
     * client ids (no '%').
     */
    @Test
    void aBadGroupNameIsRefusedBeforeItsRetryTopicIsCreated() {
        GroupCoordinator groups = open(true);
        for (String bad : List.of("%x", "a%b", "a b", "g".repeat(129), "")) {
            assertThatThrownBy(() -> groups.join(bad, "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false))
                    .as("group '%s'", bad).isInstanceOf(BrokerException.class).hasMessageContaining("group: '" + bad + "'");
        }
        assertThat(topicNames()).as("no %RETRY% topic of a refused group").containsExactly("t");
        groups.join("g".repeat(128), "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(topicNames()).contains("%RETRY%" + "g".repeat(128));
    }

    @Test
    void aJoinRefusedForItsModeCreatesNoRetryTopic() {
        GroupCoordinator groups = open(true);
        groups.join("b", "a", List.of("t"), MessageModel.BROADCASTING, "AVERAGE", false);
        assertThatThrownBy(() -> groups.join("b", "c", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false))
                .isInstanceOf(BrokerException.class).hasMessageContaining("mode");
        assertThat(topicNames()).containsExactly("t");
    }

    @Test
    void aGroupTakesAtMostTheMemberLimitAndAKnownMemberMayAlwaysJoinAgain() {
        GroupCoordinator groups = open(true);
        for (int i = 0; i < DEFAULT_MAX_MEMBERS; i++) {
            groups.join("g", String.format("m%04d", i), List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        }
        assertThatThrownBy(() -> groups.join("g", "one-too-many", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false))
                .isInstanceOf(BrokerException.class)
                .hasMessageContaining("members")
                .hasMessageContaining("<= " + DEFAULT_MAX_MEMBERS);
        assertThat(groups.describe("g").members()).hasSize(DEFAULT_MAX_MEMBERS);
        groups.join("g", "m0007", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false); // a member's join again
        groups.leave("g", "m0000");
        groups.join("g", "one-more", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(groups.describe("g").members()).hasSize(DEFAULT_MAX_MEMBERS);
        groups.join("other", "one-too-many", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false); // another group is unaffected
    }

    /**
     * The rebalance shares each topic among exactly its subscribers, in client-id order, whatever
     * else they subscribe to: members with overlapping topic sets, each queue owned once.
     */
    @Test
    void eachTopicIsSharedAmongItsOwnSubscribersOnly() {
        GroupCoordinator groups = open(true);
        broker.createTopic("u", 6);
        broker.createTopic("v", 3);
        groups.join("g", "c", List.of("u", "t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.join("g", "a", List.of("t", "u", "v"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.join("g", "b", List.of("t", "t", "v"), MessageModel.CLUSTERING, "AVERAGE", false);
        Map<String, Map<String, List<Integer>>> byMember = new TreeMap<>();
        for (String m : List.of("a", "b", "c")) {
            groups.heartbeat("g", m);
        }
        for (String m : List.of("a", "b", "c")) {
            GroupCoordinator.Assignment as = groups.heartbeat("g", m);
            Map<String, List<Integer>> mine = new TreeMap<>();
            for (String topic : List.of("t", "u", "v")) {
                mine.put(topic, queuesOf(as, topic));
            }
            byMember.put(m, mine);
        }
        assertThat(byMember.get("a")).containsEntry("t", List.of(0, 1)).containsEntry("u", List.of(0, 1, 2)).containsEntry("v", List.of(0, 1));
        assertThat(byMember.get("b")).containsEntry("t", List.of(2)).containsEntry("u", List.of()).containsEntry("v", List.of(2));
        assertThat(byMember.get("c")).containsEntry("t", List.of(3)).containsEntry("u", List.of(3, 4, 5)).containsEntry("v", List.of());
        assertThat(groups.describe("g").members()).filteredOn(m -> m.clientId().equals("b")).singleElement()
                .satisfies(m -> assertThat(m.topics()).as("a topic named twice is one subscription").containsExactly("t", "v", "%RETRY%g"));
    }
}
