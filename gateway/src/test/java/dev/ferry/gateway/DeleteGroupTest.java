package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupCoordinator;
import dev.ferry.broker.TopicInfo;
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
 * DELETE_GROUP over a real socket: refused while the group has a live member; then it removes
 * the group's committed offsets and its retry topic (not its dead-letter topic, nor another
 * group's offsets), the group is no longer listed, and deleting it again is NOT_FOUND.
 */
class DeleteGroupTest {
    @TempDir
    Path dir;

    private static Command call(TestClient c, RequestCode code, String group) throws IOException {
        return c.call(c.request(code).header(Headers.GROUP, group).build());
    }

    private static Command commit(TestClient c, String group, long offset) throws IOException {
        return c.call(c.request(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, group).header(Headers.TOPIC, "orders")
                .header(Headers.QUEUE_ID, 0).header(Headers.OFFSET, offset).build());
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void anEmptyGroupIsDeletedWithItsOffsetsAndRetryTopicAndALiveOneIsNot(String codec) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect(codec)) {
            c.createTopic("orders", 1);
            for (int i = 0; i < 8; i++) {
                assertThat(c.send(TestClient.message("orders", 0, ("m" + i).getBytes(StandardCharsets.UTF_8))).status()).isEqualTo(Status.OK);
            }
            Command joined = c.call(c.request(RequestCode.JOIN_GROUP).header(Headers.GROUP, "billing").header(Headers.CLIENT_ID, "m1")
                    .header(Headers.TOPICS, "orders").build());
            assertThat(joined.status()).as(joined.message()).isEqualTo(Status.OK);
            assertThat(commit(c, "billing", 3).status()).isEqualTo(Status.OK);
            assertThat(commit(c, "audit", 5).status()).isEqualTo(Status.OK);
            assertThat(commit(c, GroupCoordinator.broadcastOffsetGroup("billing", "m2"), 7).status()).isEqualTo(Status.OK);
            server.broker.createTopic(GroupCoordinator.deadLetterTopic("billing"), 1);
            for (int i = 0; i < 2; i++) {
                assertThat(c.send(TestClient.message("%RETRY%billing", 0, ("retry" + i).getBytes(StandardCharsets.UTF_8))).status())
                        .isEqualTo(Status.OK);
            }
            assertThat(server.broker.describeTopic(GroupCoordinator.retryTopic("billing"))).isPresent();

            Command live = call(c, RequestCode.DELETE_GROUP, "billing");
            assertThat(live.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(live.message()).startsWith("group 'billing': 1 live members (expected: none;");
            assertThat(server.broker.committedOffset("billing", "orders", 0)).hasValue(3);

            assertThat(c.call(c.request(RequestCode.LEAVE_GROUP).header(Headers.GROUP, "billing").header(Headers.CLIENT_ID, "m1").build())
                    .status()).isEqualTo(Status.OK);
            Command deleted = call(c, RequestCode.DELETE_GROUP, "billing");
            assertThat(deleted.status()).as(deleted.message()).isEqualTo(Status.OK);

            assertThat(server.broker.committedOffset("billing", "orders", 0)).isEmpty();
            assertThat(server.broker.committedOffset("billing%m2", "orders", 0)).as("a broadcasting member's positions").isEmpty();
            assertThat(server.broker.committedOffset("audit", "orders", 0)).as("another group's offsets").hasValue(5);
            assertThat(server.broker.listTopics()).extracting(TopicInfo::name).as("the dead-letter topic stays, the retry topic goes")
                    .containsExactlyInAnyOrder("orders", "%DLQ%billing");
            String groups = new String(TestClient.bytes(c.call(c.request(RequestCode.LIST_GROUPS).build()).body()), StandardCharsets.UTF_8);
            assertThat(List.of(groups.split("\n"))).containsExactly("audit");
            assertThat(call(c, RequestCode.DESCRIBE_GROUP, "billing").status()).isEqualTo(Status.NOT_FOUND);

            Command again = call(c, RequestCode.DELETE_GROUP, "billing");
            assertThat(again.status()).isEqualTo(Status.NOT_FOUND);
            assertThat(again.message()).isEqualTo("group 'billing': unknown (expected: a group with live members or committed offsets)");
            assertThat(call(c, RequestCode.DELETE_GROUP, "a b").status()).as("a malformed name").isEqualTo(Status.BAD_REQUEST);

            // joining again makes the retry topic again, which continues its offsets: the new group starts after the old copies
            Command rejoined = c.call(c.request(RequestCode.JOIN_GROUP).header(Headers.GROUP, "billing").header(Headers.CLIENT_ID, "m3")
                    .header(Headers.TOPICS, "orders").build());
            assertThat(rejoined.status()).as(rejoined.message()).isEqualTo(Status.OK);
            assertThat(server.broker.committedOffset("billing", "%RETRY%billing", 0)).hasValue(2);
            assertThat(server.broker.committedOffset("billing", "orders", 0)).as("its topics start as a new group's").isEmpty();
        }
    }
}
