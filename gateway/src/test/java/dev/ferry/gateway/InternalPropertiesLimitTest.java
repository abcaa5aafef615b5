package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.TransactionConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's property limits are the user's, whatever the kind of send: a message with as many
 * properties (and as many property bytes) as a plain SEND may carry is also taken delayed and as a
 * transaction half, and delivered, though the broker adds its own properties to the schedule record,
 * the half message and the copies it delivers ({@code %REAL_TOPIC}, {@code %DELIVER_AT},
 * {@code %PGROUP}, {@code %SCHEDULE_ID}, {@code %TX_ID}...). Before, those counted against the limit:
 * such a message was taken plainly and refused delayed or as a half.
 */
class InternalPropertiesLimitTest {
    private static final int MAX_PROPERTIES = 8;
    private static final int MAX_PROPERTIES_BYTES = 400;

    @TempDir
    Path dir;

    /** {@value #MAX_PROPERTIES} properties whose area is exactly {@value #MAX_PROPERTIES_BYTES} bytes: at both limits. */
    private static Map<String, String> atTheLimits() {
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < MAX_PROPERTIES - 1; i++) {
            props.put("p" + i, "v");
        }
        long used = LogMessage.propertiesAreaBytes(null, List.of(), props) + 4 + "pad".length();
        props.put("pad", "x".repeat((int) (MAX_PROPERTIES_BYTES - used)));
        assertThat(LogMessage.propertiesAreaBytes(null, List.of(), props)).isEqualTo(MAX_PROPERTIES_BYTES);
        return props;
    }

    private static TestServer server(Path dir) {
        TransactionConfig noChecks = TransactionConfig.builder().checkTimeoutMs(3_600_000).build();
        return TestServer.start(dir, log -> log.maxProperties(MAX_PROPERTIES).maxPropertiesBytes(MAX_PROPERTIES_BYTES),
                dev.ferry.broker.BrokerConfig::defaults, gw -> gw, noChecks);
    }

    @Test
    void oneMoreThanTheLimitIsRefusedForEveryKindOfSend() throws IOException {
        try (TestServer server = server(dir); TestClient c = server.connect("binary")) {
            c.createTopic("t", 1);
            Map<String, String> tooMany = new LinkedHashMap<>(Map.of("a", "1"));
            for (int i = 0; i < MAX_PROPERTIES; i++) {
                tooMany.put("p" + i, "v");
            }
            Message plain = Message.builder("t").queueId(0).properties(tooMany).body(new byte[] {1}).build();
            assertThat(c.send(plain).status()).isEqualTo(Status.LIMIT_EXCEEDED);
            Command delayed = c.send(Message.builder("t").queueId(0).properties(tooMany).deliverAt(System.currentTimeMillis() + 60_000)
                    .body(new byte[] {1}).build());
            assertThat(delayed.status()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(delayed.message()).as("the user's count, not the schedule record's").contains("properties: 9 (expected: <= 8");
            Command half = c.call(c.request(RequestCode.SEND_HALF).header(Headers.PRODUCER_GROUP, "g").messages(List.of(plain)).build());
            assertThat(half.status()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(half.message()).contains("properties: 9 (expected: <= 8");
        }
    }

    /**
     * A client's property named like one the broker adds ({@code %REAL_QID}, {@code %PGROUP}) counts
     * as the client's on every kind of send. The broker's own replaces it in the schedule record and
     * the half message; before, the replaced ones were no longer counted, so a message two properties
     * over the limit, refused plainly, was taken delayed and as a half (those properties silently gone).
     */
    @Test
    void aPropertyNamedLikeTheBrokersOwnCountsOnEveryKindOfSend() throws IOException {
        try (TestServer server = server(dir); TestClient c = server.connect("binary")) {
            c.createTopic("t", 1);
            Map<String, String> tooMany = new LinkedHashMap<>();
            for (int i = 0; i < MAX_PROPERTIES - 1; i++) { // 7, and 3 named like the broker's: 10
                tooMany.put("p" + i, "v");
            }
            tooMany.put("%REAL_QID", "7");
            tooMany.put("%PGROUP", "mine");
            tooMany.put("%DELIVER_AT", "1");
            Message plain = Message.builder("t").queueId(0).properties(tooMany).body(new byte[] {1}).build();
            Command sent = c.send(plain);
            assertThat(sent.status()).as(sent.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(sent.message()).contains("properties: 10 (expected: <= 8");
            Command delayed = c.send(Message.builder("t").queueId(0).properties(tooMany).deliverAt(System.currentTimeMillis() + 60_000)
                    .body(new byte[] {1}).build());
            assertThat(delayed.status()).as(delayed.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(delayed.message()).as("the client's count, as sent").contains("properties: 10 (expected: <= 8");
            Command half = c.call(c.request(RequestCode.SEND_HALF).header(Headers.PRODUCER_GROUP, "g").messages(List.of(plain)).build());
            assertThat(half.status()).as(half.message()).isEqualTo(Status.LIMIT_EXCEEDED);
            assertThat(half.message()).contains("properties: 10 (expected: <= 8");
            assertThat(server.broker.pendingDelayed()).as("nothing scheduled").isZero();
        }
    }

    @Test
    void aMessageAtThePropertyLimitsIsTakenAndDeliveredDelayedAndAsATransaction() throws IOException {
        Map<String, String> props = atTheLimits();
        try (TestServer server = server(dir); TestClient c = server.connect("binary")) {
            c.createTopic("t", 1);
            Command plain = c.send(Message.builder("t").queueId(0).properties(props).body("plain".getBytes(StandardCharsets.UTF_8)).build());
            assertThat(plain.status()).as(plain.message()).isEqualTo(Status.OK);

            Command delayed = c.send(Message.builder("t").queueId(0).properties(props).deliverAt(System.currentTimeMillis() + 200)
                    .body("delayed".getBytes(StandardCharsets.UTF_8)).build());
            assertThat(delayed.status()).as(delayed.message()).isEqualTo(Status.OK);

            Command half = c.call(c.request(RequestCode.SEND_HALF).header(Headers.PRODUCER_GROUP, "g")
                    .messages(List.of(Message.builder("t").queueId(0).properties(props).body("tx".getBytes(StandardCharsets.UTF_8)).build()))
                    .build());
            assertThat(half.status()).as(half.message()).isEqualTo(Status.OK);
            Command committed = c.call(c.request(RequestCode.END_TRANSACTION).header(Headers.PRODUCER_GROUP, "g")
                    .header(Headers.TRANSACTION_ID, half.header(Headers.TRANSACTION_ID)).header(Headers.DECISION, "COMMIT").build());
            while (committed.kind() == Kind.ONEWAY) {
                committed = c.read();
            }
            assertThat(committed.status()).as(committed.message()).isEqualTo(Status.OK);

            TestServer.await("the delayed message's delivery", Duration.ofSeconds(30), () -> server.broker.deliveredDelayed() == 1);
            List<TestClient.Fetched> got = TestClient.fetched(c.fetch("t", 0, 0, 10));
            assertThat(got).extracting(f -> new String(f.body(), StandardCharsets.UTF_8)).containsExactlyInAnyOrder("plain", "tx", "delayed");
            for (TestClient.Fetched f : got) {
                assertThat(f.properties()).containsAllEntriesOf(props);
            }
        }
    }
}
