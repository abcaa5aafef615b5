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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * JOIN_GROUP's enumerated headers on a raw socket. docs/PROTOCOL.md gives {@code orderly} as
 * {@code true|false}; a value that is neither must be refused like a bad {@code mode}, because a
 * client that meant "orderly" and is silently joined as a non-orderly member consumes without queue
 * locks, out of order, and gets a retry topic it never asked for.
 */
class JoinGroupHeadersTest {
    @TempDir
    Path dir;

    private static Command join(TestClient c, String group, String orderly) throws IOException {
        return c.call(c.request(RequestCode.JOIN_GROUP).header(Headers.GROUP, group).header(Headers.CLIENT_ID, "a")
                .header(Headers.TOPICS, "orders").header(Headers.ORDERLY, orderly).build());
    }

    private static Command describe(TestClient c, String group) throws IOException {
        return c.call(c.request(RequestCode.DESCRIBE_GROUP).header(Headers.GROUP, group).build());
    }

    @ParameterizedTest
    @ValueSource(strings = {"binary", "json"})
    void anOrderlyHeaderOtherThanTrueOrFalseIsRefusedAndJoinsNothing(String codec) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect(codec)) {
            for (String bad : new String[] {"yes", "1", ""}) {
                Command refused = join(c, "g", bad);
                assertThat(refused.status()).as("orderly='%s': %s", bad, refused.message()).isEqualTo(Status.BAD_REQUEST);
                assertThat(refused.message()).isEqualTo("header orderly: '" + bad + "' (expected: true or false)");
            }
            assertThat(describe(c, "g").status()).as("the refused joins made no group").isEqualTo(Status.NOT_FOUND);
            assertThat(server.broker.listTopics().stream().map(TopicInfo::name)).as("nor a retry topic").isEmpty();

            Command joined = join(c, "g", "TRUE");
            assertThat(joined.status()).as("the connection is still served: %s", joined.message()).isEqualTo(Status.OK);
            String members = new String(TestClient.bytes(describe(c, "g").body()), StandardCharsets.UTF_8);
            assertThat(members).as("'TRUE' is orderly, as mode and strategy take any case").startsWith("member a orders true ");
        }
    }
}
