package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.connect.SourceRecord;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL {@code NUMERIC} values that are no number ({@code NaN}, and {@code Infinity},
 * {@code -Infinity} since PostgreSQL 14): the driver's getBigDecimal fails on them (SQL state
 * 22003, not retried, not a bad record), and one such row stopped the source for good. A value
 * column now gives them as JSON strings; an increasing column fails with a message naming them.
 * Skipped when PostgreSQL is not reachable.
 */
class JdbcSourceNonFiniteDecimalTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void nanAndInfinityInAValueColumnAreReadAsStrings() throws Exception {
        String url = Target.POSTGRESQL.url(tmp);
        String table = Target.uniqueTable("src_nan");
        try {
            Target.exec(url, "CREATE TABLE " + table + " (id INT NOT NULL, amount NUMERIC)",
                    "INSERT INTO " + table + " VALUES (1, 1.5), (2, 'NaN'), (3, 'Infinity'), (4, '-Infinity'), (5, NULL), (6, 2)");
            List<String> amounts = new ArrayList<>();
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                        "topic", "rows", "poll.interval.ms", "1", "incrementing.column", "id")));
                for (int i = 0; i < 3; i++) {
                    for (SourceRecord r : task.poll(Duration.ofMillis(20))) {
                        amounts.add(body(r).get("amount").toString());
                    }
                }
            }
            assertThat(amounts).containsExactly("1.5", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "null", "2");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @Test
    void nanInTheIncreasingColumnFailsWithAMessageNamingIt() throws Exception {
        String url = Target.POSTGRESQL.url(tmp);
        String table = Target.uniqueTable("src_nanid");
        try {
            Target.exec(url, "CREATE TABLE " + table + " (id NUMERIC NOT NULL, note VARCHAR(10))",
                    "INSERT INTO " + table + " VALUES (1, 'a'), ('NaN', 'b')");
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(Map.of("name", table, "connector", "jdbc-source", "jdbc.url", url, "table", table,
                        "topic", "rows", "poll.interval.ms", "1", "incrementing.column", "id")));
                Throwable e = catchThrowable(() -> task.poll(Duration.ofMillis(20)));
                assertThat(e).isInstanceOf(IllegalStateException.class)
                        .hasMessageStartingWith("incrementing.column id is NaN in a row");
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    private static JsonNode body(SourceRecord r) throws Exception {
        ByteBuffer b = r.message().body();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return JSON.readTree(a);
    }
}
