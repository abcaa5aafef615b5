package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.TransactionConfig;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The transaction request codes on a raw socket in every codec: SEND_HALF / END_TRANSACTION,
 * the one-way CHECK_TRANSACTION the broker sends a registered producer and its answer, and the
 * errors for bad input.
 */
class TransactionRequestsTest {
    @TempDir
    Path dir;

    private static Command half(TestClient c, String group, String body) throws IOException {
        Command.Builder b = c.request(RequestCode.SEND_HALF)
                .messages(List.of(TestClient.message("orders", -1, body.getBytes(StandardCharsets.UTF_8))));
        if (group != null) {
            b.header(Headers.PRODUCER_GROUP, group);
        }
        return c.call(b.build());
    }

    private static Command end(TestClient c, String group, String id, String decision) throws IOException {
        return c.call(c.request(RequestCode.END_TRANSACTION).header(Headers.PRODUCER_GROUP, group).header(Headers.TRANSACTION_ID, id)
                .header(Headers.DECISION, decision).build());
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void halfCheckAndEnd(String codec) throws IOException {
        TransactionConfig fast = TransactionConfig.builder().checkTimeoutMs(400).checkIntervalMs(60_000).maxChecks(5).build();
        try (TestServer server = TestServer.start(dir, fast); TestClient c = server.connect(codec)) {
            c.createTopic("orders", 1);
            Command h = half(c, "g", "hello");
            assertThat(h.status()).as(h.message()).isEqualTo(Status.OK);
            String id = h.header(Headers.TRANSACTION_ID);
            assertThat(h.headers()).containsEntry(Headers.MSG_ID, id).containsEntry(Headers.QUEUE_ID, "0");
            assertThat(TestClient.fetched(c.fetch("orders", 0, 0, 10))).as("invisible before the commit").isEmpty();

            Command check = c.read(); // SEND_HALF registered the connection for group g
            assertThat(check.kind()).isEqualTo(Kind.ONEWAY);
            assertThat(check.code()).isEqualTo(RequestCode.CHECK_TRANSACTION);
            assertThat(check.headers()).containsEntry(Headers.TRANSACTION_ID, id).containsEntry(Headers.PRODUCER_GROUP, "g")
                    .containsEntry(Headers.CHECK_TIMES, "1");
            Message m = check.messages().get(0);
            assertThat(m.topic()).isEqualTo("orders");
            assertThat(m.msgId()).isEqualTo(id);
            assertThat(StandardCharsets.UTF_8.decode(m.body()).toString()).isEqualTo("hello");

            Command committed = end(c, "g", id, "COMMIT");
            while (committed.kind() == Kind.ONEWAY) { // a later check may have crossed the answer
                committed = c.read();
            }
            assertThat(committed.status()).as(committed.message()).isEqualTo(Status.OK);
            assertThat(committed.headers()).containsEntry(Headers.DECISION, "COMMIT").containsEntry(Headers.APPLIED, "true")
                    .containsEntry(Headers.TOPIC, "orders").containsEntry(Headers.QUEUE_OFFSET, "0");
            List<TestClient.Fetched> got = TestClient.fetched(c.fetch("orders", 0, 0, 10));
            assertThat(got).hasSize(1);
            assertThat(got.get(0).properties()).containsEntry("%TX_ID", id);
            Command again = end(c, "g", id, "COMMIT");
            assertThat(again.headers()).containsEntry(Headers.APPLIED, "false");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void badInputIsNamed(String codec) throws IOException {
        try (TestServer server = TestServer.start(dir, TransactionConfig.defaults()); TestClient c = server.connect(codec)) {
            Command noGroup = half(c, null, "x");
            assertThat(noGroup.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(noGroup.message()).isEqualTo("header producerGroup: missing (expected for SEND_HALF)");

            String id = half(c, "g", "x").header(Headers.TRANSACTION_ID);
            Command unknown = end(c, "g", id, "UNKNOWN");
            assertThat(unknown.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(unknown.message()).contains("expected: COMMIT or ROLLBACK");
            Command noSuch = end(c, "g", "00000000000FFFFF", "COMMIT");
            assertThat(noSuch.status()).isEqualTo(Status.NOT_FOUND);
            assertThat(end(c, "g", id, "ROLLBACK").status()).isEqualTo(Status.OK);
            Command conflict = end(c, "g", id, "COMMIT");
            assertThat(conflict.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(conflict.message()).contains("already rolled back");

            Command fromClient = c.call(c.request(RequestCode.CHECK_TRANSACTION).build());
            assertThat(fromClient.status()).isEqualTo(Status.BAD_REQUEST);
            Command internal = c.send(TestClient.message("%TRANS_OP%", 0, new byte[1]));
            assertThat(internal.status()).isEqualTo(Status.BAD_REQUEST);
            Command schedule = c.send(TestClient.message("%SCHEDULE%", 0, new byte[1]));
            assertThat(schedule.status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(schedule.message()).contains("set deliverAt to delay a message");
            Command listed = c.call(c.request(RequestCode.LIST_TOPICS).header(Headers.PREFIX, "%").build());
            assertThat(new String(TestClient.bytes(listed.body()), java.nio.charset.StandardCharsets.UTF_8))
                    .as("a refused SEND to an internal topic does not make it a topic").doesNotContain("%SCHEDULE%");
            // the internal topics cannot be created, and so read, by a client: a rolled-back half is never seen,
            // nor a delayed message before it is due (its schedule record keeps its keys)
            Command later = c.send(Message.builder("orders").queueId(0).keys(List.of("later-key"))
                    .deliverAt(System.currentTimeMillis() + 3_600_000).body(new byte[] {1}).build());
            assertThat(later.status()).as(later.message()).isEqualTo(Status.OK);
            Command byKey = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, "%SCHEDULE%").header(Headers.KEY, "later-key")
                    .build());
            assertThat(TestClient.fetched(byKey)).as("a delayed message by key, before it is due").isEmpty();
            Command byId = c.call(c.request(RequestCode.QUERY_MESSAGE).header(Headers.MSG_ID, later.header(Headers.MSG_ID)).build());
            assertThat(byId.status()).as("a delayed message by the id its SEND answered, before it is due").isEqualTo(Status.NOT_FOUND);
            for (String reserved : List.of("%TRANS_HALF%", "%TRANS_OP%", "%SCHEDULE%")) {
                Command created = c.createTopic(reserved, 1);
                assertThat(created.status()).as(reserved).isEqualTo(Status.BAD_REQUEST);
                assertThat(created.message()).contains("internal topics");
                Command read = c.fetch(reserved, 0, 0, 10);
                assertThat(read.status()).as(reserved).isEqualTo(Status.BAD_REQUEST);
                assertThat(read.messages()).isEmpty();
            }
            assertThat(c.call(c.request(RequestCode.REGISTER_PRODUCER).build()).status()).isEqualTo(Status.BAD_REQUEST);
            assertThat(c.call(c.request(RequestCode.REGISTER_PRODUCER).header(Headers.PRODUCER_GROUP, "g").build()).status())
                    .isEqualTo(Status.OK);
        }
    }
}
