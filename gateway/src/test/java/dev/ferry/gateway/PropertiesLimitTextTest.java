package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogMessage;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text of a send refused for its properties area names the limit that applies, the store's
 * {@code maxPropertiesBytes} (default 32,767), and names a message by its place in a batch only for
 * SEND_BATCH. Before, an area over 65,535 bytes (the most a record holds) said {@code more than 65535
 * bytes encoded (expected: <= 65535)}, and a plain SEND between the two limits said
 * {@code batch message 0: ...}.
 */
class PropertiesLimitTextTest {
    private static final int LIMIT = 32_767;

    @TempDir
    Path dir;

    /** {@code n} properties of 30,000 bytes: their area is past the limit from 2 on, past 65,535 from 3 on. */
    private static Map<String, String> properties(int n) {
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            props.put("p" + i, "x".repeat(30_000));
        }
        return props;
    }

    private static Message message(Map<String, String> props) {
        return Message.builder("t").queueId(0).properties(props).body(new byte[] {1}).build();
    }

    private static String refusal(Map<String, String> props) {
        return "properties: " + LogMessage.propertiesAreaBytes(null, List.of(), props) + " bytes encoded (expected: <= " + LIMIT + ")";
    }

    @Test
    void aSendNamesTheConfiguredLimitAndNoBatch() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            c.createTopic("t", 1);
            for (int n : new int[] {2, 3}) {
                Command r = c.send(message(properties(n)));
                assertThat(r.status()).isEqualTo(Status.LIMIT_EXCEEDED);
                assertThat(r.message()).as(n + " properties of 30,000 bytes").isEqualTo(refusal(properties(n)));
            }
        }
    }

    @Test
    void aSendBatchNamesTheMessageAndTheConfiguredLimit() throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("binary")) {
            c.createTopic("t", 1);
            for (int n : new int[] {2, 3}) {
                Command r = c.call(c.request(RequestCode.SEND_BATCH).messages(List.of(message(Map.of()), message(properties(n)))).build());
                assertThat(r.status()).isEqualTo(Status.LIMIT_EXCEEDED);
                assertThat(r.message()).as(n + " properties of 30,000 bytes").isEqualTo("batch message 1: " + refusal(properties(n)));
            }
        }
    }
}
