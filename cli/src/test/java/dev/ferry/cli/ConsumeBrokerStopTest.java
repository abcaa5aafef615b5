package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry consume} whose broker stops under it (SIGTERM, a graceful stop): it says that it
 * lost the connection and is reconnecting. Before, it fell silent: it printed nothing more and
 * ended at its timeout with "consumed N" and exit 0, as if the topic had simply run dry. The
 * broker and the consume are both child JVMs ({@link ChildBroker}).
 */
class ConsumeBrokerStopTest {
    @TempDir
    Path dir;

    @Test
    void aConsumeWhoseBrokerStopsSaysItLostTheConnection() throws Exception {
        Process broker = ChildBroker.start(dir);
        Process consume = null;
        try {
            int port = ChildBroker.port(broker, dir);
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build()); Producer p = client.producer()) {
                client.createTopic("orders", 2);
                for (String body : List.of("a", "b", "c")) {
                    p.send("orders", body.getBytes(UTF_8));
                }
            }
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            consume = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"), "dev.ferry.cli.Ferry", "consume",
                    "--topic", "orders", "--group", "billing", "--timeout-ms", "5000", "--server", "127.0.0.1:" + port)
                    .redirectError(dir.resolve("consume.err").toFile()).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(consume.getInputStream(), UTF_8));
            List<String> printed = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                printed.add(out.readLine());
            }
            assertThat(printed).containsExactlyInAnyOrder("a", "b", "c");

            broker.destroy(); // SIGTERM: a graceful stop
            assertThat(broker.waitFor(60, TimeUnit.SECONDS)).as("the broker stopped").isTrue();
            assertThat(consume.waitFor(60, TimeUnit.SECONDS)).as("the consume ended at its timeout").isTrue();
            String err = Files.readString(dir.resolve("consume.err"));
            assertThat(err).as("what the consume said").contains("group billing: lost the connection to 127.0.0.1:" + port);
        } finally {
            if (consume != null) {
                consume.destroyForcibly();
            }
            ChildBroker.kill(broker);
        }
    }
}
