package dev.ferry.connect.jdbc;

import static dev.ferry.connect.jdbc.JdbcTasks.poll;
import static dev.ferry.connect.jdbc.JdbcTasks.sourceSettings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.ferry.connect.SourceRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The JDBC source's increasing and tiebreak columns, driven directly against real databases:
 * a decimal id is read exactly (fractions, values beyond a long), a tiebreak column that may be
 * NULL is refused or fails clearly, and rows sharing one value without a tiebreak are read only
 * up to a bound.
 */
class JdbcSourceColumnTest {
    @TempDir
    Path tmp;

    /** The "note" field of each record's JSON body, in order. */
    private static List<String> notes(List<SourceRecord> records) throws Exception {
        List<String> notes = new ArrayList<>();
        for (SourceRecord r : records) {
            notes.add(note(r));
        }
        return notes;
    }

    private static String note(SourceRecord r) throws Exception {
        return JdbcTasks.body(r).get("note").textValue();
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aDecimalIdWithFractionsIsReadExactlyAndEachRowOnce(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_dec");
        Target.exec(url, "CREATE TABLE " + table + " (id NUMERIC(12,2) NOT NULL PRIMARY KEY, note VARCHAR(10))",
                "INSERT INTO " + table + " VALUES (1.5, 'a'), (2.25, 'b'), (2.5, 'c'), (3, 'd'), (10.75, 'e')");
        Map<String, String> s = sourceSettings(url, table, "incrementing.column", "id", "batch.rows", "2");
        try {
            Map<String, String> afterB;
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(s));
                List<SourceRecord> records = poll(task, 10);
                assertThat(notes(records)).as("each row once, in id order (1.5 was read as 1 and sent again and again)")
                        .containsExactly("a", "b", "c", "d", "e");
                assertThat(records).extracting(r -> r.position().get("incrementing"))
                        .containsExactly("1.50", "2.25", "2.50", "3.00", "10.75");
                afterB = records.get(1).position();
            }
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(s, afterB)); // a restart after 2.25
                assertThat(notes(poll(task, 5))).containsExactly("c", "d", "e");
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aDecimalIdBeyondALongIsReadExactly(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_big");
        Target.exec(url, "CREATE TABLE " + table + " (id NUMERIC(30,0) NOT NULL PRIMARY KEY, note VARCHAR(10))",
                "INSERT INTO " + table + " VALUES (9223372036854775807, 'max'), (9223372036854775808, 'max+1'),"
                        + " (100000000000000000000, '1e20')");
        Map<String, String> s = sourceSettings(url, table, "incrementing.column", "id", "batch.rows", "2");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(s));
            List<SourceRecord> records = poll(task, 5);
            assertThat(notes(records)).containsExactly("max", "max+1", "1e20");
            assertThat(records.get(2).position()).containsEntry("incrementing", "100000000000000000000");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aNullInATablesTiebreakColumnFailsTheTaskInsteadOfReadingZero(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_tbnull");
        // a column that may be NULL is taken (a view's columns all may be, as PostgreSQL reports them); a NULL in it is not
        Target.exec(url, "CREATE TABLE " + table + " (updated TIMESTAMP NOT NULL, seq BIGINT, note VARCHAR(10))");
        Target.exec(url, "INSERT INTO " + table + " (updated, seq, note) VALUES (TIMESTAMP '2026-01-31 10:00:00', 1, 'a'), "
                + "(TIMESTAMP '2026-01-31 10:00:00', NULL, 'b')");
        Map<String, String> s = sourceSettings(url, table, "incrementing.column", "updated", "tiebreak.column", "seq");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(s));
            Throwable e = catchThrowable(() -> poll(task, 3));
            assertThat(e).isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("tiebreak.column seq is NULL in a row with updated = 2026-01-31T10:00");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void aNullTiebreakInAQueryFailsTheTaskInsteadOfReadingZero(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_qnull");
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, updated TIMESTAMP NOT NULL, note VARCHAR(10))");
        insertSameTimeStamp(url, table, 5);
        Map<String, String> s = sourceSettings(url, table, "incrementing.column", "updated", "tiebreak.column", "tb");
        s.remove("table");
        s.put("query", "SELECT updated, CASE WHEN id = 3 THEN NULL ELSE id END AS tb, note FROM " + table);
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(s)); // a query's nullability is not known (PostgreSQL) or always 'nullable' (H2)
            Throwable e = catchThrowable(() -> poll(task, 3));
            assertThat(e).isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("tiebreak.column tb is NULL in a row with updated = 2026-01-31T10:00")
                    .hasMessageContaining("(expected: never NULL;");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void moreRowsSharingOneValueThanTheBoundFailWithAdviceInsteadOfLoadingThemAll(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("src_tie");
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, updated TIMESTAMP NOT NULL, note VARCHAR(10))");
        insertSameTimeStamp(url, table, 50);
        try {
            Map<String, String> within = sourceSettings(url, table, "incrementing.column", "updated", "batch.rows", "10",
                    "same.value.max.rows", "50");
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(within));
                assertThat(poll(task, 3)).as("a group of 50 within a bound of 50: read whole").hasSize(50);
            }
            Map<String, String> beyond = sourceSettings(url, table, "incrementing.column", "updated", "batch.rows", "10",
                    "same.value.max.rows", "49");
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(beyond));
                Throwable e = catchThrowable(() -> task.poll(Duration.ofMillis(20)));
                assertThat(e).isInstanceOf(IllegalStateException.class)
                        .hasMessageStartingWith("more than same.value.max.rows=49 rows have updated = 2026-01-31T10:00")
                        .hasMessageContaining("set tiebreak.column");
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** Rows 1..n, all with the time stamp 2026-01-31T10:00. */
    private static void insertSameTimeStamp(String url, String table, int n) throws Exception {
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, updated, note) VALUES (?, ?, ?)")) {
            for (int id = 1; id <= n; id++) {
                ps.setLong(1, id);
                ps.setTimestamp(2, Timestamp.valueOf(LocalDateTime.of(2026, 1, 31, 10, 0)));
                ps.setString(3, "n" + id);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }
}
