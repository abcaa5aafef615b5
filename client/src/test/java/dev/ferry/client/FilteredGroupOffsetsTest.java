package dev.ferry.client;

import static dev.ferry.client.ConsumerGroupTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group member with a tag filter: the messages the broker skips for it count as done, so its
 * committed offset (clustering: the group's; broadcasting: the member's own position) advances
 * past them, not only to the last message it handled.
 */
class FilteredGroupOffsetsTest {
    @TempDir
    Path dir;

    private static void send(Producer p, String topic, String tag, int count) {
        for (int i = 0; i < count; i++) {
            p.send(Message.builder(topic).queueId(0).tags(tag).body((tag + i).getBytes(StandardCharsets.UTF_8)).build());
        }
    }

    private static GroupConsumerConfig.Builder member(String topic, String group) {
        return GroupConsumerConfig.builder(topic, group).clientId("m1").tags("A").heartbeatIntervalMs(50).maxWaitMs(200)
                .retryBackoffMs(50);
    }

    private void filteredOutMessagesAdvanceTheCommittedOffset(boolean broadcasting) {
        String topic = broadcasting ? "fb" : "fc";
        String group = broadcasting ? "gb" : "gc";
        String offsetGroup = broadcasting ? group + "%m1" : group;
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic(topic, 1);
            send(p, topic, "A", 1);
            send(p, topic, "B", 9);
            GroupConsumerConfig.Builder b = member(topic, group);
            try (GroupConsumer c = client.groupConsumer((broadcasting ? b.broadcasting() : b).build())) {
                List<Message> got = new ArrayList<>();
                await("the A message", Duration.ofSeconds(10), () -> {
                    got.addAll(c.poll(Duration.ofMillis(50)));
                    return !got.isEmpty();
                });
                assertThat(got).hasSize(1);
                send(p, topic, "B", 10); // arriving after the member caught up: its long polls answer empty, past them
                long until = System.nanoTime() + 500_000_000L;
                while (System.nanoTime() < until) {
                    assertThat(c.poll(Duration.ofMillis(50))).isEmpty();
                    assertThat(client.committedOffset(offsetGroup, topic, 0).orElse(0)).as("not past the unacked A message").isZero();
                }
                c.ack(got.get(0));
                await("the committed offset past every B message", Duration.ofSeconds(10), () -> {
                    assertThat(c.poll(Duration.ofMillis(50))).isEmpty();
                    return client.committedOffset(offsetGroup, topic, 0).orElse(-1) == 20;
                });
            }
            assertThat(client.committedOffset(offsetGroup, topic, 0)).hasValue(20);
        }
    }

    /**
     * A group member with an SQL filter gets only the messages it matches, and the group's
     * committed offset moves past the others; GroupConsumer had no SQL filter (a plain Consumer
     * had), so a group could not filter by properties at all.
     */
    @Test
    void aClusteringMemberWithAnSqlFilterGetsOnlyWhatItMatches() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic("fs", 1);
            for (int n = 0; n < 10; n++) {
                p.send(Message.builder("fs").queueId(0).properties(java.util.Map.of("n", Integer.toString(n))).body(("m" + n).getBytes(StandardCharsets.UTF_8))
                        .build());
            }
            try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("fs", "gs").clientId("m1").sql("n >= 5 AND n <> 7")
                    .heartbeatIntervalMs(50).maxWaitMs(200).retryBackoffMs(50).build())) {
                List<Message> got = new ArrayList<>();
                await("the committed offset past every message", Duration.ofSeconds(10), () -> {
                    List<Message> polled = c.poll(Duration.ofMillis(50));
                    polled.forEach(c::ack);
                    got.addAll(polled);
                    return client.committedOffset("gs", "fs", 0).orElse(-1) == 10;
                });
                assertThat(got).extracting(m -> m.properties().get("n")).containsExactly("5", "6", "8", "9");
            }
        }
    }

    @Test
    void clusteringFilteredOutMessagesAdvanceTheGroupsCommittedOffset() {
        filteredOutMessagesAdvanceTheCommittedOffset(false);
    }

    @Test
    void broadcastingFilteredOutMessagesAdvanceTheMembersPosition() {
        filteredOutMessagesAdvanceTheCommittedOffset(true);
    }
}
