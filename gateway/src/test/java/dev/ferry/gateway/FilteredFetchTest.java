package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.gateway.TestClient.Fetched;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FETCH with a {@code sql} filter over a real socket: what a message's properties can do to it. */
class FilteredFetchTest {
    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dir);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Message message(String topic, String a, String body) {
        return Message.builder(topic).queueId(0).bornTimestamp(1_700_000_000_000L).properties(Map.of("a", a))
                .body(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    /**
     * A producer's property value {@code 100e2147483647} (a valid decimal, whose exponent cannot
     * be normalized within an int scale) made the IN filter throw ArithmeticException: every
     * FETCH over that message was answered INTERNAL_ERROR, and a consumer with that filter never
     * got past it. It does not match, and the fetch reads on past it.
     */
    @Test
    void aPropertyWithAHugeExponentDoesNotBreakAnInFilteredFetch() throws IOException {
        String topic = "huge-exponent";
        try (TestClient c = server.connect("json")) {
            assertThat(c.createTopic(topic, 1).status()).isEqualTo(Status.OK);
            assertThat(c.send(message(topic, "100e2147483647", "poison")).status()).isEqualTo(Status.OK);
            assertThat(c.send(message(topic, "2", "two")).status()).isEqualTo(Status.OK);
            for (String sql : new String[] {"a IN (1, 2)", "a NOT IN (1, 3)"}) {
                Command r = c.call(c.fetchRequest(topic, 0, 0, 10, 0).toBuilder().header(Headers.SQL, sql).build());
                assertThat(r.status()).as(sql + ": " + r.message()).isEqualTo(Status.OK);
                assertThat(r.header(Headers.NEXT_OFFSET)).isEqualTo("2");
                assertThat(TestClient.fetched(r)).as(sql).extracting(f -> new String(f.body(), StandardCharsets.UTF_8))
                        .containsExactly(sql.contains("NOT") ? new String[] {"poison", "two"} : new String[] {"two"});
            }
        }
    }
}
