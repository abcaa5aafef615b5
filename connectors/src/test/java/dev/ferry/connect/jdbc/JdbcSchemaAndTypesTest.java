package dev.ferry.connect.jdbc;

import static dev.ferry.connect.jdbc.JdbcTasks.body;
import static dev.ferry.connect.jdbc.JdbcTasks.message;
import static dev.ferry.connect.jdbc.JdbcTasks.poll;
import static dev.ferry.connect.jdbc.JdbcTasks.sinkSettings;
import static dev.ferry.connect.jdbc.JdbcTasks.sourceSettings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.connect.SourceRecord;
import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Column names as the database has them (mixed case, reserved words), schema changes while running, TIME and REAL values. */
class JdbcSchemaAndTypesTest {
    @TempDir
    Path tmp;

    /** A PostgreSQL table with a quoted mixed-case column (as many ORMs make): the sink cannot write it at all. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL"})
    void sinkWritesATableWithAMixedCaseColumn(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_mixed");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, \"orderId\" INTEGER)");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table)));
            task.put(List.of(message(0, "{\"id\":1,\"orderId\":7}")));
            Throwable t = catchThrowable(task::flush);
            assertThat(t).as("flush of a row for an existing column").isNull();
            assertThat(Target.strings(url, "SELECT \"orderId\" FROM " + table)).containsExactly("7");
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** A column named like a reserved word ("order", "user"): the sink's INSERT is a syntax error; the task fails for good. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void sinkWritesAReservedWordColumn(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_reserved");
        String q = target == Target.MARIADB ? "`" : "\"";
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, " + q + (target == Target.H2 ? "ORDER" : "order") + q
                + " VARCHAR(10))");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table)));
            task.put(List.of(message(0, "{\"id\":1,\"order\":\"x\"}")));
            Throwable t = catchThrowable(task::flush);
            assertThat(t).as("flush of a row with a column named order").isNull();
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** auto.create with a message field that is a reserved word: not a bad record, the task dies (IllegalStateException). */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void autoCreateWithAReservedWordFieldDoesNotKillTheTask(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_autores");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table, "auto.create", "true")));
            Throwable t = catchThrowable(() -> {
                task.put(List.of(message(0, "{\"id\":\"1\",\"user\":\"bob\"}")));
                task.flush();
            });
            assertThat(t).as("auto.create from {id, user}").isNull();
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** A column added to the table while the sink runs: messages with it are bad records until a restart. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void sinkSeesAColumnAddedWhileRunning(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_addcol");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, name VARCHAR(10))");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table)));
            task.put(List.of(message(0, "{\"id\":1,\"name\":\"a\"}")));
            task.flush();
            Target.exec(url, "ALTER TABLE " + table + " ADD COLUMN note VARCHAR(10)");
            Throwable t = catchThrowable(() -> {
                task.put(List.of(message(1, "{\"id\":2,\"name\":\"b\",\"note\":\"n\"}")));
                task.flush();
            });
            assertThat(t).as("a message using the column added by ALTER TABLE").isNull();
            assertThat(Target.strings(url, "SELECT note FROM " + table + " WHERE id = 2")).containsExactly("n");
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** MariaDB ADD COLUMN ... AFTER while the source runs: later rows come out with values under the wrong field names. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"MARIADB"})
    void sourceColumnAddedWhileRunningKeepsFieldsRight(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_srcadd");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, name VARCHAR(10))",
                "INSERT INTO " + table + " VALUES (1, 'alice')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
            assertThat(poll(task, 3)).hasSize(1);
            Target.exec(url, "ALTER TABLE " + table + " ADD COLUMN secret VARCHAR(10) AFTER id",
                    "INSERT INTO " + table + " (id, secret, name) VALUES (2, 'pw123', 'bob')");
            List<SourceRecord> after = poll(task, 3);
            assertThat(after).hasSize(1);
            assertThat(body(after.get(0)).get("name").asText()).as("field name of row 2; body " + body(after.get(0)))
                    .isEqualTo("bob");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /**
     * A MariaDB BIGINT UNSIGNED holds values up to 18446744073709551615, beyond a long: the source's every poll failed on
     * such a row ("cannot be decoded as Long"), and the sink refused the value as a bad record ("expected: an integer").
     */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"MARIADB"})
    void unsignedBigintBeyondALongGoesBothWays(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_unsigned");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, u BIGINT UNSIGNED)",
                "INSERT INTO " + table + " VALUES (1, 18446744073709551615), (2, 7)");
        try {
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
                List<SourceRecord> rows = poll(task, 2);
                assertThat(rows).hasSize(2);
                assertThat(body(rows.get(0)).get("u").toString()).isEqualTo("18446744073709551615");
                assertThat(body(rows.get(1)).get("u").toString()).isEqualTo("7");
            }
            Target.exec(url, "DELETE FROM " + table);
            try (JdbcSinkTask sink = new JdbcSinkTask()) {
                sink.start(TestContext.of(sinkSettings(url, table)));
                sink.put(List.of(message(0, "{\"id\":1,\"u\":18446744073709551615}"),
                        message(1, "{\"id\":2,\"u\":\"18446744073709551614\"}")));
                sink.flush();
            }
            assertThat(Target.strings(url, "SELECT u FROM " + table + " ORDER BY id"))
                    .containsExactly("18446744073709551615", "18446744073709551614");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /**
     * JDBC reports a bit string as BIT, like a boolean: a PostgreSQL bit(8) failed every poll for good ("Cannot cast to
     * boolean"), a MariaDB BIT(8) b'10101010' came out as true. One bit stays a boolean.
     */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL", "MARIADB"})
    void sourceBitStringsKeepTheirBits(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_bits");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, b1 BIT(1), b5 BIT(5), b8 BIT(8), b12 BIT(12))",
                "INSERT INTO " + table + " VALUES (1, B'1', B'00101', B'10101010', B'100000000011')",
                "INSERT INTO " + table + " VALUES (2, B'0', NULL, B'00000001', B'000000000000')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
            List<SourceRecord> rows = poll(task, 2);
            assertThat(rows).hasSize(2);
            assertThat(body(rows.get(0)).toString()).isEqualTo(
                    "{\"id\":1,\"b1\":true,\"b5\":\"00101\",\"b8\":\"10101010\",\"b12\":\"100000000011\"}");
            assertThat(body(rows.get(1)).toString()).isEqualTo(
                    "{\"id\":2,\"b1\":false,\"b5\":null,\"b8\":\"00000001\",\"b12\":\"000000000000\"}");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /**
     * auto.create makes non-key columns "text of any length"; on MariaDB that was TEXT, which holds at most 65,535 bytes,
     * so a longer string (here 70,000 characters, and 20,000 emoji of 4 bytes) was a rejected row ("Data too long").
     */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void autoCreatedColumnsTakeLongStrings(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_long");
        String longText = "x".repeat(70_000);
        String emoji = "\uD83D\uDE00".repeat(20_000);
        try (JdbcSinkTask sink = new JdbcSinkTask()) {
            sink.start(TestContext.of(sinkSettings(url, table, "auto.create", "true")));
            sink.put(List.of(message(0, "{\"id\":\"1\",\"note\":\"" + longText + "\"}"),
                    message(1, "{\"id\":\"2\",\"note\":\"" + emoji + "\"}")));
            sink.flush();
            assertThat(Target.strings(url, "SELECT note FROM " + table + " ORDER BY id")).containsExactly(longText, emoji);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** A value beyond a long for a signed BIGINT column is the database's to refuse: a rejected row, reported by flush. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void anIntegerBeyondTheColumnIsARejectedRow(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_bigover");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, u BIGINT)");
        try (JdbcSinkTask sink = new JdbcSinkTask()) {
            sink.start(TestContext.of(sinkSettings(url, table)));
            sink.put(List.of(message(0, "{\"id\":1,\"u\":18446744073709551615}"), message(1, "{\"id\":2,\"u\":5}")));
            Throwable rejected = catchThrowable(sink::flush);
            assertThat(rejected).isInstanceOf(dev.ferry.connect.BadRecordException.class)
                    .hasMessageStartingWith("table " + table + " rejected the row: ");
            sink.flush();
            assertThat(Target.strings(url, "SELECT u FROM " + table + " ORDER BY id")).containsExactly("5");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** Sub-second TIME values lose their fraction, both ways. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void timeFractionsSurvive(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_time");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, t TIME(3))",
                "INSERT INTO " + table + " VALUES (1, TIME '10:15:30.5')");
        JdbcSinkTask sinkTask = new JdbcSinkTask();
        try {
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
                List<SourceRecord> rows = poll(task, 2);
                assertThat(body(rows.get(0)).get("t").asText()).as("source: TIME '10:15:30.5'").isEqualTo("10:15:30.500");
            }
        } catch (AssertionError e) {
            // report the source side; the sink side is checked below too
            System.err.println("source TIME: " + e.getMessage());
            throw e;
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void sinkTimeFractionsSurvive(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_stime");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, t TIME(3))");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table)));
            task.put(List.of(message(0, "{\"id\":1,\"t\":\"10:15:30.5\"}")));
            task.flush();
            assertThat(Target.strings(url, "SELECT CAST(t AS VARCHAR(20)) FROM " + table)).singleElement().asString().startsWith("10:15:30.5");
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** A REAL 0.1 comes out as 0.10000000149011612. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL"})
    void sourceRealKeepsItsValue(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_real");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, r REAL)");
        StringBuilder ins = new StringBuilder("INSERT INTO " + table + " VALUES ");
        for (int i = 1; i <= 8; i++) {
            ins.append(i == 1 ? "" : ", ").append("(").append(i).append(", 0.1)");
        }
        Target.exec(url, ins.toString());
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            // batch.rows 1: eight executions, so PostgreSQL's driver switches to a server-prepared (binary) statement too
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id", "batch.rows", "1")));
            List<SourceRecord> rows = poll(task, 12);
            assertThat(rows).hasSize(8);
            for (SourceRecord r : rows) {
                assertThat(body(r).get("r").toString()).as("REAL 0.1 in " + body(r)).isEqualTo("0.1");
            }
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** Microsecond time stamps as the increasing column: each row once. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void sourceMicrosecondTimestampsEachRowOnce(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_micro");
        String type = target == Target.MARIADB ? "DATETIME(6)" : "TIMESTAMP(6)";
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, updated " + type + " NOT NULL)",
                "INSERT INTO " + table + " VALUES (1, '2026-01-31 10:00:00.000001'), (2, '2026-01-31 10:00:00.000002'),"
                        + " (3, '2026-01-31 10:00:00.5'), (4, '2026-01-31 10:00:01')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "updated", "batch.rows", "1")));
            List<SourceRecord> rows = poll(task, 8);
            List<Integer> ids = new ArrayList<>();
            for (SourceRecord r : rows) {
                ids.add(body(r).get("id").asInt());
            }
            assertThat(ids).containsExactly(1, 2, 3, 4);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** MariaDB: connector names that differ only in case do not share positions (the key is binary-collated). */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"MARIADB"})
    void connectorNamesDifferingInCaseDoNotSharePositions(Target target) throws Exception {
        String url = target.url(tmp);
        String a = Target.uniqueTable("sat_ci");
        // an offsets table of its own: the shared default one may have been made by an older version (case-insensitive)
        String offsetsTable = a + "_offsets";
        String b = a.toUpperCase(java.util.Locale.ROOT) + "_B";
        Target.exec(url, "CREATE TABLE " + a + " (id INTEGER PRIMARY KEY)", "CREATE TABLE " + b + " (id INTEGER PRIMARY KEY)");
        String nameA = "satci" + a.substring(6);
        String nameB = nameA.toUpperCase(java.util.Locale.ROOT);
        JdbcSinkTask first = new JdbcSinkTask();
        try {
            Map<String, String> ca = sinkSettings(url, a, "offsets.table", offsetsTable);
            ca.put("name", nameA);
            first.start(TestContext.of(ca));
            List<Message> ms = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ms.add(message(i, "{\"id\":" + i + "}"));
            }
            first.put(ms);
            first.flush();
        } finally {
            first.close();
        }
        JdbcSinkTask second = new JdbcSinkTask();
        try {
            Map<String, String> cb = sinkSettings(url, b, "offsets.table", offsetsTable);
            cb.put("name", nameB);
            second.start(TestContext.of(cb));
            assertThat(second.storedPositions("t")).as("positions of a new connector " + nameB + " (" + nameA + " wrote 5)").isEmpty();
        } finally {
            second.close();
            Target.dropQuietly(url, a, nameA);
            Target.dropQuietly(url, b, nameB);
            Target.exec(url, "DROP TABLE IF EXISTS " + offsetsTable);
        }
    }

    /** MariaDB: an offsets table made by an older version (case-insensitive key) is kept and keeps working. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"MARIADB"})
    void anOlderCaseInsensitiveOffsetsTableKeepsWorking(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_old");
        String offsetsTable = table + "_offsets";
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY)",
                "CREATE TABLE " + offsetsTable + " (connector VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL, queue_id INTEGER"
                        + " NOT NULL, next_offset BIGINT NOT NULL, PRIMARY KEY (connector, topic, queue_id))"
                        + " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci");
        try {
            JdbcSinkTask first = new JdbcSinkTask();
            try {
                first.start(TestContext.of(sinkSettings(url, table, "offsets.table", offsetsTable)));
                first.put(List.of(message(0, "{\"id\":1}"), message(1, "{\"id\":2}")));
                first.flush();
            } finally {
                first.close();
            }
            JdbcSinkTask second = new JdbcSinkTask();
            try {
                second.start(TestContext.of(sinkSettings(url, table, "offsets.table", offsetsTable)));
                assertThat(second.storedPositions("t")).containsValue(2L);
                second.put(List.of(message(1, "{\"id\":2}"), message(2, "{\"id\":3}")));
                second.flush();
            } finally {
                second.close();
            }
            assertThat(Target.strings(url, "SELECT id FROM " + table + " ORDER BY id")).containsExactly("1", "2", "3");
            assertThat(Target.strings(url, "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
                    + " AND TABLE_NAME = '" + offsetsTable + "' AND COLUMN_NAME = 'connector'")).containsExactly("utf8mb4_general_ci");
        } finally {
            Target.exec(url, "DROP TABLE IF EXISTS " + table, "DROP TABLE IF EXISTS " + offsetsTable);
        }
    }

    /** PostgreSQL: a quoted mixed-case increasing column (updatedAt, as ORMs name it) is accepted at start, then every poll fails. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"POSTGRESQL"})
    void sourcePollsByAMixedCaseColumn(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_srcmixed");
        Target.exec(url, "CREATE TABLE " + table + " (\"rowId\" INTEGER PRIMARY KEY, note VARCHAR(10))",
                "INSERT INTO " + table + " VALUES (1, 'a'), (2, 'b')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "rowId")));
            Throwable t = catchThrowable(() -> assertThat(poll(task, 3)).hasSize(2));
            assertThat(t).as("polling by \"rowId\"").isNull();
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** Upsert by a key column named like a reserved word, with a mixed-case column beside it: the statement quotes both. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void upsertByAReservedWordKey(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_upsert");
        String q = target == Target.MARIADB ? "`" : "\"";
        String key = target == Target.H2 ? "USER" : "user";
        Target.exec(url, "CREATE TABLE " + table + " (" + q + key + q + " VARCHAR(10) PRIMARY KEY, " + q + "lastSeen" + q
                + " INTEGER)");
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table, "mode", "upsert", "key.columns", "user")));
            task.put(List.of(message(0, "{\"user\":\"bob\",\"lastSeen\":1}"), message(1, "{\"user\":\"bob\",\"lastSeen\":2}")));
            task.flush();
            assertThat(Target.strings(url, "SELECT " + q + "lastSeen" + q + " FROM " + table)).containsExactly("2");
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** auto.create from a field name the database refuses as a column name (MariaDB: over 64 characters): a bad record. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"MARIADB"})
    void autoCreateRefusedForAFieldNameIsABadRecord(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_autolong");
        String longName = "f".repeat(70);
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(sinkSettings(url, table, "auto.create", "true")));
            Throwable t = catchThrowable(() -> task.put(List.of(message(0, "{\"id\":\"1\",\"" + longName + "\":\"x\"}"))));
            assertThat(t).isInstanceOf(dev.ferry.connect.BadRecordException.class).hasMessageContaining("auto.create");
            task.put(List.of(message(1, "{\"id\":\"2\",\"name\":\"x\"}")));
            task.flush();
            assertThat(Target.strings(url, "SELECT id FROM " + table)).containsExactly("2");
        } finally {
            task.close();
            Target.dropQuietly(url, table, table);
        }
    }

    /** TIME without a fraction keeps its seconds, zero ones included; a NULL REAL stays null. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void wholeSecondTimesAndNullReals(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_time0");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, t TIME, r REAL)",
                "INSERT INTO " + table + " VALUES (1, TIME '10:15:00', NULL), (2, TIME '10:15:30', 2.5)");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
            List<SourceRecord> rows = poll(task, 2);
            assertThat(rows).hasSize(2);
            assertThat(body(rows.get(0)).get("t").asText()).isEqualTo("10:15:00");
            assertThat(body(rows.get(0)).get("r").isNull()).isTrue();
            assertThat(body(rows.get(1)).get("t").asText()).isEqualTo("10:15:30");
            assertThat(body(rows.get(1)).get("r").toString()).isEqualTo("2.5");
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** A column dropped while the source runs: the rest keep their names. */
    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "MARIADB"})
    void sourceColumnDroppedWhileRunning(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sat_srcdrop");
        Target.exec(url, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, secret VARCHAR(10), name VARCHAR(10))",
                "INSERT INTO " + table + " VALUES (1, 'pw', 'alice')");
        try (JdbcSourceTask task = new JdbcSourceTask()) {
            task.start(TestContext.of(sourceSettings(url, table, "incrementing.column", "id")));
            assertThat(poll(task, 3)).hasSize(1);
            Target.exec(url, "ALTER TABLE " + table + " DROP COLUMN secret", "INSERT INTO " + table + " (id, name) VALUES (2, 'bob')");
            List<SourceRecord> after = poll(task, 3);
            assertThat(after).hasSize(1);
            JsonNode b = body(after.get(0));
            assertThat(b.get("name").asText()).isEqualTo("bob");
            assertThat(b.has("secret")).isFalse();
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }
}
