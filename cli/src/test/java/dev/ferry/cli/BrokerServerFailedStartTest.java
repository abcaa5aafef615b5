package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry broker}'s start ({@link BrokerServer#start}) on a data folder with a bad file fails
 * with the file's error and leaves nothing open. Before, the broker's store stayed open: the start
 * after the file was fixed was refused in the same process ("already open in this process"), and in
 * a new one ran crash recovery.
 */
class BrokerServerFailedStartTest {
    @TempDir
    Path dir;

    private BrokerServer start() {
        Map<String, BrokerSettings.Value> values = new LinkedHashMap<>();
        for (String[] kv : new String[][] {{"data.dir", dir.toString()}, {"listen.port", "0"}, {"segment.bytes", Integer.toString(8 << 20)},
                {"segment.pretouch", "false"}}) {
            values.put(kv[0], new BrokerSettings.Value(kv[1], "test"));
        }
        return BrokerServer.start(BrokerSettings.from(values));
    }

    @Test
    void aGarbageChecksLineFailsTheStartAndTheNextStartIsClean() throws IOException {
        start().close();
        Path checks = dir.resolve("transactions").resolve("checks");
        Files.writeString(checks, "garbage\n");

        assertThatThrownBy(this::start).hasMessageContaining(checks + ": line 1: 'garbage'");

        Files.delete(checks);
        try (BrokerServer server = start()) {
            assertThat(server.broker().store().recoveryReport().crashed()).as("a clean open: the failed start closed the store").isFalse();
        }
    }
}
