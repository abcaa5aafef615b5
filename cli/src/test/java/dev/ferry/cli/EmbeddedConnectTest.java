package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.StatusFile;
import dev.ferry.connect.TaskState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broker with {@code connect.configs} runs the connectors once its gateway is up and stops them first. */
class EmbeddedConnectTest {
    @TempDir
    Path dir;

    private BrokerSettings settings(String connectConfigs) {
        Map<String, BrokerSettings.Value> v = new LinkedHashMap<>();
        v.put("data.dir", new BrokerSettings.Value(dir.resolve("data").toString(), "test"));
        v.put("listen.port", new BrokerSettings.Value("0", "test"));
        v.put("segment.pretouch", new BrokerSettings.Value("false", "test"));
        v.put("segment.bytes", new BrokerSettings.Value(Integer.toString(16 << 20), "test"));
        v.put("connect.configs", new BrokerSettings.Value(connectConfigs, "test"));
        return BrokerSettings.from(v);
    }

    @Test
    void runsTheConnectorsInsideTheBroker() throws Exception {
        Path log = dir.resolve("app.log");
        Files.writeString(log, "a\nb\n");
        Path config = dir.resolve("tail.properties");
        Files.writeString(config, "connector=file-source\nfile=" + log + "\ntopic=embedded\n");
        BrokerSettings s = settings(config.toString());
        assertThat(s.connectStateDir()).isEqualTo(dir.resolve("data").toAbsolutePath().resolve("connect"));
        try (BrokerServer server = BrokerServer.start(s);
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(server.gateway().port()).build())) {
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (server.connect().status().get(0).recordsOut() < 2) {
                assertThat(System.nanoTime()).as("two lines sent: %s", server.connect().status()).isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(client.describeTopic("embedded")).isPresent();
        }
        ConnectorStatus last = StatusFile.read(s.connectStateDir().resolve("status.json")).connectors().get(0);
        assertThat(last.name()).isEqualTo("tail");
        assertThat(last.state()).isEqualTo(TaskState.STOPPED);
        assertThat(last.recordsOut()).isEqualTo(2);
    }

    @Test
    void aBadConnectorConfigStopsTheBrokerBeforeItOpens() throws IOException {
        Path config = dir.resolve("bad.json");
        Files.writeString(config, "{\"connector\": \"file-sink\", \"file\": \"x\"}");
        assertThatThrownBy(() -> BrokerServer.start(settings(config.toString()))).isInstanceOf(ConnectConfigException.class)
                .hasMessage("connector 'bad': topics: missing (expected: comma-separated topic names)");
        assertThat(dir.resolve("data")).as("nothing opened").doesNotExist();
    }
}
