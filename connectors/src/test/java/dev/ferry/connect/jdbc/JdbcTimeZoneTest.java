package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.connect.SourceRecord;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Time stamps without a zone are wall times, whatever the JVM's zone: with the JVM in
 * Europe/Berlin, values in its daylight-saving gap (2026-03-29 02:00-03:00, which do not exist
 * there) are read, used as the position and written exactly as the database holds them. Through
 * {@link java.sql.Timestamp} they were moved an hour on (02:10 became 03:10), and the source
 * skipped the rows between without an error.
 */
class JdbcTimeZoneTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Wall times around the spring-forward gap of Europe/Berlin; the first three do not exist there. */
    private static final List<String> GAP_DAY = List.of("2026-03-29T02:10", "2026-03-29T02:20", "2026-03-29T02:50",
            "2026-03-29T03:05", "2026-03-29T03:15", "2026-03-29T03:40");

    @TempDir
    Path tmp;

    private TimeZone jvmZone;

    @BeforeEach
    void berlin() {
        jvmZone = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("Europe/Berlin"));
    }

    @AfterEach
    void restoreZone() {
        TimeZone.setDefault(jvmZone);
    }

    /** MariaDB's TIMESTAMP is an instant in the session's zone; DATETIME is its wall time. */
    private static String wallTimeType(Target target) {
        return target == Target.MARIADB ? "DATETIME" : "TIMESTAMP";
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void theSourceReadsEveryRowOfTheGapOnceWithItsWallTime(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("tz_src");
        try {
            Target.exec(url, "CREATE TABLE " + table + " (id INT NOT NULL, updated " + wallTimeType(target) + " NOT NULL, note VARCHAR(10))");
            for (int i = 0; i < GAP_DAY.size(); i++) {
                Target.exec(url, "INSERT INTO " + table + " VALUES (" + (i + 1) + ", TIMESTAMP '" + GAP_DAY.get(i).replace('T', ' ')
                        + ":00', 'n" + (i + 1) + "')");
            }
            List<String> read = new ArrayList<>();
            String lastPosition = null;
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                        "topic", "rows", "poll.interval.ms", "1", "incrementing.column", "updated", "batch.rows", "3")));
                for (int i = 0; i < 8; i++) {
                    for (SourceRecord r : task.poll(Duration.ofMillis(20))) {
                        JsonNode row = body(r);
                        read.add(row.get("note").textValue() + " " + row.get("updated").textValue());
                        lastPosition = r.position().get("incrementing");
                    }
                }
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < GAP_DAY.size(); i++) {
                expected.add("n" + (i + 1) + " " + GAP_DAY.get(i));
            }
            assertThat(read).containsExactlyElementsOf(expected);
            assertThat(lastPosition).isEqualTo("2026-03-29T03:40");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void theSinkStoresTheSentWallTimeAndInstantsAsUtc(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("tz_sink");
        try {
            Target.exec(url, "CREATE TABLE " + table + " (id INT NOT NULL PRIMARY KEY, ts " + wallTimeType(target) + ")");
            long gapInstantMillis = Instant.parse("2026-03-29T02:30:00Z").toEpochMilli();
            JdbcSinkTask task = new JdbcSinkTask();
            try {
                task.start(TestContext.of(Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url, "table", table)));
                task.put(List.of(
                        message(0, "{\"id\":1,\"ts\":\"2026-03-29T02:30:00\"}"),
                        message(1, "{\"id\":2,\"ts\":\"2026-01-31T10:00:00Z\"}"),
                        message(2, "{\"id\":3,\"ts\":\"2026-03-29T04:30:00+02:00\"}"),
                        message(3, "{\"id\":4,\"ts\":" + gapInstantMillis + "}")));
                task.flush();
            } finally {
                task.close();
            }
            List<String> stored = new ArrayList<>();
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, ts FROM " + table + " ORDER BY id")) {
                while (rs.next()) {
                    stored.add(rs.getInt(1) + " " + rs.getObject(2, LocalDateTime.class));
                }
            }
            assertThat(stored).containsExactly("1 2026-03-29T02:30", "2 2026-01-31T10:00", "3 2026-03-29T02:30", "4 2026-03-29T02:30");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /**
     * PostgreSQL's driver reports a {@code timestamptz} column as {@link java.sql.Types#TIMESTAMP}
     * and refuses to read it as a wall time: taken for a wall-time column, every row failed the
     * source, and the sink bound instants as UTC wall times that the server placed in the JVM's
     * zone (an hour off in Berlin). Read and written as instants, they round-trip exactly.
     */
    @org.junit.jupiter.api.Test
    void aPostgresqlTimestamptzColumnIsReadAndWrittenAsAnInstant() throws Exception {
        Target target = Target.POSTGRESQL;
        String url = target.url(tmp);
        String table = Target.uniqueTable("tz_tstz");
        try {
            Target.exec(url, "CREATE TABLE " + table + " (id INT NOT NULL PRIMARY KEY, ts TIMESTAMPTZ NOT NULL)");
            JdbcSinkTask sink = new JdbcSinkTask();
            try {
                sink.start(TestContext.of(Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url, "table", table)));
                sink.put(List.of(message(0, "{\"id\":1,\"ts\":\"2026-01-31T10:00:00Z\"}"),
                        message(1, "{\"id\":2,\"ts\":\"2026-03-29T04:30:00+02:00\"}")));
                sink.flush();
            } finally {
                sink.close();
            }
            List<String> stored = new ArrayList<>();
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, ts FROM " + table + " ORDER BY id")) {
                while (rs.next()) {
                    stored.add(rs.getInt(1) + " " + rs.getObject(2, java.time.OffsetDateTime.class).toInstant());
                }
            }
            assertThat(stored).containsExactly("1 2026-01-31T10:00:00Z", "2 2026-03-29T02:30:00Z");
            List<String> read = new ArrayList<>();
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                        "topic", "rows", "poll.interval.ms", "1", "incrementing.column", "ts")));
                for (int i = 0; i < 4; i++) {
                    for (SourceRecord r : task.poll(Duration.ofMillis(20))) {
                        read.add(body(r).get("id").asInt() + " " + java.time.OffsetDateTime.parse(body(r).get("ts").textValue()).toInstant());
                    }
                }
            }
            assertThat(read).containsExactly("1 2026-01-31T10:00:00Z", "2 2026-03-29T02:30:00Z");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    private static Message message(long offset, String body) {
        return Message.builder("t").queueId(0).queueOffset(offset).body(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static JsonNode body(SourceRecord r) throws Exception {
        ByteBuffer b = r.message().body();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return JSON.readTree(a);
    }
}
