package dev.ferry.connect.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The table in which a JDBC sink stores how far it has written, in the same transaction as the
 * rows, which is what makes the sink exactly-once: after a crash the table holds either the
 * rows and the positions after them, or neither.
 *
 * <p>Layout (one row per connector, topic and queue; created with {@code CREATE TABLE IF NOT
 * EXISTS} when the sink starts):
 *
 * <pre>
 * column        type           meaning
 * connector     VARCHAR(255)   the connector's name (config key {@code name}); primary key part 1
 * topic         VARCHAR(255)   the topic the rows came from;                   primary key part 2
 *                              (both case-sensitive: MariaDB/MySQL utf8mb4_bin)
 * queue_id      INTEGER        the queue within the topic;                     primary key part 3
 * next_offset   BIGINT         the queue offset of the first message NOT yet in the target table
 * </pre>
 *
 * <p>Commit rule: a row of the target table and the {@code next_offset} that covers it are
 * committed by one transaction; {@code next_offset} never covers a message that is neither in
 * the table nor reported as a bad record. A position is only ever moved from the value the
 * writing task itself committed (a conditional update), so a second process running the same
 * connector fails instead of writing the same messages again.
 *
 * <p>Immutable; the methods use the connection (or its {@link Statements}) they are given and do not commit.
 */
final class SinkOffsetsTable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SinkOffsetsTable.class);
    /** Default name of the table, config key {@code offsets.table}. */
    static final String DEFAULT_NAME = "ferry_connect_offsets";

    static final String CONNECTOR = "connector";
    static final String TOPIC = "topic";
    static final String QUEUE_ID = "queue_id";
    static final String NEXT_OFFSET = "next_offset";
    static final List<String> KEY = List.of(CONNECTOR, TOPIC, QUEUE_ID);
    static final List<String> COLUMNS = List.of(CONNECTOR, TOPIC, QUEUE_ID, NEXT_OFFSET);

    private final String name;
    private final Dialect dialect;

    /** Whether executeBatch reports the matched rows of each update (PostgreSQL, H2); else updates go one by one. */
    private final boolean batchedCounts;

    SinkOffsetsTable(String name, Dialect dialect) {
        this.name = name;
        this.dialect = dialect;
        this.batchedCounts = dialect == Dialect.POSTGRESQL || dialect == Dialect.H2;
    }

    String name() {
        return name;
    }

    String createSql() {
        // MariaDB/MySQL compare VARCHAR case-insensitively by default: connectors orders and ORDERS (topics t and T) would
        // share one position, so the key's text columns are made binary-collated there
        String text = dialect == Dialect.MARIADB ? "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" : "VARCHAR(255)";
        return "CREATE TABLE IF NOT EXISTS " + name + " (" + CONNECTOR + " " + text + " NOT NULL, " + TOPIC
                + " " + text + " NOT NULL, " + QUEUE_ID + " INTEGER NOT NULL, " + NEXT_OFFSET + " BIGINT NOT NULL, PRIMARY KEY ("
                + String.join(", ", KEY) + "))";
    }

    void create(Connection conn) throws SQLException {
        try (Statement s = conn.createStatement()) {
            s.execute(createSql());
        }
        if (dialect == Dialect.MARIADB) {
            warnIfCaseInsensitive(conn);
        }
    }

    /**
     * A MariaDB/MySQL table made by an older version (before the key columns were binary-collated) is kept as it is,
     * not altered behind the operator's back: it works as before, but compares connector and topic names without case.
     * Said once at start, with the statement that changes it.
     */
    private void warnIfCaseInsensitive(Connection conn) throws SQLException {
        int dot = name.indexOf('.');
        String sql = "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                + (dot < 0 ? "DATABASE()" : "?") + " AND TABLE_NAME = ? AND COLUMN_NAME IN ('" + CONNECTOR + "', '" + TOPIC + "')";
        boolean insensitive = false;
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            int i = 1;
            if (dot >= 0) {
                ps.setString(i++, name.substring(0, dot));
            }
            ps.setString(i, dot < 0 ? name : name.substring(dot + 1));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String collation = rs.getString(1);
                    insensitive |= collation != null && !collation.endsWith("_bin");
                }
            }
        }
        if (insensitive) {
            LOG.warn("offsets table {} compares connector and topic names without case (made by an older version): connectors"
                    + " or topics whose names differ only in case share positions; to change it: ALTER TABLE {} MODIFY {} {} NOT NULL,"
                    + " MODIFY {} {} NOT NULL", name, name, CONNECTOR, "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", TOPIC,
                    "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        }
    }

    /**
     * Whether the table refuses a second row for one (connector, topic, queue), tried rather than
     * read from the catalogue: two inserts of a probe row no connector can have (its name holds a
     * '%'), rolled back. The commit rule depends on it ({@link #write}); a table of that name made
     * by someone else without the key took both instances' rows. Leaves no transaction open.
     */
    boolean refusesDuplicates(Connection conn) throws SQLException {
        try (PreparedStatement insert = conn.prepareStatement(Dialect.insert(name, COLUMNS))) {
            insert.setString(1, "%key-check");
            insert.setString(2, "%");
            insert.setInt(3, -1);
            insert.setLong(4, 0);
            insert.executeUpdate();
            try {
                insert.executeUpdate();
                return false;
            } catch (SQLException e) {
                if (e.getSQLState() != null && e.getSQLState().startsWith("23")) {
                    return true;
                }
                throw e;
            }
        } finally {
            conn.rollback();
        }
    }

    /** Every stored position of {@code connector}: (topic, queue) to next offset. */
    Map<JdbcSinkTask.QueueKey, Long> read(Connection conn, String connector) throws SQLException {
        Map<JdbcSinkTask.QueueKey, Long> positions = new HashMap<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT " + TOPIC + ", " + QUEUE_ID + ", " + NEXT_OFFSET + " FROM " + name
                + " WHERE " + CONNECTOR + " = ?")) {
            ps.setString(1, connector);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    positions.put(new JdbcSinkTask.QueueKey(rs.getString(1), rs.getInt(2)), rs.getLong(3));
                }
            }
        }
        return positions;
    }

    /**
     * Stores {@code positions} in the caller's transaction, each only if the stored value is still the one this
     * task last committed ({@code expected}; absent: no row yet): {@code UPDATE ... SET next_offset = ? WHERE
     * connector = ? AND topic = ? AND queue_id = ? AND next_offset = ?}, or an {@code INSERT} when this task has
     * no stored position for the queue. An update of no row, or an insert of a row that exists, means another
     * process wrote positions of the same connector since: {@link AnotherWriterException}, and the caller rolls
     * back. Two instances of one connector thus never both commit rows for the same positions.
     *
     * @param statements the statements of the caller's connection, prepared once (see {@link #statements})
     */
    void write(Statements statements, String connector, Map<JdbcSinkTask.QueueKey, Long> positions,
            Map<JdbcSinkTask.QueueKey, Long> expected) throws SQLException {
        if (positions.isEmpty()) {
            return;
        }
        List<JdbcSinkTask.QueueKey> updated = new ArrayList<>(positions.size());
        PreparedStatement update = statements.update;
        for (Map.Entry<JdbcSinkTask.QueueKey, Long> e : positions.entrySet()) {
            Long before = expected.get(e.getKey());
            if (before == null) {
                PreparedStatement insert = statements.insert;
                insert.setString(1, connector);
                insert.setString(2, e.getKey().topic());
                insert.setInt(3, e.getKey().queue());
                insert.setLong(4, e.getValue());
                try {
                    insert.executeUpdate();
                } catch (SQLException x) {
                    if (x.getSQLState() != null && x.getSQLState().startsWith("23")) {
                        throw new AnotherWriterException(connector, e.getKey(), null, x);
                    }
                    throw x;
                }
                continue;
            }
            update.setLong(1, e.getValue());
            update.setString(2, connector);
            update.setString(3, e.getKey().topic());
            update.setInt(4, e.getKey().queue());
            update.setLong(5, before);
            if (batchedCounts) {
                update.addBatch();
                updated.add(e.getKey());
            } else if (update.executeUpdate() != 1) {
                throw new AnotherWriterException(connector, e.getKey(), before, null);
            }
        }
        if (!updated.isEmpty()) {
            int[] counts;
            try {
                counts = update.executeBatch();
            } catch (SQLException x) {
                update.clearBatch();
                throw x;
            }
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] != 1) {
                    throw new AnotherWriterException(connector, updated.get(i), expected.get(updated.get(i)), null);
                }
            }
        }
    }

    /** The position statements of one connection, prepared once and reused by every transaction; closed with it. */
    Statements statements(Connection conn) throws SQLException {
        return new Statements(conn.prepareStatement("UPDATE " + name + " SET " + NEXT_OFFSET + " = ? WHERE " + CONNECTOR + " = ? AND "
                + TOPIC + " = ? AND " + QUEUE_ID + " = ? AND " + NEXT_OFFSET + " = ?"), conn.prepareStatement(Dialect.insert(name, COLUMNS)));
    }

    /** Prepared statements of {@link #write}. Not thread-safe, like the connection they belong to. */
    static final class Statements implements AutoCloseable {
        final PreparedStatement update;
        final PreparedStatement insert;

        private Statements(PreparedStatement update, PreparedStatement insert) {
            this.update = update;
            this.insert = insert;
        }

        @Override
        public void close() {
            for (PreparedStatement ps : List.of(update, insert)) {
                try {
                    ps.close();
                } catch (SQLException ignored) {
                    // closing the connection releases it anyway
                }
            }
        }
    }

    /**
     * A position was not the one this task last committed: another process runs the same connector. Unchecked, so it
     * is never mistaken for a rejected row; the task fails.
     */
    static final class AnotherWriterException extends IllegalStateException {
        AnotherWriterException(String connector, JdbcSinkTask.QueueKey queue, Long expected, SQLException cause) {
            super("another instance of connector " + connector + " is writing: the stored position of topic " + queue.topic()
                    + " queue " + queue.queue() + (expected == null ? " appeared after this task read the positions"
                    : " is no longer " + expected + ", the one this task committed")
                    + " (expected: one running instance per connector name; stop the other one, then restart this one)"
                    + (cause == null ? "" : "; " + cause.getMessage()));
            // no cause on purpose: with an SQLException in its chain the runtime would take this for a
            // passing database failure and restart the task over and over; it must fail for good
        }
    }
}
