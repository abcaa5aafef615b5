package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.gateway.TestClient.Fetched;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Connections with different codecs on one port at once, their requests interleaved, each answered in its own codec. */
class MixedCodecsTest {
    @TempDir
    Path dir;

    @Test
    void fourCodecsInterleavedOnOnePort() throws IOException {
        try (TestServer server = TestServer.start(dir)) {
            List<TestClient> clients = new java.util.ArrayList<>();
            try {
                for (String codec : TestClient.CODEC_NAMES) {
                    clients.add(server.connect(codec));
                }
                clients.get(0).createTopic("mixed", 1);
                // pipeline: every client writes its sends before anyone reads
                Map<TestClient, Map<Integer, String>> sentBodies = new HashMap<>();
                for (int round = 0; round < 25; round++) {
                    for (TestClient c : clients) {
                        String body = c.codec.name() + "-" + round;
                        Command req = c.sendRequest(TestClient.message("mixed", 0, body.getBytes(StandardCharsets.UTF_8)));
                        sentBodies.computeIfAbsent(c, k -> new HashMap<>()).put(req.requestId(), body);
                        c.write(req);
                    }
                }
                Map<String, String> bodyByOffset = new HashMap<>();
                for (int round = 0; round < 25; round++) {
                    for (TestClient c : clients) {
                        Command r = c.read();
                        assertThat(r.status()).as(c.codec.name() + ": " + r.message()).isEqualTo(Status.OK);
                        String body = sentBodies.get(c).remove(r.requestId());
                        assertThat(body).as(c.codec.name() + " response to a request it sent").isNotNull();
                        bodyByOffset.put(r.header(Headers.QUEUE_OFFSET), body);
                    }
                }
                assertThat(bodyByOffset).hasSize(100);
                for (TestClient c : clients) {
                    Command fetched = c.fetch("mixed", 0, 0, 100);
                    List<Fetched> got = TestClient.fetched(fetched);
                    assertThat(got).as(c.codec.name()).hasSize(100);
                    for (Fetched f : got) {
                        assertThat(new String(f.body(), StandardCharsets.UTF_8)).as(c.codec.name() + " offset " + f.queueOffset())
                                .isEqualTo(bodyByOffset.get(String.valueOf(f.queueOffset())));
                    }
                }
            } finally {
                clients.forEach(TestClient::close);
            }
        }
    }
}
