package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.connect.BadRecordException;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The JDBC sink driven directly, in each dialect: upserts by key, redeliveries dropped by the
 * stored positions, bad bodies and rows the database rejects reported as
 * {@link BadRecordException} with every other row written, auto.create.
 */
class JdbcSinkTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void upsertsByKeyAndDropsRedeliveries(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_up");
        Target.exec(url, "CREATE TABLE " + table + " (id VARCHAR(64) NOT NULL PRIMARY KEY, qty INTEGER, note VARCHAR(20))");
        try (JdbcSinkTask task = start(url, table, Map.of("mode", "upsert", "key.columns", "id"))) {
            List<Message> batch = List.of(msg(0, "{\"id\":\"a\",\"qty\":1}"), msg(1, "{\"id\":\"b\",\"qty\":2}"),
                    msg(2, "{\"id\":\"a\",\"qty\":3,\"note\":\"again\"}"));
            task.put(batch);
            task.flush();
            assertThat(rows(url, "SELECT id, qty, note FROM " + table)).containsExactly("a|3|again", "b|2|null");
            assertThat(task.storedPositions("t")).containsExactly(Map.entry(0, 3L));
            task.put(List.of(msg(1, "{\"id\":\"b\",\"qty\":99}"))); // a redelivery below the stored position
            task.flush();
            assertThat(rows(url, "SELECT id, qty, note FROM " + table)).containsExactly("a|3|again", "b|2|null");
        } finally {
            Target.dropQuietly(url, table, table);
        }
        // a new task instance reads the positions back from the offsets table
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void reportsBadRecordsAndWritesEveryOtherRow(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_bad");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(5))");
        try {
            List<Message> all = List.of(msg(0, "{\"id\":0,\"note\":\"ok\"}"), msg(1, "not json"),
                    msg(2, "{\"id\":2}"), msg(3, "{\"id\":3,\"note\":\"far too long\"}"), msg(4, "{\"id\":4,\"note\":\"ok\"}"),
                    msg(5, "{\"id\":5,\"colour\":\"red\"}"), msg(6, "{\"id\":6,\"note\":\"ok\"}"));
            try (JdbcSinkTask task = start(url, table, Map.of("batch.rows", "100"))) {
                List<String> reasons = putAll(task, all);
                assertThat(reasons).hasSize(2);
                assertThat(reasons.get(0)).startsWith("offset 1: body is not JSON");
                assertThat(reasons.get(1)).startsWith("offset 5: field 'colour' has no column in " + table);
                BadRecordException rejected = catchThrowableOfType(BadRecordException.class, task::flush);
                assertThat(rejected).as("the row the database rejects is reported by flush").isNotNull();
                assertThat(((Message) rejected.record()).queueOffset()).isEqualTo(3);
                assertThat(rejected.getMessage()).startsWith("table " + table + " rejected the row: ");
                assertThat(rows(url, "SELECT id FROM " + table)).as("rows before the rejected one and of other queues")
                        .containsExactly("0", "2");
                task.flush(); // the runtime handled the record: the sink moves past it
                assertThat(rows(url, "SELECT id FROM " + table)).containsExactly("0", "2", "4", "6");
                assertThat(task.storedPositions("t")).containsExactly(Map.entry(0, 7L));
            }
            try (JdbcSinkTask restarted = start(url, table, Map.of())) {
                assertThat(restarted.storedPositions("t")).as("positions read back after a restart").containsExactly(Map.entry(0, 7L));
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void autoCreatesTheTableFromTheFirstMessage(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_auto");
        try (JdbcSinkTask task = start(url, table, Map.of("auto.create", "true", "mode", "upsert", "key.columns", "id"))) {
            task.put(List.of(msg(0, "{\"id\":\"x\",\"body\":{\"nested\":[1,2]},\"n\":5}"), msg(1, "{\"id\":\"y\",\"n\":6}"),
                    msg(2, "{\"id\":\"x\",\"n\":7}")));
            task.flush();
            assertThat(rows(url, "SELECT id, body, n FROM " + table)).containsExactly("x|{\"nested\":[1,2]}|7", "y|null|6");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void convertsEveryJsonFormToTheColumnType(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_forms");
        Target.exec(url, "CREATE TABLE " + table + " (id BIGINT NOT NULL, n NUMERIC(10, 2), flag BOOLEAN, note VARCHAR(20), "
                + "at TIMESTAMP, big BIGINT)");
        try (JdbcSinkTask task = start(url, table, Map.of())) {
            task.put(List.of(
                    msg(0, "{\"id\":\"7\",\"n\":1.5,\"flag\":true,\"note\":42,\"at\":\"2026-01-31T10:15:30\",\"big\":null}"),
                    msg(1, "{\"ID\":8,\"n\":\"2.25\",\"flag\":0,\"note\":\"first\",\"note\":\"last wins\",\"big\":9007199254740993}"),
                    msg(2, "{\"id\":9,\"note\":[1,{\"a\":\"b\"}],\"flag\":\"false\",\"n\":3}")));
            assertThatThrownBy(() -> task.put(List.of(msg(3, "{\"id\":10,\"colour\":\"red\",\"note\":"))))
                    .as("a broken body is reported as not JSON even after a field without a column")
                    .hasMessageStartingWith("body is not JSON");
            assertThatThrownBy(() -> task.put(List.of(msg(4, "{\"id\":\"eleven\"}")))).hasMessageContaining("column");
            assertThatThrownBy(() -> task.put(List.of(msg(5, "[1, 2]")))).hasMessageStartingWith("body is a JSON array");
            assertThatThrownBy(() -> task.put(List.of(msg(6, "")))).hasMessageStartingWith("body is empty");
            // numbers as strings of a million digits: refused at once (parsed, they held the sink for minutes)
            String digits = "9".repeat(1_000_000);
            assertThatThrownBy(() -> task.put(List.of(msg(7, "{\"id\":\"" + digits + "\"}"))))
                    .hasMessageContaining("(expected: an integer of at most 1000 characters)");
            assertThatThrownBy(() -> task.put(List.of(msg(8, "{\"id\":11,\"n\":\"" + digits + "\"}"))))
                    .hasMessageContaining("(expected: a number of at most 1000 characters)");
            task.flush();
            assertThat(rows(url, "SELECT id, n, flag, note, at, big FROM " + table)).containsExactly(
                    "7|1.50|" + (target == Target.H2 ? "TRUE" : "t") + "|42|2026-01-31 10:15:30|null",
                    "8|2.25|" + (target == Target.H2 ? "FALSE" : "f") + "|last wins|null|9007199254740993",
                    "9|3.00|" + (target == Target.H2 ? "FALSE" : "f") + "|[1,{\"a\":\"b\"}]|null|null");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void keepsEveryDigitOfAFractionalNumberAndRefusesOneThatIsNotFinite(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_num");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, amount NUMERIC(30, 2), ratio DOUBLE PRECISION, t TEXT)");
        try (JdbcSinkTask task = start(url, table, Map.of("batch.rows", "100"))) {
            List<String> reasons = putAll(task, List.of(
                    msg(0, "{\"id\":1,\"amount\":12345678901234567.89,\"ratio\":0.5,\"t\":12345678901234567.89}"),
                    msg(1, "{\"id\":2,\"ratio\":1e400}"),
                    msg(2, "{\"id\":3,\"ratio\":\"NaN\"}"),
                    msg(3, "{\"id\":4,\"amount\":1.5e1,\"ratio\":-2.5e-3,\"t\":1.50}"),
                    msg(4, "{\"id\":5,\"amount\":1e400}")));
            assertThat(reasons).containsExactly(
                    "offset 1: column " + ratio(target) + "): 1E+400 (expected: a finite number within a double's range,"
                            + " about 1.8e308)",
                    "offset 2: column " + ratio(target) + "): \"NaN\" (expected: a finite number within a double's range,"
                            + " about 1.8e308)");
            BadRecordException overflow = catchThrowableOfType(BadRecordException.class, task::flush);
            assertThat(overflow).as("1e400 does not fit NUMERIC(30, 2): the database rejects the row").isNotNull();
            assertThat(((Message) overflow.record()).queueOffset()).isEqualTo(4);
            task.flush(); // the runtime handled the record: the sink moves past it
            assertThat(rows(url, "SELECT id, amount, ratio, t FROM " + table)).as("through a double the amount was 12345678901234568")
                    .containsExactly("1|12345678901234567.89|0.5|12345678901234567.89", "4|15.00|-0.0025|1.50");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** Column ratio as the database describes it: its name (H2 folds to upper case) and type. */
    private static String ratio(Target target) {
        return switch (target) {
            case POSTGRESQL -> "ratio (float8";
            case MARIADB -> "ratio (DOUBLE";
            default -> "RATIO (DOUBLE PRECISION";
        };
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2"})
    void missingTableWithoutAutoCreateNamesTheField(Target target) {
        String url = target.url(tmp);
        assertThatThrownBy(() -> start(url, "no_such_table", Map.of()))
                .hasMessageContaining("table: 'no_such_table' (expected: an existing table, or auto.create=true");
    }

    /**
     * An offsets table someone else made without the key on (connector, topic, queue_id) would take
     * two instances' positions and rows alike: the sink refuses to start on it, naming it.
     */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void anOffsetsTableWithoutItsKeyIsRefused(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_nokey");
        String offsetsTable = Target.uniqueTable("offsets_nokey");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))",
                "CREATE TABLE " + offsetsTable + " (connector VARCHAR(255), topic VARCHAR(255), queue_id INTEGER, next_offset BIGINT)");
        try {
            assertThatThrownBy(() -> start(url, table, Map.of("offsets.table", offsetsTable)))
                    .hasMessageContaining("offsets.table").hasMessageContaining("takes two rows for one queue");
            assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + offsetsTable)).as("the probe rolled back").isZero();
        } finally {
            Target.exec(url, "DROP TABLE IF EXISTS " + offsetsTable);
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void twoInstancesOfOneConnectorCannotBothWrite(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_twice");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))");
        try {
            try (JdbcSinkTask a = start(url, table, Map.of()); JdbcSinkTask b = start(url, table, Map.of())) {
                // no stored position yet: both would insert it
                a.put(List.of(msg(0, "{\"id\":0}"), msg(1, "{\"id\":1}"), msg(2, "{\"id\":2}")));
                a.flush();
                b.put(List.of(msg(0, "{\"id\":0}"), msg(1, "{\"id\":1}"), msg(2, "{\"id\":2}")));
                assertThatThrownBy(b::flush).hasMessageContaining("another instance of connector " + table + " is writing")
                        .as("no SQLException cause: the runtime must not retry it").hasNoCause();
                a.put(List.of(msg(3, "{\"id\":3}")));
                a.flush();
            }
            assertThat(rows(url, "SELECT id FROM " + table)).as("the second instance's rows rolled back").containsExactly("0", "1", "2", "3");
            try (JdbcSinkTask c = start(url, table, Map.of()); JdbcSinkTask d = start(url, table, Map.of())) {
                // both read the stored position 4: the first to commit moves it, the other's conditional update finds no row
                c.put(List.of(msg(4, "{\"id\":4}")));
                c.flush();
                d.put(List.of(msg(4, "{\"id\":4}"), msg(5, "{\"id\":5}")));
                assertThatThrownBy(d::flush).hasMessageContaining("another instance of connector " + table + " is writing");
                c.put(List.of(msg(5, "{\"id\":5}")));
                c.flush();
                assertThat(c.storedPositions("t")).containsExactly(Map.entry(0, 6L));
            }
            assertThat(rows(url, "SELECT id FROM " + table)).containsExactly("0", "1", "2", "3", "4", "5");
            assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + table)).as("no row twice").isEqualTo(6);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2"})
    void aBindFailureLeavesNoStaleRowInTheStatementBatch(Target target) throws Exception {
        String url = FailBindDriver.wrap(target.url(tmp));
        String table = Target.uniqueTable("sink_stale");
        Target.exec(target.url(tmp), "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))");
        try (JdbcSinkTask task = start(url, table, Map.of("batch.rows", "100"))) {
            task.put(List.of(msg(0, "{\"id\":0,\"note\":\"a\"}"), msg(1, "{\"id\":1,\"note\":\"" + FailBindDriver.REFUSED + "\"}")));
            BadRecordException rejected = catchThrowableOfType(BadRecordException.class, task::flush);
            assertThat(((Message) rejected.record()).queueOffset()).isEqualTo(1);
            task.put(List.of(msg(2, "{\"id\":2,\"note\":\"b\"}"))); // the runtime handled offset 1
            task.flush();
            assertThat(Target.queryLong(target.url(tmp), "SELECT COUNT(*) FROM " + table + " WHERE id = 0")).as("row 0 once").isEqualTo(1);
            assertThat(rows(target.url(tmp), "SELECT id FROM " + table)).containsExactly("0", "2");
        } finally {
            Target.dropQuietly(target.url(tmp), table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void flushAfterPutsWrittenInTheBackgroundLeavesEveryRowCommittedWithItsPositions(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_pipe");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, q INTEGER)");
        try (JdbcSinkTask task = start(url, table, Map.of("batch.rows", "7"))) {
            // 3 queues, 250 messages in puts of 1 to 40: most full buffers are written by the writer thread
            Map<Integer, Long> next = new TreeMap<>();
            List<Message> all = new ArrayList<>();
            for (int i = 0; i < 250; i++) {
                int q = i % 3;
                long offset = next.merge(q, 1L, Long::sum) - 1;
                all.add(Message.builder("t").queueId(q).queueOffset(offset).body(("{\"id\":" + i + ",\"q\":" + q + "}")
                        .getBytes(StandardCharsets.UTF_8)).build());
            }
            for (int from = 0, size = 1; from < all.size(); from += size, size = size % 40 + 1) {
                task.put(all.subList(from, Math.min(all.size(), from + size)));
            }
            task.flush();
            assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + table)).as("every row").isEqualTo(250);
            assertThat(Target.queryLong(url, "SELECT COUNT(DISTINCT id) FROM " + table)).as("each once").isEqualTo(250);
            assertThat(task.rowsWritten()).isEqualTo(250);
            assertThat(task.storedPositions("t")).isEqualTo(next);
            for (Map.Entry<Integer, Long> e : next.entrySet()) {
                assertThat(Target.queryLong(url, "SELECT next_offset FROM " + SinkOffsetsTable.DEFAULT_NAME + " WHERE connector = '"
                        + table + "' AND topic = 't' AND queue_id = " + e.getKey())).as("committed position of queue " + e.getKey())
                        .isEqualTo(e.getValue());
            }
            task.put(all.subList(100, 120)); // redeliveries below the stored positions
            task.flush();
            assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + table)).isEqualTo(250);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aRowRejectedInABackgroundWriteIsReportedByFlushAndEveryOtherRowWritten(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_pipebad");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(5))");
        try {
            List<Message> all = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                all.add(msg(i, "{\"id\":" + i + ",\"note\":\"" + (i == 5 ? "far too long" : "ok") + "\"}"));
            }
            try (JdbcSinkTask task = start(url, table, Map.of("batch.rows", "4"))) {
                for (Message m : all) {
                    task.put(List.of(m));
                }
                BadRecordException rejected = catchThrowableOfType(BadRecordException.class, task::flush);
                assertThat(rejected).as("the row the database rejects is reported by flush").isNotNull();
                assertThat(((Message) rejected.record()).queueOffset()).isEqualTo(5);
                assertThat(rows(url, "SELECT id FROM " + table)).containsExactlyInAnyOrder("0", "1", "2", "3", "4");
                task.flush(); // the runtime handled the record
                assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + table)).isEqualTo(29);
                assertThat(task.storedPositions("t")).containsExactly(Map.entry(0, 30L));
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void aTableDroppedUnderABackgroundWriteFailsTheNextPutOrFlush(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_pipedrop");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL, note VARCHAR(20))");
        try (JdbcSinkTask task = start(url, table, Map.of("batch.rows", "5"))) {
            List<Message> first = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                first.add(msg(i, "{\"id\":" + i + "}"));
            }
            task.put(first);
            task.flush();
            Target.exec(url, "DROP TABLE " + table);
            Exception failure = null;
            for (int i = 10; i < 40 && failure == null; i++) {
                try {
                    task.put(List.of(msg(i, "{\"id\":" + i + "}")));
                } catch (Exception e) {
                    failure = e;
                }
            }
            if (failure == null) {
                failure = catchThrowableOfType(Exception.class, task::flush);
            }
            assertThat(failure).as("the writer's failure, on the task thread").isNotNull().isNotInstanceOf(BadRecordException.class);
            assertThat(failure).isInstanceOf(java.sql.SQLException.class);
            assertThat(task.storedPositions("t")).containsExactly(Map.entry(0, 10L));
            assertThat(Target.queryLong(url, "SELECT next_offset FROM " + SinkOffsetsTable.DEFAULT_NAME + " WHERE connector = '"
                    + table + "'")).as("no position moved past the written rows").isEqualTo(10);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void closeWithAWriteInFlightLeavesRowsAndPositionsTogetherAndStopsTheWriter(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_pipeclose");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER NOT NULL)");
        try {
            JdbcSinkTask task = start(url, table, Map.of("batch.rows", "500"));
            List<Message> batch = new ArrayList<>();
            for (int i = 0; i < 1200; i++) {
                batch.add(msg(i, "{\"id\":" + i + "}"));
            }
            task.put(batch); // two buffers of 500 handed to the writer, 200 buffered
            task.close();
            assertThat(Thread.getAllStackTraces().keySet()).as("the writer thread stopped by close")
                    .noneMatch(t -> t.getName().equals("jdbc-sink-writer-" + table) && t.isAlive());
            long rows = Target.queryLong(url, "SELECT COUNT(*) FROM " + table);
            long position = Target.queryLong(url, "SELECT COALESCE(SUM(next_offset), 0) FROM " + SinkOffsetsTable.DEFAULT_NAME
                    + " WHERE connector = '" + table + "'");
            assertThat(rows).as("rows and their positions committed together").isEqualTo(position).isIn(500L, 1000L);
            Thread.sleep(200);
            assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + table)).as("nothing committed after close").isEqualTo(rows);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** Puts like the runtime: after a BadRecordException, the rest of the list again; returns the reasons. */
    private static List<String> putAll(JdbcSinkTask task, List<Message> batch) throws Exception {
        List<String> reasons = new ArrayList<>();
        List<Message> rest = batch;
        while (!rest.isEmpty()) {
            try {
                task.put(rest);
                return reasons;
            } catch (BadRecordException e) {
                Message bad = (Message) e.record();
                reasons.add("offset " + bad.queueOffset() + ": " + e.getMessage());
                rest = rest.subList(rest.indexOf(bad) + 1, rest.size());
            }
        }
        return reasons;
    }

    private static JdbcSinkTask start(String url, String table, Map<String, String> extra) throws Exception {
        Map<String, String> settings = new HashMap<>(Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url, "table", table));
        settings.putAll(extra);
        JdbcSinkTask task = new JdbcSinkTask();
        task.start(TestContext.of(settings));
        return task;
    }

    private static Message msg(long offset, String body) {
        return Message.builder("t").queueId(0).queueOffset(offset).body(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    /** Rows as "a|b|c", sorted by the first column. */
    private static List<String> rows(String url, String sql) throws Exception {
        TreeMap<String, String> sorted = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                StringBuilder row = new StringBuilder();
                for (int i = 1; i <= n; i++) {
                    row.append(i == 1 ? "" : "|").append(rs.getString(i));
                }
                sorted.put(rs.getString(1), row.toString());
            }
        }
        return new ArrayList<>(sorted.values());
    }
}
