package dev.ferry.connect.jdbc;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.SourceRecord;
import dev.ferry.connect.SourceTask;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connector type {@code jdbc-source}: polls a table (or a query) for rows whose increasing
 * column ({@code incrementing.column}: an integer or decimal id, or a time stamp) is past the last one
 * sent, {@code batch.rows} at a time, every {@code poll.interval.ms} (at once again while a
 * batch came back full), and makes each row one message: the body is a JSON object of the
 * row's columns (forms as in {@link Column}), and {@code key.column}, if set, gives the
 * message key and the sharding key.
 *
 * <p><b>Position.</b> The value of the increasing column of the last row sent
 * ({@code {"incrementing": "41"}}), plus the {@code tiebreak.column} value when one is set
 * ({@code {"incrementing": "2026-01-31T10:15:30.5", "tiebreak": "41"}}): rows are read in
 * order of (increasing, tiebreak) and a restart resumes after the last committed pair, so rows
 * sharing a time stamp are neither skipped nor repeated. A NUMERIC/DECIMAL id is read and kept
 * exactly, as the database gives it ({@code "2.50"}, {@code "100000000000000000000"}). The tiebreak column must hold no
 * NULL: the task fails at the first one (databases do not all tell a column's nullability: H2
 * reports a query's columns as nullable, PostgreSQL a view's).
 *
 * <p><b>Rows sharing a value without a tiebreak.</b> A full batch that ends on a value T is cut
 * before T, and the rows with T are read by one more query, at most {@code same.value.max.rows}
 * of them: more fail the task for good, asking for a {@code tiebreak.column}, rather than
 * loading an unbounded group into memory.
 *
 * <p><b>Caveat (as for Kafka Connect's JDBC source).</b> The query sees committed rows only.
 * A row committed <em>after</em> a row with a larger increasing value was read is never sent:
 * two transactions that take ids 7 and 8, where 8 commits first and is polled before 7
 * commits; or a time stamp set at the start of a long transaction. Use ids or time stamps that
 * are assigned in commit order (one writer, or short transactions), or a {@code query} that
 * only shows rows older than the longest transaction. Rows whose increasing column is NULL
 * are never sent; updates to rows already sent are not seen (in id mode) unless they change
 * the time stamp (in time stamp mode).
 *
 * <p>Not thread-safe: the runtime calls it from one thread; {@link #close} may also come from
 * another thread to cut a wait short.
 */
public final class JdbcSourceTask implements SourceTask {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSourceTask.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String POSITION_INCREMENTING = "incrementing";
    static final String POSITION_TIEBREAK = "tiebreak";

    /**
     * How the increasing column is read, bound and written into the position: {@code ID} an
     * integer column as a {@code long}; {@code DECIMAL} a NUMERIC/DECIMAL column as a
     * {@link BigDecimal}, exactly (fractions, and values beyond a {@code long}); time stamps as
     * {@link LocalDateTime} or {@link OffsetDateTime}.
     */
    private enum Kind { ID, DECIMAL, TIMESTAMP, TIMESTAMP_TZ }

    /** Default of {@code same.value.max.rows}. */
    static final int SAME_VALUE_MAX_ROWS = 100_000;

    private JdbcSettings db;
    private String topic;
    private int batchRows;
    private Duration pollInterval;
    private Clock clock;

    private Connection conn;
    private PreparedStatement first;
    private PreparedStatement next;
    /**
     * Without a tiebreak: the rows whose increasing column equals the last value of a full batch,
     * at most {@code sameValueMaxRows} + 1 (one more tells that there are too many).
     */
    private PreparedStatement sameValue;
    private int sameValueMaxRows;
    private Kind kind;
    private boolean tiebreak;
    private List<Column> columns;
    /** JSON field name of each column. */
    private List<String> fields;
    private int incrementingIndex;
    private int tiebreakIndex;
    private int keyIndex = -1;

    /** Position of the last row returned, or null before the first. */
    private Object lastIncrementing;
    private long lastTiebreak;
    private boolean lastBatchFull;
    private long nextPollAtMs;
    /** Counted down by close, so a wait for the next poll ends at once. */
    private final CountDownLatch closed = new CountDownLatch(1);

    private String from;
    /** The driver's identifier quote; the column names in the queries are quoted with it. */
    private String quote;
    private boolean upperFolded;
    private String incrementing;
    private String tiebreakColumn;
    private String keyColumn;
    private boolean fromTable;

    /** Reads and checks every setting, without opening the database. */
    @Override
    public void configure(ConnectorConfig config) {
        db = JdbcSettings.from(config);
        topic = config.string("topic", "the topic to send rows to");
        String table = config.optional("table").orElse(null);
        String query = config.optional("query").orElse(null);
        if ((table == null) == (query == null)) {
            throw table == null
                    ? new dev.ferry.connect.ConnectConfigException(config.name(), "table",
                            "table: missing (expected: the table to poll, e.g. orders, or a query instead)")
                    : config.invalid("query", query, "either table or query, not both");
        }
        if (table != null) {
            JdbcSinkTask.identifier(config, "table", table);
        }
        fromTable = table != null;
        from = table != null ? table : "(" + query + ") ferry_source";
        incrementing = config.string("incrementing.column", "the increasing id or time stamp column, e.g. id");
        tiebreakColumn = config.optional("tiebreak.column").orElse(null);
        keyColumn = config.optional("key.column").orElse(null);
        batchRows = config.intValue("batch.rows", 1000, 1, 1_000_000);
        sameValueMaxRows = config.intValue("same.value.max.rows", SAME_VALUE_MAX_ROWS, 1, 10_000_000);
        pollInterval = config.millis("poll.interval.ms", 1000, 1, 86_400_000);
    }

    @Override
    public void start(TaskContext context) throws Exception {
        ConnectorConfig config = context.config();
        clock = context.clock();
        configure(config);
        conn = db.connect();
        try {
            conn.setAutoCommit(true);
            describe(config, from, fromTable ? "table" : "query");
            incrementingIndex = columnIndex(config, "incrementing.column", incrementing);
            kind = switch (columns.get(incrementingIndex).sqlType()) {
                case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> Kind.ID;
                case Types.NUMERIC, Types.DECIMAL -> Kind.DECIMAL;
                case Types.TIMESTAMP, Types.DATE -> Kind.TIMESTAMP;
                case Types.TIMESTAMP_WITH_TIMEZONE -> Kind.TIMESTAMP_TZ;
                default -> throw config.invalid("incrementing.column", incrementing,
                        "an integer or time stamp column, not " + columns.get(incrementingIndex).typeName());
            };
            if (tiebreakColumn != null) {
                tiebreak = true;
                tiebreakIndex = columnIndex(config, "tiebreak.column", tiebreakColumn);
                if (!isInteger(columns.get(tiebreakIndex).sqlType())) {
                    throw config.invalid("tiebreak.column", tiebreakColumn, "an integer column, such as the id");
                }
                // A NULL would be read as 0, order first or last depending on the database and compare as unknown: rows
                // skipped or repeated. It is checked row by row (read), not refused here for a column that may be NULL:
                // H2 reports every column of a query as nullable, and PostgreSQL every column of a view.
            }
            if (keyColumn != null) {
                keyIndex = columnIndex(config, "key.column", keyColumn);
            }
            // the names as the database reports them, quoted: a mixed-case column ("updatedAt") or a reserved word
            quote = conn.getMetaData().getIdentifierQuoteString();
            String inc = Dialect.quote(quote, columns.get(incrementingIndex).name());
            String tb = tiebreak ? Dialect.quote(quote, columns.get(tiebreakIndex).name()) : null;
            String order = tiebreak ? inc + ", " + tb : inc;
            String where = tiebreak ? "(" + inc + " > ? OR (" + inc + " = ? AND " + tb + " > ?))" : inc + " > ?";
            first = conn.prepareStatement(db.dialect().limit("SELECT * FROM " + from + " WHERE " + inc + " IS NOT NULL ORDER BY "
                    + order, batchRows));
            next = conn.prepareStatement(db.dialect().limit("SELECT * FROM " + from + " WHERE " + where + " ORDER BY " + order,
                    batchRows));
            first.setMaxRows(batchRows);
            next.setMaxRows(batchRows);
            restore(config, context.committedPosition());
        } catch (RuntimeException | SQLException e) {
            closeConnection();
            throw e;
        }
        LOG.info("jdbc-source {}: polling {} by {} from {}", config.name(), from, incrementing,
                lastIncrementing == null ? "the start" : context.committedPosition());
    }

    @Override
    public List<SourceRecord> poll(Duration maxWait) throws Exception {
        if (!lastBatchFull) {
            long waitMs = nextPollAtMs - clock.millis();
            if (waitMs > 0) {
                // not due yet: wait for the interval (or maxWait), returning early if closed
                closed.await(Math.min(waitMs, maxWait.toMillis()), TimeUnit.MILLISECONDS);
                if (closed.getCount() == 0 || clock.millis() < nextPollAtMs) {
                    return List.of();
                }
            }
        }
        List<SourceRecord> records;
        ScheduledFuture<?> abort = db.abortUnlessDone(conn, "a poll of " + from);
        try {
            records = query();
        } catch (SQLException e) {
            if (abort.isDone() && !abort.isCancelled()) {
                // an IOException: the runtime restarts the task, as for any lost connection
                throw new IOException("connector '" + db.connector() + "': the database at " + db.url() + " did not answer a poll"
                        + " in " + db.unansweredMs() + " ms (expected: an answer within " + JdbcSettings.UNANSWERED_TIMEOUTS
                        + " x jdbc.timeout.ms; retried)", e);
            }
            throw e;
        } finally {
            abort.cancel(false);
        }
        // A batch cut before its last value T is full here too: the rows with T it lost come back with every other row
        // with T (query), so it holds at least batch.rows rows and the position has moved to T; a group larger than
        // the batch likewise. Fewer only if rows with T were deleted between the two queries: then one wait, no spin.
        lastBatchFull = records.size() >= batchRows;
        nextPollAtMs = clock.millis() + pollInterval.toMillis();
        return records;
    }

    /** With {@code key.column}: its value is each message's sharding key, so the runtime waits for the topic at start. */
    @Override
    public boolean sendsShardingKeys() {
        return keyColumn != null;
    }

    @Override
    public void close() throws Exception {
        closed.countDown();
        closeConnection();
    }

    /** One row read, before its position is known. */
    private record Read(Message message, String key, Object incrementing, long tiebreak) {}

    private List<SourceRecord> query() throws SQLException {
        PreparedStatement ps;
        Object before = lastIncrementing;
        if (lastIncrementing == null) {
            ps = first;
        } else {
            ps = next;
            bindIncrementing(ps, 1, lastIncrementing);
            if (tiebreak) {
                bindIncrementing(ps, 2, lastIncrementing);
                ps.setLong(3, lastTiebreak);
            }
        }
        List<Read> rows = new ArrayList<>();
        read(ps, rows);
        if (!tiebreak && rows.size() >= batchRows) {
            // A full batch may end in the middle of the rows sharing its last value T (the LIMIT cuts an unordered
            // group): drop its rows with T and read every row with T, so the next query (> T) skips none of them; at most
            // same.value.max.rows of them, since all are held in memory (one more row tells there are too many).
            Object t = rows.get(rows.size() - 1).incrementing();
            rows.removeIf(r -> same(r.incrementing(), t));
            if (sameValue == null) {
                sameValue = conn.prepareStatement(db.dialect().limit("SELECT * FROM " + from + " WHERE "
                        + Dialect.quote(quote, columns.get(incrementingIndex).name()) + " = ?", sameValueMaxRows + 1));
                sameValue.setMaxRows(sameValueMaxRows + 1);
            }
            bindIncrementing(sameValue, 1, t);
            int groupStart = rows.size();
            read(sameValue, rows);
            if (rows.size() - groupStart > sameValueMaxRows) {
                // not retried: the same rows are there after a restart
                throw new IllegalStateException("more than same.value.max.rows=" + sameValueMaxRows + " rows have "
                        + incrementing + " = " + text(t) + " (expected: at most that many rows sharing one value, since"
                        + " without tiebreak.column they are read in one query; set tiebreak.column to an integer NOT NULL"
                        + " column such as the id, so they are read batch.rows at a time)");
            }
        }
        List<SourceRecord> records = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            Read r = rows.get(i);
            Map<String, String> position = new HashMap<>(2);
            if (tiebreak) {
                position.put(POSITION_INCREMENTING, text(r.incrementing()));
                position.put(POSITION_TIEBREAK, Long.toString(r.tiebreak()));
            } else {
                // Without a tiebreak the position moves to a value only with the last row having it: a restart
                // after part of a group was sent reads the whole group again rather than skipping the rest of it.
                boolean lastOfGroup = i + 1 == rows.size() || !same(rows.get(i + 1).incrementing(), r.incrementing());
                if (lastOfGroup) {
                    before = r.incrementing();
                }
                if (before != null) {
                    position.put(POSITION_INCREMENTING, text(before));
                }
            }
            records.add(new SourceRecord(r.message(), r.key(), position));
        }
        if (!rows.isEmpty()) {
            Read last = rows.get(rows.size() - 1);
            lastIncrementing = last.incrementing();
            lastTiebreak = last.tiebreak();
        }
        return records;
    }

    /**
     * Whether two increasing values are equal as the database compares them (time stamps with a
     * zone: the same instant; decimals: the same number, 2.5 and 2.50 alike).
     */
    private static boolean same(Object a, Object b) {
        if (a instanceof OffsetDateTime x && b instanceof OffsetDateTime y) {
            return x.isEqual(y);
        }
        if (a instanceof BigDecimal x && b instanceof BigDecimal y) {
            return x.compareTo(y) == 0;
        }
        return a.equals(b);
    }

    /** An increasing value as the position holds it: decimals without an exponent ({@code 100000000000000000000}, not {@code 1E+20}). */
    private static String text(Object value) {
        return value instanceof BigDecimal d ? d.toPlainString() : value.toString();
    }

    /** Adds every row of {@code ps}'s result (in its order) to {@code rows}. */
    private void read(PreparedStatement ps, List<Read> rows) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            columnsOf(rs.getMetaData());
            while (rs.next()) {
                ObjectNode json = JSON.createObjectNode();
                for (int i = 0; i < columns.size(); i++) {
                    columns.get(i).putJson(rs, i + 1, json, fields.get(i));
                }
                Object inc = switch (kind) {
                    case ID -> rs.getLong(incrementingIndex + 1);
                    case DECIMAL -> increasingDecimal(rs, incrementingIndex + 1);
                    case TIMESTAMP -> increasingWallTime(rs, incrementingIndex + 1);
                    case TIMESTAMP_TZ -> rs.getObject(incrementingIndex + 1, OffsetDateTime.class);
                };
                long tb = 0;
                if (tiebreak) {
                    tb = rs.getLong(tiebreakIndex + 1);
                    if (rs.wasNull()) {
                        // not retried: the row stays, and would be read the same way again
                        throw new IllegalStateException("tiebreak.column " + tiebreakColumn + " is NULL in a row with "
                                + incrementing + " = " + text(inc) + " (expected: never NULL; a NULL would be read as 0 and rows"
                                + " skipped; use a NOT NULL column such as the id, or filter the NULLs out in the query)");
                    }
                }
                String key = keyIndex < 0 ? null : rs.getString(keyIndex + 1);
                Message.Builder m = Message.builder(topic).body(JSON.writeValueAsBytes(json));
                if (key != null) {
                    m.keys(List.of(key));
                }
                rows.add(new Read(m.build(), key, inc, tb));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write a row as JSON", e);
        }
    }

    /**
     * The increasing value of a {@code NUMERIC}/{@code DECIMAL} column. A PostgreSQL {@code NaN} or
     * {@code Infinity} there cannot be a position (no {@link BigDecimal} holds it, and PostgreSQL sorts
     * it after every number, so the row would be read again at every poll): the task fails for good
     * with a message that names it, instead of the driver's "Bad value for type BigDecimal".
     */
    private BigDecimal increasingDecimal(ResultSet rs, int index) throws SQLException {
        try {
            return rs.getBigDecimal(index);
        } catch (SQLException e) {
            String special = Column.nonFiniteDecimal(rs, index);
            if (special == null) {
                throw e;
            }
            // not retried: the row stays, and would be read the same way again
            throw new IllegalStateException("incrementing.column " + incrementing + " is " + special + " in a row (expected: a"
                    + " number; NaN and Infinity cannot be a position: filter such rows out with a query)", e);
        }
    }

    /**
     * The increasing value of a {@code TIMESTAMP} or {@code DATE} column as the wall time it holds.
     * Not through {@link java.sql.Timestamp}: that is an instant in the JVM's zone, and moved a value
     * in the zone's daylight-saving gap (02:10 on a spring-forward day in Europe/Berlin) to 03:10; the
     * moved value became the position, and the rows between were skipped without an error.
     */
    private LocalDateTime increasingWallTime(ResultSet rs, int index) throws SQLException {
        if (columns.get(index - 1).sqlType() == Types.DATE) {
            // not every driver converts a date to a LocalDateTime
            LocalDate d = rs.getObject(index, LocalDate.class);
            return d == null ? null : d.atStartOfDay();
        }
        return rs.getObject(index, LocalDateTime.class);
    }

    private void bindIncrementing(PreparedStatement ps, int index, Object value) throws SQLException {
        switch (kind) {
            case ID -> ps.setLong(index, (Long) value);
            case DECIMAL -> ps.setBigDecimal(index, (BigDecimal) value);
            // a LocalDateTime, not Timestamp.valueOf: that moved a wall time in the JVM zone's daylight-saving gap an hour on
            case TIMESTAMP -> ps.setObject(index, value);
            case TIMESTAMP_TZ -> ps.setObject(index, value);
        }
    }

    private void restore(ConnectorConfig config, Map<String, String> position) {
        String inc = position.get(POSITION_INCREMENTING);
        if (inc == null) {
            return;
        }
        try {
            lastIncrementing = switch (kind) {
                case ID -> Long.parseLong(inc);
                case DECIMAL -> new BigDecimal(inc);
                case TIMESTAMP -> LocalDateTime.parse(inc);
                case TIMESTAMP_TZ -> OffsetDateTime.parse(inc);
            };
            if (tiebreak) {
                String tb = position.get(POSITION_TIEBREAK);
                // a position written before tiebreak.column was set: resume after every row of that time stamp's smallest id
                lastTiebreak = tb == null ? Long.MIN_VALUE : Long.parseLong(tb);
            }
        } catch (NumberFormatException | DateTimeParseException e) {
            throw config.invalid("incrementing.column", position.toString(),
                    "a committed position matching the column's type (was the column changed? reset the connector's position)");
        }
    }

    private void describe(ConnectorConfig config, String from, String key) throws SQLException {
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery("SELECT * FROM " + from + " WHERE 1 = 0")) {
            upperFolded = conn.getMetaData().storesUpperCaseIdentifiers();
            columns = columnList(rs.getMetaData());
            fields = fieldNames(columns);
        } catch (SQLException e) {
            if (JdbcSettings.unreachable(e)) {
                throw e; // the connection, not the table: the runtime restarts the task
            }
            throw config.invalid(key, from, "a readable table or query: " + JdbcSettings.rootMessage(e));
        }
    }

    private static List<Column> columnList(ResultSetMetaData md) throws SQLException {
        List<Column> list = new ArrayList<>(md.getColumnCount());
        for (int i = 1; i <= md.getColumnCount(); i++) {
            list.add(new Column(md.getColumnLabel(i), md.getColumnType(i), md.getColumnTypeName(i), md.getPrecision(i)));
        }
        return list;
    }

    private List<String> fieldNames(List<Column> cols) {
        List<String> names = new ArrayList<>(cols.size());
        for (Column c : cols) {
            String name = c.name();
            // an unquoted name that H2 folded to upper case comes out as it was most likely written: lower case
            names.add(upperFolded && name.equals(name.toUpperCase(Locale.ROOT)) ? name.toLowerCase(Locale.ROOT) : name);
        }
        return names;
    }

    /**
     * Takes the columns of a result set as its metadata gives them, when they differ from those known: {@code SELECT *}
     * after an ALTER TABLE while the task runs (a column added, dropped, or added in the middle with MariaDB's
     * {@code ADD COLUMN ... AFTER}) returns other columns than the table had at start, and reading them by the old
     * positions put values under the wrong field names. The increasing, tiebreak and key columns are found again by name.
     */
    private void columnsOf(ResultSetMetaData md) throws SQLException {
        int n = md.getColumnCount();
        boolean same = n == columns.size();
        for (int i = 0; same && i < n; i++) {
            Column c = columns.get(i);
            same = c.name().equals(md.getColumnLabel(i + 1)) && c.sqlType() == md.getColumnType(i + 1)
                    && (c.sqlType() != Types.BIT || c.precision() == md.getPrecision(i + 1)); // a BIT(n)'s value has n bits
        }
        if (same) {
            return;
        }
        List<Column> now = columnList(md);
        int inc = indexOf(now, columns.get(incrementingIndex).name());
        int tb = tiebreak ? indexOf(now, columns.get(tiebreakIndex).name()) : -1;
        int key = keyIndex >= 0 ? indexOf(now, columns.get(keyIndex).name()) : -1;
        if (inc < 0 || (tiebreak && tb < 0) || (keyIndex >= 0 && key < 0)) {
            // not retried: the table lacks a column the settings name
            throw new IllegalStateException("the columns of " + from + " changed to " + now.stream().map(Column::name).toList()
                    + ", without a column named in incrementing.column, tiebreak.column or key.column (expected: those columns"
                    + " kept; fix the table or the settings and restart)");
        }
        LOG.info("jdbc-source: the columns of {} changed: now {}", from, now.stream().map(Column::name).toList());
        columns = now;
        fields = fieldNames(now);
        incrementingIndex = inc;
        tiebreakIndex = tiebreak ? tb : tiebreakIndex;
        keyIndex = key;
    }

    private static int indexOf(List<Column> cols, String name) {
        for (int i = 0; i < cols.size(); i++) {
            if (cols.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    private int columnIndex(ConnectorConfig config, String key, String name) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).name().equalsIgnoreCase(name)) {
                return i;
            }
        }
        throw config.invalid(key, name, "a column of the table: " + columns.stream().map(Column::name).toList());
    }

    private static boolean isInteger(int sqlType) {
        return sqlType == Types.TINYINT || sqlType == Types.SMALLINT || sqlType == Types.INTEGER || sqlType == Types.BIGINT;
    }

    private void closeConnection() {
        if (conn == null) {
            return;
        }
        try {
            conn.close(); // closes the statements too
        } catch (SQLException e) {
            LOG.debug("close failed", e);
        }
        conn = null;
    }
}
