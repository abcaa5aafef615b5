package dev.ferry.connect.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
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
 * queue_id      INTEGER        the queue within the topic;                     primary key part 3
 * next_offset   BIGINT         the queue offset of the first message NOT yet in the target table
 * </pre>
 *
 * <p>Commit rule: a row of the target table and the {@code next_offset} that covers it are
 * committed by one transaction; {@code next_offset} never covers a message that is neither in
 * the table nor reported as a bad record.
 *
 * <p>Immutable; the methods use the connection they are given and do not commit.
 */
final class SinkOffsetsTable {
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

    SinkOffsetsTable(String name, Dialect dialect) {
        this.name = name;
        this.dialect = dialect;
    }

    String name() {
        return name;
    }

    String createSql() {
        return "CREATE TABLE IF NOT EXISTS " + name + " (" + CONNECTOR + " VARCHAR(255) NOT NULL, " + TOPIC
                + " VARCHAR(255) NOT NULL, " + QUEUE_ID + " INTEGER NOT NULL, " + NEXT_OFFSET + " BIGINT NOT NULL, PRIMARY KEY ("
                + String.join(", ", KEY) + "))";
    }

    void create(Connection conn) throws SQLException {
        try (Statement s = conn.createStatement()) {
            s.execute(createSql());
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
     * Stores {@code positions} in the caller's transaction: an upsert where the dialect has one,
     * else an update followed by an insert when no row was updated.
     */
    void write(Connection conn, String connector, Map<JdbcSinkTask.QueueKey, Long> positions) throws SQLException {
        if (positions.isEmpty()) {
            return;
        }
        if (dialect.supportsUpsert()) {
            try (PreparedStatement ps = conn.prepareStatement(dialect.upsert(name, COLUMNS, KEY))) {
                for (Map.Entry<JdbcSinkTask.QueueKey, Long> e : positions.entrySet()) {
                    ps.setString(1, connector);
                    ps.setString(2, e.getKey().topic());
                    ps.setInt(3, e.getKey().queue());
                    ps.setLong(4, e.getValue());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return;
        }
        try (PreparedStatement update = conn.prepareStatement("UPDATE " + name + " SET " + NEXT_OFFSET + " = ? WHERE " + CONNECTOR
                + " = ? AND " + TOPIC + " = ? AND " + QUEUE_ID + " = ?");
             PreparedStatement insert = conn.prepareStatement(Dialect.insert(name, COLUMNS))) {
            for (Map.Entry<JdbcSinkTask.QueueKey, Long> e : positions.entrySet()) {
                update.setLong(1, e.getValue());
                update.setString(2, connector);
                update.setString(3, e.getKey().topic());
                update.setInt(4, e.getKey().queue());
                if (update.executeUpdate() == 0) {
                    insert.setString(1, connector);
                    insert.setString(2, e.getKey().topic());
                    insert.setInt(3, e.getKey().queue());
                    insert.setLong(4, e.getValue());
                    insert.executeUpdate();
                }
            }
        }
    }
}
