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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A topic deleted and created again is empty, over the wire: its first offset is where the new
 * topic starts, a FETCH below it is OFFSET_OUT_OF_RANGE with that first offset as MIN_OFFSET (as
 * for records retention deleted), GET_OFFSET, DESCRIBE_TOPIC and a group's start say the same,
 * and queries by id, key and time find none of the deleted topic's messages; across a restart too.
 * Before, the deleted topic's records (which stay until retention) were served as the new
 * topic's, and after a restart a new group started at the deleted topic's first record.
 */
class RecreatedTopicTest {
    private static final String TOPIC = "again";
    private static final int OLD = 3;
    private static final int NEW = 2;

    @TempDir
    Path dir;

    @Test
    void aTopicCreatedAgainStartsEmpty() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            String oldId = deleteAndCreateAgain(c);
            assertStartsAfterTheDeletedTopic(server, c, oldId);
        }
    }

    @Test
    void aTopicCreatedAgainStartsEmptyAfterARestart() throws IOException {
        String oldId;
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            oldId = deleteAndCreateAgain(c);
        }
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            assertStartsAfterTheDeletedTopic(server, c, oldId);
        }
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("json")) {
            assertStartsAfterTheDeletedTopic(server, c, oldId);
        }
    }

    /** Sends OLD messages, deletes the topic, creates it again and sends NEW; returns the id of an old message. */
    private static String deleteAndCreateAgain(TestClient c) throws IOException {
        assertThat(c.createTopic(TOPIC, 1).status()).isEqualTo(Status.OK);
        String oldId = null;
        for (int i = 0; i < OLD; i++) {
            Command sent = c.send(message("old-" + i));
            assertThat(sent.status()).as(sent.message()).isEqualTo(Status.OK);
            oldId = sent.header(Headers.MSG_ID);
        }
        assertThat(c.call(c.request(RequestCode.DELETE_TOPIC).header(Headers.TOPIC, TOPIC).build()).status()).isEqualTo(Status.OK);
        assertThat(c.createTopic(TOPIC, 1).status()).isEqualTo(Status.OK);
        for (int i = 0; i < NEW; i++) {
            Command sent = c.send(message("new-" + i));
            assertThat(sent.status()).as(sent.message()).isEqualTo(Status.OK);
            assertThat(sent.header(Headers.QUEUE_OFFSET)).as("offsets continue").isEqualTo(Long.toString(OLD + i));
        }
        return oldId;
    }

    private static void assertStartsAfterTheDeletedTopic(TestServer server, TestClient c, String oldId) throws IOException {
        Command below = c.fetch(TOPIC, 0, 0, 10);
        assertThat(below.status()).as("FETCH at the deleted topic's first offset").isEqualTo(Status.OFFSET_OUT_OF_RANGE);
        // not "deleted by retention": retention deleted nothing, the records are still on disk
        assertThat(below.message()).isEqualTo(TOPIC + "/0: offset 0 is from before the topic was deleted and created again (earliest available: "
                + OLD + ")");
        assertThat(below.headers()).containsEntry(Headers.MIN_OFFSET, Integer.toString(OLD))
                .containsEntry(Headers.MAX_OFFSET, Integer.toString(OLD + NEW));
        assertThat(c.fetch(TOPIC, 0, OLD - 1, 10).status()).isEqualTo(Status.OFFSET_OUT_OF_RANGE);

        Command fetched = c.fetch(TOPIC, 0, OLD, 10);
        assertThat(fetched.status()).as(fetched.message()).isEqualTo(Status.OK);
        assertThat(fetched.headers()).containsEntry(Headers.MIN_OFFSET, Integer.toString(OLD));
        assertThat(bodies(fetched)).containsExactly("new-0", "new-1");

        Command bounds = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, TOPIC).header(Headers.QUEUE_ID, 0).build());
        assertThat(bounds.headers()).containsEntry(Headers.MIN_OFFSET, Integer.toString(OLD))
                .containsEntry(Headers.MAX_OFFSET, Integer.toString(OLD + NEW));
        Command byTime = c.call(c.request(RequestCode.GET_OFFSET).header(Headers.TOPIC, TOPIC).header(Headers.QUEUE_ID, 0)
                .header(Headers.TIMESTAMP, 0).build());
        assertThat(byTime.header(Headers.OFFSET)).as("the first offset at or after time 0").isEqualTo(Integer.toString(OLD));

        Command described = c.call(c.request(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, TOPIC).build());
        assertThat(new String(TestClient.bytes(described.body()), StandardCharsets.UTF_8)).isEqualTo("0 " + OLD + " " + (OLD + NEW) + "\n");

        Command byId = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.MSG_ID, oldId).build());
        assertThat(byId.status()).as("a deleted topic's message by id").isEqualTo(Status.NOT_FOUND);
        Command byKey = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, TOPIC).header(Headers.KEY, "k").build());
        assertThat(bodies(byKey)).as("by key, newest first").containsExactly("new-1", "new-0");
        Command byRange = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, TOPIC)
                .header(Headers.BEGIN_TIMESTAMP, 0).header(Headers.END_TIMESTAMP, Long.MAX_VALUE).build());
        assertThat(bodies(byRange)).as("by time").containsExactly("new-0", "new-1");

        assertThat(server.broker.startOffset(TOPIC, 0)).as("where a group that subscribed before the creation starts").isEqualTo(OLD);
    }

    private static Message message(String body) {
        return Message.builder(TOPIC).queueId(0).keys(List.of("k")).bornTimestamp(1_700_000_000_000L)
                .body(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static List<String> bodies(Command response) {
        assertThat(response.status()).as(response.message()).isEqualTo(Status.OK);
        return TestClient.fetched(response).stream().map(f -> new String(f.body(), StandardCharsets.UTF_8)).toList();
    }
}
