package dev.ferry.connect.jdbc;

import dev.ferry.client.FerryClient;
import dev.ferry.connect.Await;
import dev.ferry.connect.BrokerFixture;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ConnectorStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A JDBC source without {@code tiebreak.column} reads a backlog whose batches end inside groups
 * of rows sharing a value (each such batch is cut before the group, and the whole group read by
 * one more query) one batch after another, without waiting {@code poll.interval.ms} between
 * them. The other source tests poll every millisecond or so, where such a wait would not show.
 */
class JdbcSourceBacklogTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aBacklogOfCutBatchesArrivesWithoutWaitingForThePollInterval(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_backlog");
        // values in pairs (0, 1, 1, 2, 2, ...), so most batches of 3 end inside a pair, then seven rows sharing one value
        // (a batch of nothing but that value, cut to nothing before the group is read), then pairs again
        StringBuilder values = new StringBuilder();
        int total = 0;
        for (int id = 1; id <= 67; id++) {
            int v = id <= 30 ? id / 2 : id <= 37 ? 100 : 100 + id / 2;
            values.append(total++ == 0 ? "" : ", ").append('(').append(id).append(", ").append(v).append(')');
        }
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, v INTEGER NOT NULL)",
                "INSERT INTO " + table + " (id, v) VALUES " + values);
        int rows = total;
        ConnectorConfig config = new ConnectorConfig(Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url,
                "table", table, "topic", "backlog", "incrementing.column", "v", "batch.rows", "3",
                "poll.interval.ms", "30000"));
        try (BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            client.createTopic("backlog", 1);
            try (ConnectRuntime rt = broker.startRuntime(tmp.resolve("state"), config)) {
                // 10 s: far less than the 30 s one wait for the next poll would take, not a speed requirement
                Await.until(rows + " rows well within one poll interval", Duration.ofSeconds(10),
                        () -> status(rt).recordsOut() == rows, rt::status);
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    private static ConnectorStatus status(ConnectRuntime rt) {
        return rt.status().get(0);
    }
}
