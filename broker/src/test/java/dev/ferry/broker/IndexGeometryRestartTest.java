package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.StoredMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker restarted with another {@code index.entries.per.file} than its offset-index files were
 * made with. Before, every queue with more than one index file looked damaged ("had no index file
 * ... between two others (index files deleted?)") and every start from then on indexed the whole
 * commit log again, however large. Now the store keeps its files' size (with a WARN) and opens
 * as usual: no rebuild, every message where it was, and appends continue.
 */
class IndexGeometryRestartTest {
    @TempDir
    Path dir;

    private Broker open(int entriesPerFile) {
        return Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false)
                .indexEntriesPerFile(entriesPerFile).build()));
    }

    private static void send(Broker b, int from, int to) {
        List<LogMessage> batch = new ArrayList<>();
        for (int i = from; i < to; i++) {
            batch.add(LogMessage.builder("orders", 0, ("m-" + i).getBytes(StandardCharsets.UTF_8)).build());
            if (batch.size() == 500 || i == to - 1) {
                b.send(List.copyOf(batch)).join();
                batch.clear();
            }
        }
    }

    private static void assertHolds(Broker b, int count) {
        List<StoredMessage> all = b.store().readMessages("orders", 0, 0, count + 1, Integer.MAX_VALUE);
        assertThat(all).hasSize(count);
        for (int i = 0; i < count; i++) {
            assertThat(new String(all.get(i).body(), StandardCharsets.UTF_8)).isEqualTo("m-" + i);
        }
    }

    @Test
    void aChangedEntriesPerFileKeepsTheStoresFilesAndRebuildsNothing() {
        try (Broker b = open(1_000)) {
            b.createTopic("orders", 1);
            send(b, 0, 2_500); // three index files: 0, 1000, 2000
        }
        for (int entries : new int[] {5_000, 5_000, 300}) {
            try (Broker b = open(entries)) {
                assertThat(b.store().recoveryReport().indexesRebuilt()).as("opened with " + entries + " entries per file").isNull();
                assertHolds(b, 2_500);
            }
        }
        try (Broker b = open(5_000)) {
            send(b, 2_500, 3_200); // into the file of 2000 and a new one of 3000
        }
        try (Broker b = open(5_000)) {
            assertThat(b.store().recoveryReport().indexesRebuilt()).isNull();
            assertHolds(b, 3_200);
        }
    }
}
