package dev.ferry.connect.jdbc;

import dev.ferry.connect.BrokerFixture;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.StartPosition;
import dev.ferry.connect.SourceRecord;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The JDBC source driven directly, its records sent to a real broker: rows that another thread
 * inserts while it runs (and across a restart from the committed position) all arrive once;
 * rows sharing a time stamp are neither skipped nor repeated with a tiebreak column.
 */
class JdbcSourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void rowsInsertedWhileRunningArriveOnce(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_rows");
        int preloaded = 1_000;
        int total = 6_000;
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40), created TIMESTAMP)");
        insert(url, table, 1, preloaded);
        Map<String, String> settings = Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                "topic", "rows", "incrementing.column", "id", "key.column", "name", "batch.rows", "500", "poll.interval.ms", "20");
        try (BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client();
             Producer producer = client.producer()) {
            client.createTopic("rows", 4);
            // one writer, small transactions in id order: what the source's caveat asks for
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                for (int from = preloaded + 1; from <= total; from += 25) {
                    insert(url, table, from, Math.min(from + 24, total));
                }
            });
            Map<String, String> position;
            int sent;
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(settings));
                Result r = pump(task, producer, total / 2, Duration.ofSeconds(20));
                position = r.position();
                sent = r.sent();
            }
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(settings, position)); // a restart at the last committed position
                writer.get();
                sent += pump(task, producer, total - sent, Duration.ofSeconds(20)).sent();
                assertThat(task.poll(Duration.ofMillis(50))).as("nothing after the last row").isEmpty();
            }
            producer.flush();
            List<Long> ids = new ArrayList<>();
            try (Consumer consumer = client.consumer(ConsumerConfig.builder("rows", "check").startFrom(StartPosition.EARLIEST)
                    .autoCommit(false).maxWaitMs(100).build())) {
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (ids.size() < total && System.nanoTime() < deadline) {
                    for (Message m : consumer.poll(Duration.ofMillis(200))) {
                        JsonNode row = JSON.readTree(bytes(m.body()));
                        ids.add(row.get("id").longValue());
                        assertThat(m.keys()).as("key.column gives the key").containsExactly(row.get("name").textValue());
                        assertThat(row.get("created").textValue()).as("time stamps as ISO text").startsWith("2026-01-31T");
                    }
                }
            }
            assertThat(sent).isEqualTo(total);
            assertThat(ids).as("messages in the topic").hasSize(total);
            assertThat(new HashSet<>(ids)).as("distinct ids").hasSize(total);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void rowsSharingATimeStampNeitherSkippedNorRepeated(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_ts");
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, updated TIMESTAMP NOT NULL)");
        int rows = 200;
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, updated) VALUES (?, ?)")) {
            for (int id = 1; id <= rows; id++) {
                ps.setLong(1, id);
                ps.setTimestamp(2, Timestamp.valueOf(LocalDateTime.of(2026, 1, 31, 10, 0).plusSeconds(id / 10))); // ten rows per second
                ps.addBatch();
            }
            ps.executeBatch();
        }
        Map<String, String> settings = Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                "topic", "rows", "incrementing.column", "updated", "tiebreak.column", "id", "batch.rows", "7", "poll.interval.ms", "1");
        try {
            List<Long> ids = new ArrayList<>();
            Map<String, String> position = Map.of();
            for (int restart = 0; restart < 4 && ids.size() < rows; restart++) {
                try (JdbcSourceTask task = new JdbcSourceTask()) {
                    task.start(TestContext.of(settings, position));
                    for (int polls = 0; polls < 8; polls++) { // 8 x 7 rows, then a restart in the middle of a tie group
                        for (SourceRecord r : task.poll(Duration.ofMillis(100))) {
                            ids.add(JSON.readTree(bytes(r.message().body())).get("id").longValue());
                            position = r.position();
                        }
                    }
                }
            }
            assertThat(ids).as("every row once, in (updated, id) order").hasSize(rows);
            for (int i = 0; i < rows; i++) {
                assertThat(ids.get(i)).isEqualTo(i + 1L);
            }
            assertThat(position).containsEntry("tiebreak", "200").containsEntry("incrementing", "2026-01-31T10:00:20");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void aFullBatchEndingInsideATimeStampGroupSkipsNoneOfItWithoutTiebreak(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_bulk");
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, updated TIMESTAMP NOT NULL)");
        LocalDateTime t0 = LocalDateTime.of(2026, 1, 31, 10, 0);
        int total = 5_020;
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, updated) VALUES (?, ?)")) {
            for (int id = 1; id <= total; id++) {
                // ten rows with their own time stamps, 5,000 bulk-inserted with one time stamp, ten more after
                LocalDateTime at = id <= 10 ? t0.plusSeconds(id) : id <= 5_010 ? t0.plusMinutes(1) : t0.plusMinutes(2).plusSeconds(id);
                ps.setLong(1, id);
                ps.setTimestamp(2, Timestamp.valueOf(at));
                ps.addBatch();
            }
            ps.executeBatch();
        }
        Map<String, String> settings = Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                "topic", "rows", "incrementing.column", "updated", "batch.rows", "1000", "poll.interval.ms", "1");
        try {
            List<Long> ids = new ArrayList<>();
            Map<String, String> midGroup = null;
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(settings));
                for (int polls = 0; polls < 20; polls++) {
                    List<SourceRecord> batch = task.poll(Duration.ofMillis(100));
                    for (SourceRecord r : batch) {
                        long id = JSON.readTree(bytes(r.message().body())).get("id").longValue();
                        ids.add(id);
                        if (id > 10 && id <= 5_010) {
                            assertThat(LocalDateTime.parse(r.position().get("incrementing"))).as("position inside the group")
                                    .isIn(t0.plusSeconds(10), t0.plusMinutes(1));
                            if (midGroup == null) {
                                midGroup = r.position();
                            }
                        }
                    }
                    if (!batch.isEmpty()) {
                        assertThat(batch.get(batch.size() - 1).position().get("incrementing")).as("a poll ends after a whole group")
                                .isNotEqualTo(t0.plusSeconds(10).toString());
                    }
                }
            }
            assertThat(ids).as("every row once").hasSize(total).doesNotHaveDuplicates();
            assertThat(midGroup).as("a restart inside the group reads the group again").containsEntry("incrementing",
                    t0.plusSeconds(10).toString());
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(settings, midGroup));
                int again = 0;
                for (int polls = 0; polls < 10; polls++) {
                    again += task.poll(Duration.ofMillis(100)).size();
                }
                assertThat(again).as("the whole group and the rows after it").isEqualTo(5_010);
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    private record Result(int sent, Map<String, String> position) {}

    /** Polls and sends until {@code count} records were sent; the position is that of the last one acknowledged. */
    private static Result pump(JdbcSourceTask task, Producer producer, int count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        int sent = 0;
        Map<String, String> position = Map.of();
        Set<String> seen = new HashSet<>();
        List<CompletableFuture<?>> acks = new ArrayList<>();
        while (sent < count) {
            assertThat(System.nanoTime()).as("%d of %d records within %s", sent, count, timeout).isLessThan(deadline);
            for (SourceRecord r : task.poll(Duration.ofMillis(100))) {
                acks.add(producer.sendAsync(r.message(), r.shardingKey()));
                assertThat(seen.add(r.position().get("incrementing"))).as("a position repeated").isTrue();
                position = r.position();
                sent++;
            }
        }
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(); // the runtime commits a position once acknowledged
        return new Result(sent, new HashMap<>(position));
    }

    private static void insert(String url, String table, int from, int to) {
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, name, created) VALUES (?, ?, ?)")) {
            for (int id = from; id <= to; id++) {
                ps.setLong(1, id);
                ps.setString(2, "name-" + id);
                ps.setTimestamp(3, Timestamp.valueOf(LocalDateTime.of(2026, 1, 31, 12, 0).plusNanos(id * 1_000_000L)));
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }
}
