package dev.ferry.connect.jdbc;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.SinkTask;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connector type {@code jdbc-sink}: writes each message, a JSON object of column values, as one
 * row of a database table, by batched inserts ({@code mode=insert}) or upserts by key
 * ({@code mode=upsert}: PostgreSQL {@code INSERT ... ON CONFLICT}, H2 {@code MERGE INTO ... KEY},
 * MariaDB/MySQL {@code ON DUPLICATE KEY UPDATE}).
 *
 * <p><b>Exactly-once.</b> Every transaction that writes rows also writes, in the table
 * described by {@link SinkOffsetsTable}, the next offset of each (topic, queue) it covered;
 * {@link #storedPositions} returns them so the runtime resumes right after the last committed
 * row, and {@link #put} drops any message below them (a redelivery). A crash at any point
 * leaves either the rows and their positions, or neither: no row twice, none lost, even in an
 * append-only table without a key.
 *
 * <p><b>Batching.</b> {@link #put} converts and buffers; once {@code batch.rows} rows are
 * buffered, and on {@link #flush}, they go to the database as JDBC batches (one per run of
 * messages with the same fields) and one commit.
 *
 * <p><b>Pipelining (double buffering).</b> A full buffer is handed, with the positions it
 * advances, to the task's one writer thread, which runs the batches, the positions update and
 * the commit while {@code put} goes on converting the next messages into a fresh buffer. At most
 * one write is in flight: when the next buffer fills first, {@code put} waits for it. Its outcome
 * is taken on the task thread, by the next {@code put} (once it is done), the next full buffer,
 * {@link #flush} (which waits for it, then writes the rest itself) or {@link #storedPositions}
 * (which waits for it): only then do the stored positions move, so the conditional update of
 * the next transaction always starts from committed values. A failed write was rolled back by
 * the writer; its rows go back in front of the buffer and the failure is handled as a synchronous
 * one would be (a rejected row: the row-by-row retry, reported by the next {@code flush};
 * anything else: thrown by that {@code put} or {@code flush}). {@link #close} waits for the
 * write in flight (aborting the connection if it takes longer than 30 s) and stops the thread
 * before it returns, so nothing commits after it.
 *
 * <p><b>Bad records, never dropped silently.</b> A body that is not a JSON object, a field
 * with no column, or a value that does not fit its column is reported by {@code put} as a
 * {@link BadRecordException} for that message. A row the database rejects (a constraint, a
 * too-long value) fails the batch; the batch is rolled back and written again row by row
 * (with a savepoint per row) to find it. Every other row is committed; the rejected row, and
 * the rows after it in its queue, stay buffered and its queue's stored position stays before
 * it, and the next {@link #flush} throws {@link BadRecordException} for it. When the runtime
 * calls {@code put} or {@code flush} again it has handled the record (error topic), and the
 * sink moves past it; if the runtime stops instead, the record is still ahead of the stored
 * position and fails again on restart.
 *
 * <p>Not thread-safe: the runtime calls it from one thread. It owns one writer thread of its own
 * (daemon, {@code jdbc-sink-writer-NAME}, started by the first full buffer, stopped by
 * {@code close}), which uses the connection only while a write is in flight; the task thread
 * uses it only while none is.
 */
public final class JdbcSinkTask implements SinkTask {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSinkTask.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonFactory JSON_FACTORY = JSON.getFactory();

    /** How rows are written. */
    public enum Mode { INSERT, UPSERT }

    /** A queue of a topic, the unit of ordering and of stored positions. */
    record QueueKey(String topic, int queue) {}

    /** A converted message: the columns its fields map to and their values. */
    private record Row(Message message, QueueKey queue, List<Column> columns, Object[] values) {}

    private String connector;
    private JdbcSettings db;
    private String table;
    private Mode mode;
    private List<String> keyColumns;
    /** JSON field to column name, in the order given by {@code fields}; null: every field to its like-named column. */
    private Map<String, String> fieldColumns;
    private int batchRows;
    private boolean autoCreate;
    private SinkOffsetsTable offsets;

    private Connection conn;
    /** The driver's identifier quote ({@code "}, or a backtick for MariaDB/MySQL); column names are quoted with it. */
    private String quote = "\"";
    /** How the database stores unquoted names: 'U' upper case (H2), 'L' lower case (PostgreSQL), 'M' as written. */
    private char fold = 'M';
    /** At most this many names are remembered in {@link #unknownFields}. */
    private static final int MAX_UNKNOWN_FIELDS = 1024;
    /** Field names found without a column since the table's columns were last read (cleared when they change), at most {@link #MAX_UNKNOWN_FIELDS}. */
    private final java.util.Set<String> unknownFields = new java.util.HashSet<>();
    /** The target table's columns by upper-cased name; null until the table exists (auto.create from the first message). */
    private Map<String, Column> tableColumns;
    /**
     * The insert (or upsert) statement of each column list, least recently used first (access order). Without a
     * fields mapping each distinct set of fields in the bodies has its own list, so sparse bodies make many; the
     * cache is trimmed to {@link #MAX_CACHED_STATEMENTS} after every write ({@link #trimStatements}).
     */
    private final LinkedHashMap<List<Column>, PreparedStatement> statements = new LinkedHashMap<>(16, 0.75f, true);
    private SinkOffsetsTable.Statements positionStatements;
    /** Column of each body field name seen (no fields mapping); filled as fields come. */
    private final Map<String, Column> columnsByField = new HashMap<>();
    /** With a fields mapping: the mapped columns (one list shared by every row) and each field's index in it. */
    private List<Column> mappedColumns;
    private Map<String, Integer> mappedIndex;
    private List<Column> keyColumnsResolved = List.of();
    /** The columns of the last row converted without a mapping, shared by the next rows with the same fields. */
    private List<Column> lastColumns;
    private final List<Column> scratchColumns = new ArrayList<>();
    private final List<Object> scratchValues = new ArrayList<>();
    /** The queue of the last message put, reused while messages come from it. */
    private QueueKey lastQueue;

    private List<Row> buffer = new ArrayList<>();
    /** Buffer size at which {@link #put} writes: batch.rows more than what a blocked queue kept back. */
    private int writeAt;
    /** Next offset per queue as committed in the offsets table. */
    private final Map<QueueKey, Long> stored = new HashMap<>();
    /**
     * Queues whose messages below the stored position were skipped in this run, logged once each:
     * after a restart a few are expected (the group's offset trails the table's), but a topic
     * deleted and made again restarts its offsets at 0 under a stored position far ahead, and
     * every new message would be skipped without a word.
     */
    private final java.util.Set<QueueKey> skipLogged = new java.util.HashSet<>();
    /** Next offsets past bad records the runtime has handled; stored with the next transaction. */
    private final Map<QueueKey, Long> handled = new HashMap<>();
    /** A message reported by put as a BadRecordException; handled once the runtime calls again. */
    private Message reportedBad;
    /** A buffered row the database rejected; its queue is not written past it until it is handled. */
    private Row rejected;
    private SQLException rejectedCause;
    /** Whether {@link #flush} has thrown for {@link #rejected}. */
    private boolean rejectedReported;
    private long rowsWritten;

    /**
     * The most prepared statements the task keeps open between writes, one per column list (set of fields). Bodies
     * with sparse fields have as many column lists as field combinations; every statement kept open holds driver
     * memory and, with server-side preparation, a statement on the server (MariaDB/MySQL refuse to prepare more than
     * max_prepared_stmt_count, shared by every session), so an unbounded cache grew with each new combination until
     * the task stopped. 64 covers the few field sets of ordinary topics, which keep their statements; with more, a
     * field set whose statement was evicted has it prepared again when it comes back (once per run of such rows in a
     * write, not per row).
     */
    static final int MAX_CACHED_STATEMENTS = 64;
    /** Wait for a write in flight in {@link #close} before aborting the connection. */
    static final long CLOSE_WAIT_MS = 30_000;
    /** Wait in {@link #close} for a writer whose write {@link #awaitWrite} gave up on (its connection is being aborted). */
    static final long ABANDONED_WRITER_WAIT_MS = 2_000;
    /**
     * Set when {@link #awaitWrite} gave up on a write whose database did not answer: the
     * connection is being aborted, so {@link #close} does not wait for the writer again.
     */
    private boolean writeAbandoned;
    /** The writer thread; null until the first full buffer. */
    private ExecutorService writer;
    /** The writer's one thread, once started: close joins it (the executor reports termination just before it ends). */
    private volatile Thread writerThread;
    /** The write handed to the writer and not yet taken back by the task thread; null when none. */
    private InFlight inFlight;

    /**
     * A buffer being written by the writer thread: its rows, the positions they (and the handled records included)
     * advance to, which handled positions were included, and the writer's result.
     */
    private record InFlight(List<Row> rows, Map<QueueKey, Long> positions, Map<QueueKey, Long> handledIncluded,
            Future<Void> result) {}

    /** Reads and checks every setting, without opening the database. */
    @Override
    public void configure(ConnectorConfig config) {
        connector = config.string("name", "a connector name (it keys the positions in the offsets table)");
        db = JdbcSettings.from(config);
        table = identifier(config, "table", config.string("table", "the table to write, e.g. orders"));
        mode = config.choice("mode", Mode.class, Mode.INSERT);
        keyColumns = identifiers(config, "key.columns",
                config.optional("key.columns").or(() -> config.optional("key.column")).orElse(""));
        config.markRead("key.column");
        if (mode == Mode.UPSERT && keyColumns.isEmpty()) {
            throw new ConnectConfigException(connector, "key.columns",
                    "key.columns: missing (expected: the key column(s) to upsert by when mode=upsert, e.g. id or tenant,id)");
        }
        if (mode == Mode.UPSERT && !db.dialect().supportsUpsert()) {
            throw config.invalid("mode", "upsert", "insert (upsert needs PostgreSQL, H2 or MariaDB/MySQL)");
        }
        fieldColumns = fields(config);
        batchRows = config.intValue("batch.rows", 1000, 1, 1_000_000);
        autoCreate = config.bool("auto.create", false);
        offsets = new SinkOffsetsTable(identifier(config, "offsets.table",
                config.string("offsets.table", SinkOffsetsTable.DEFAULT_NAME, "a table name")), db.dialect());
        writeAt = batchRows;
    }

    @Override
    public void start(TaskContext context) throws Exception {
        ConnectorConfig config = context.config();
        configure(config);
        conn = db.connect();
        try {
            conn.setAutoCommit(false);
            java.sql.DatabaseMetaData meta = conn.getMetaData();
            quote = meta.getIdentifierQuoteString();
            // MariaDB's driver answers storesLowerCaseIdentifiers from lower_case_table_names, which is about tables: its
            // column names keep their case whatever that is
            fold = db.dialect() == Dialect.MARIADB ? 'M'
                    : meta.storesUpperCaseIdentifiers() ? 'U' : meta.storesLowerCaseIdentifiers() ? 'L' : 'M';
            offsets.create(conn);
            conn.commit();
            if (!offsets.refusesDuplicates(conn)) {
                throw config.invalid("offsets.table", offsets.name(), "a table whose primary key or unique key is (connector, topic,"
                        + " queue_id), as the sink creates it; " + offsets.name() + " takes two rows for one queue, so a second"
                        + " instance of a connector would not be stopped from writing the same rows (drop it to have it made again)");
            }
            stored.putAll(offsets.read(conn, connector));
            conn.commit();
            tableColumns = describe(table).orElse(null);
            if (tableColumns == null && !autoCreate) {
                throw config.invalid("table", table, "an existing table, or auto.create=true to create it");
            }
            if (tableColumns == null && fieldColumns != null) {
                tableColumns = create(new ArrayList<>(fieldColumns.values()));
            }
            if (tableColumns != null) {
                for (String k : keyColumns) {
                    if (!tableColumns.containsKey(upper(k))) {
                        throw config.invalid("key.columns", String.join(",", keyColumns), "columns of " + table + ": " + names());
                    }
                }
                if (fieldColumns != null) {
                    for (String c : fieldColumns.values()) {
                        if (!tableColumns.containsKey(upper(c))) {
                            throw config.invalid("fields", config.optional("fields").orElse(""), "columns of " + table + ": " + names());
                        }
                    }
                }
            }
            if (tableColumns != null) {
                resolveColumns();
            }
        } catch (RuntimeException | SQLException e) {
            closeQuietly();
            throw e;
        }
        LOG.info("jdbc-sink {}: writing {} ({}) on {}; stored positions {}", connector, table, mode, db.url(), new TreeMap<>(
                stored.entrySet().stream().collect(java.util.stream.Collectors.toMap(e -> e.getKey().toString(), Map.Entry::getValue))));
    }

    @Override
    public Map<Integer, Long> storedPositions(String topic) throws Exception {
        awaitWrite(); // the positions after the write in flight, committed or not
        Map<Integer, Long> positions = new TreeMap<>();
        stored.forEach((q, next) -> {
            if (q.topic().equals(topic)) {
                positions.put(q.queue(), next);
            }
        });
        return positions;
    }

    @Override
    public void put(List<Message> messages) throws Exception {
        acknowledgeReported();
        if (inFlight != null && inFlight.result().isDone()) {
            awaitWrite(); // a failure of the last write surfaces here, as it would have in a synchronous put
        }
        for (Message m : messages) {
            QueueKey q = lastQueue;
            if (q == null || q.queue() != m.queueId() || !q.topic().equals(m.topic())) {
                q = new QueueKey(m.topic(), m.queueId());
                lastQueue = q;
            }
            Long next = stored.get(q);
            if (inFlight != null) {
                Long writing = inFlight.positions().get(q);
                if (writing != null && (next == null || writing > next)) {
                    next = writing;
                }
            }
            if (next != null && m.queueOffset() < next) {
                // already in the table (or being written): the runtime started before the stored position
                if (skipLogged.add(q)) {
                    LOG.warn("jdbc-sink {}: skipping messages of {}/{} from offset {} on, below the table's stored position {}"
                            + " (already written); if the topic was deleted and made again, delete this connector's rows from"
                            + " {} to write its messages", connector, q.topic(), q.queue(), m.queueOffset(), next, offsets.name());
                }
                continue;
            }
            Row row;
            try {
                row = toRow(m, q);
            } catch (BadRecordException e) {
                reportedBad = m;
                throw e;
            }
            buffer.add(row);
            if (buffer.size() >= writeAt) {
                awaitWrite(); // at most one write in flight
                if (buffer.size() >= writeAt) { // unless a failed write's row-by-row retry wrote it
                    if (rejected == null) {
                        startWrite();
                    } else {
                        write(); // a queue is blocked by a rejected row: the rare case stays synchronous
                    }
                }
            }
        }
    }

    @Override
    public void flush() throws Exception {
        acknowledgeReported();
        awaitWrite();
        write();
        if (rejected != null && !rejectedReported) {
            rejectedReported = true;
            throw new BadRecordException(rejected.message(), "table " + table + " rejected the row: "
                    + JdbcSettings.rootMessage(rejectedCause), rejectedCause);
        }
    }

    /** Rows committed by this task since it started (for status and benchmarks). */
    public long rowsWritten() {
        return rowsWritten;
    }

    @Override
    public void close() throws Exception {
        if (stopWriter()) {
            closeQuietly();
        }
    }

    // ---- positions of reported records

    /** The runtime called again after a BadRecordException: the reported record is handled, move past it. */
    private void acknowledgeReported() {
        if (reportedBad != null) {
            handled.merge(new QueueKey(reportedBad.topic(), reportedBad.queueId()), reportedBad.queueOffset() + 1, Math::max);
            reportedBad = null;
        }
        if (rejected != null && rejectedReported) {
            buffer.remove(rejected);
            handled.merge(rejected.queue(), rejected.message().queueOffset() + 1, Math::max);
            rejected = null;
            rejectedCause = null;
            rejectedReported = false;
        }
    }

    // ---- writing in the background

    /** Hands the buffer (no queue blocked) and the positions it advances to the writer thread. */
    private void startWrite() {
        List<Row> rows = buffer;
        buffer = new ArrayList<>(Math.min(batchRows, 10_000));
        Map<QueueKey, Long> positions = new HashMap<>();
        for (Row r : rows) {
            positions.put(r.queue(), r.message().queueOffset() + 1);
        }
        Map<QueueKey, Long> handledIncluded = Map.copyOf(handled); // every row of their queues is in this buffer
        handledIncluded.forEach((q, next) -> positions.merge(q, next, Math::max));
        Map<QueueKey, Long> expected = new HashMap<>(stored);
        if (writer == null) {
            String name = "jdbc-sink-writer-" + connector;
            writer = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                writerThread = t;
                return t;
            });
        }
        inFlight = new InFlight(rows, positions, handledIncluded, writer.submit(() -> {
            writeAndCommit(rows, positions, expected);
            return null;
        }));
        writeAt = batchRows;
    }

    /** On the writer thread: the batches, the positions and the commit; rolled back on any failure. */
    private void writeAndCommit(List<Row> rows, Map<QueueKey, Long> positions, Map<QueueKey, Long> expected) throws SQLException {
        try {
            executeBatches(rows);
            if (positionStatements == null) {
                positionStatements = offsets.statements(conn);
            }
            offsets.write(positionStatements, connector, positions, expected);
            conn.commit();
        } catch (SQLException | RuntimeException | Error e) {
            rollbackQuietly();
            clearBatches();
            throw e;
        } finally {
            trimStatements(); // here, on the writer thread: the task thread does not use the statements until it takes the outcome
        }
    }

    /**
     * Waits for the write in flight, if any, and takes its outcome on the task thread: committed, the positions move;
     * failed (rolled back), its rows go back in front of the buffer and the failure is handled as in {@link #write}.
     */
    private void awaitWrite() throws Exception {
        InFlight w = inFlight;
        if (w == null) {
            return;
        }
        Throwable failure = null;
        long waitMs = db.unansweredMs();
        try {
            w.result().get(waitMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            failure = e.getCause() == null ? e : e.getCause();
        } catch (TimeoutException e) {
            // The database stopped answering and the driver did not time out: abort the connection, from another thread
            // (an abort here could wait on the writer's lock of the connection), and fail with an IOException, which the
            // runtime restarts the task on; the write is rolled back with the connection, and its rows are read again from
            // the stored positions. close waits no more for the writer.
            writeAbandoned = true;
            LOG.warn("jdbc-sink {}: a write of {} rows got no answer from {} in {} ms ({} x jdbc.timeout.ms); aborting the connection",
                    connector, w.rows().size(), db.url(), waitMs, JdbcSettings.UNANSWERED_TIMEOUTS);
            JdbcSettings.abortInBackground(conn);
            throw new IOException("connector '" + connector + "': the database at " + db.url() + " did not answer a write of "
                    + w.rows().size() + " rows in " + waitMs + " ms (expected: an answer within " + JdbcSettings.UNANSWERED_TIMEOUTS
                    + " x jdbc.timeout.ms; retried)", e);
        } // an InterruptedException leaves the write in flight: close waits for it
        inFlight = null;
        if (failure == null) {
            stored.putAll(w.positions());
            w.handledIncluded().forEach(handled::remove);
            rowsWritten += w.rows().size();
            return;
        }
        List<Row> all = new ArrayList<>(w.rows().size() + buffer.size());
        all.addAll(w.rows());
        all.addAll(buffer);
        buffer = all;
        if (failure instanceof SQLException e && isRowProblem(e)) {
            LOG.info("jdbc-sink {}: a batch of {} rows failed ({}); writing them and the {} buffered after them one by one to find the"
                    + " rejected row", connector, w.rows().size(), JdbcSettings.rootMessage(e), all.size() - w.rows().size());
            writeRowByRow(new ArrayList<>(all), new ArrayList<>(), Set.of(), e);
            writeAt = buffer.size() + batchRows;
            return;
        }
        if (failure instanceof Exception e) {
            throw e;
        }
        throw (Error) failure;
    }

    /**
     * Waits for the write in flight (aborting the connection after {@code CLOSE_WAIT_MS}), then
     * for the writer thread, once more at most as long. False if the thread is still running
     * (a driver that ignores the abort): the connection is then left to it, not closed under it.
     */
    private boolean stopWriter() {
        if (writer == null) {
            return true;
        }
        boolean interrupted = false;
        InFlight w = inFlight;
        inFlight = null;
        if (w != null && !writeAbandoned) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MS);
            while (!w.result().isDone()) {
                try {
                    w.result().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    break; // rolled back
                } catch (TimeoutException e) {
                    LOG.warn("jdbc-sink {}: the write in flight did not end in {} ms; aborting the connection", connector, CLOSE_WAIT_MS);
                    try {
                        conn.abort(Runnable::run);
                    } catch (SQLException | RuntimeException x) {
                        LOG.debug("abort failed", x);
                    }
                    break;
                }
            }
        }
        writer.shutdownNow();
        boolean stopped = false;
        long waitMs = CLOSE_WAIT_MS;
        try {
            // a write given up on: its connection is being aborted, which ends it at once, or never (a driver that ignores it)
            waitMs = writeAbandoned ? ABANDONED_WRITER_WAIT_MS : CLOSE_WAIT_MS;
            stopped = writer.awaitTermination(waitMs, TimeUnit.MILLISECONDS);
            Thread t = writerThread;
            if (stopped && t != null) {
                t.join(waitMs); // terminated: the thread is past its last task and ends at once
                stopped = !t.isAlive();
            }
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (!stopped) {
            LOG.error("jdbc-sink {}: the writer thread did not stop within {} ms after the connection was aborted; "
                    + "abandoning it (its connection is not closed under it)", connector, waitMs);
        }
        writer = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return stopped;
    }

    // ---- writing

    /** Writes the buffer (but a blocked queue) and the positions after it in one transaction. */
    private void write() throws SQLException {
        Set<QueueKey> blocked = rejected == null ? Set.of() : Set.of(rejected.queue());
        List<Row> toWrite = new ArrayList<>(buffer.size());
        List<Row> kept = new ArrayList<>();
        for (Row r : buffer) {
            (blocked.contains(r.queue()) ? kept : toWrite).add(r);
        }
        if (toWrite.isEmpty() && handled.keySet().stream().allMatch(blocked::contains)) {
            writeAt = buffer.size() + batchRows;
            return;
        }
        try {
            executeBatches(toWrite);
            Map<QueueKey, Long> positions = new HashMap<>();
            for (Row r : toWrite) {
                positions.put(r.queue(), r.message().queueOffset() + 1);
            }
            commit(positions, blocked);
            rowsWritten += toWrite.size();
            buffer = kept;
        } catch (SQLException e) {
            rollbackQuietly();
            clearBatches();
            if (!isRowProblem(e)) {
                throw e;
            }
            LOG.info("jdbc-sink {}: a batch of {} rows failed ({}); writing them one by one to find the rejected row", connector,
                    toWrite.size(), JdbcSettings.rootMessage(e));
            writeRowByRow(toWrite, kept, blocked, e);
        } catch (RuntimeException e) {
            rollbackQuietly();
            clearBatches();
            throw e;
        } finally {
            trimStatements();
        }
        writeAt = buffer.size() + batchRows;
    }

    /**
     * Writes rows one at a time, each under a savepoint, stopping each queue at its first rejected row.
     * {@code batchFailure} is why the batch failed: if the first row fails the same way with a state that is
     * not a row problem, the problem is not in the rows and the task fails.
     */
    private void writeRowByRow(List<Row> toWrite, List<Row> kept, Set<QueueKey> blockedBefore, SQLException batchFailure)
            throws SQLException {
        Set<QueueKey> blocked = new HashSet<>(blockedBefore);
        Map<QueueKey, Long> positions = new HashMap<>();
        Row firstRejected = null;
        SQLException cause = null;
        int written = 0;
        boolean first = true;
        try {
            for (Row r : toWrite) {
                if (blocked.contains(r.queue())) {
                    kept.add(r);
                    continue;
                }
                Savepoint sp = conn.setSavepoint();
                try {
                    PreparedStatement ps = statement(r.columns());
                    bind(ps, r);
                    ps.executeUpdate();
                    conn.releaseSavepoint(sp);
                    positions.put(r.queue(), r.message().queueOffset() + 1);
                    written++;
                } catch (SQLException e) {
                    String state = sqlState(e);
                    if (!isRowProblem(e) || (first && state != null && state.equals(sqlState(batchFailure)) && !isRowState(state))) {
                        throw e;
                    }
                    conn.rollback(sp);
                    blocked.add(r.queue());
                    kept.add(r);
                    if (firstRejected == null) {
                        firstRejected = r;
                        cause = e;
                    }
                }
                first = false;
            }
            commit(positions, blocked);
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly();
            clearBatches();
            throw e;
        } finally {
            trimStatements();
        }
        rowsWritten += written;
        kept.sort(java.util.Comparator.comparing((Row r) -> r.queue().topic()).thenComparingInt(r -> r.queue().queue())
                .thenComparingLong(r -> r.message().queueOffset()));
        buffer = kept;
        if (firstRejected != null && rejected == null) {
            rejected = firstRejected;
            rejectedCause = cause;
            rejectedReported = false;
            LOG.warn("jdbc-sink {}: {} rejected the message at {} offset {}: {}", connector, table, rejected.queue(),
                    rejected.message().queueOffset(), JdbcSettings.rootMessage(cause));
        }
    }

    /**
     * Drops whatever a failed write left in the batches of the cached statements (rows bound and added before a
     * bind or an execute failed), so that neither the row-by-row retry nor a later batch sends them again.
     */
    private void clearBatches() {
        for (PreparedStatement ps : statements.values()) {
            try {
                ps.clearBatch();
            } catch (SQLException e) {
                LOG.debug("clearBatch failed", e);
            }
        }
    }

    /**
     * Closes the least recently used statements beyond {@link #MAX_CACHED_STATEMENTS}. Called only when a write has
     * ended, on the thread that ran it: its rows were executed and committed, or it failed and was rolled back, so no
     * statement holds a row that is still to be executed (a failed write's leftovers are discarded anyway). Not on a
     * miss in {@link #statement}: that is the middle of a write, where the evicted statement could be one whose batch
     * is still being built (today each run's batch is executed before the next statement is asked for, but nothing
     * there would check it). So during one write the cache may exceed the limit by the field sets of that write's
     * rows (at most one per row); it is back at the limit when the write ends.
     */
    private void trimStatements() {
        for (Iterator<PreparedStatement> it = statements.values().iterator(); statements.size() > MAX_CACHED_STATEMENTS; ) {
            PreparedStatement ps = it.next();
            it.remove();
            try {
                ps.close();
            } catch (SQLException e) {
                LOG.debug("closing an evicted statement failed", e); // the connection releases it when it closes
            }
        }
    }

    /** The number of prepared statements cached; for tests, on the task thread while no write is in flight. */
    int cachedStatements() {
        return statements.size();
    }

    /** Adds the handled positions of unblocked queues, stores all positions and commits. */
    private void commit(Map<QueueKey, Long> positions, Set<QueueKey> blocked) throws SQLException {
        for (Iterator<Map.Entry<QueueKey, Long>> it = handled.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<QueueKey, Long> e = it.next();
            if (!blocked.contains(e.getKey())) {
                positions.merge(e.getKey(), e.getValue(), Math::max);
            }
        }
        if (positionStatements == null) {
            positionStatements = offsets.statements(conn);
        }
        offsets.write(positionStatements, connector, positions, stored);
        conn.commit();
        stored.putAll(positions);
        handled.keySet().removeIf(q -> !blocked.contains(q));
    }

    private void executeBatches(List<Row> rows) throws SQLException {
        PreparedStatement ps = null;
        List<Column> columns = null;
        int pending = 0;
        for (Row r : rows) {
            if (!r.columns().equals(columns)) {
                if (pending > 0) {
                    ps.executeBatch();
                }
                columns = r.columns();
                ps = statement(columns);
                pending = 0;
            }
            bind(ps, r);
            ps.addBatch();
            pending++;
        }
        if (pending > 0) {
            ps.executeBatch();
        }
    }

    private PreparedStatement statement(List<Column> columns) throws SQLException {
        PreparedStatement ps = statements.get(columns);
        if (ps == null) {
            // the names as the database reports them, quoted: a mixed-case column ("orderId") or a reserved word (order)
            List<String> names = columns.stream().map(c -> Dialect.quote(quote, c.name())).toList();
            ps = conn.prepareStatement(mode == Mode.UPSERT
                    ? db.dialect().upsert(table, names, keyColumnsResolved.stream().map(c -> Dialect.quote(quote, c.name())).toList())
                    : Dialect.insert(table, names));
            statements.put(columns, ps);
        }
        return ps;
    }

    private static void bind(PreparedStatement ps, Row r) throws SQLException {
        for (int i = 0; i < r.values().length; i++) {
            r.columns().get(i).bind(ps, i + 1, r.values()[i]);
        }
    }

    /**
     * Whether a failed statement is this data's fault: SQL state class 22 (data exception: a value too long, out of
     * range) or 23 (integrity constraint: a duplicate key, a NULL in a NOT NULL column). Anything else (a dropped
     * table 42P01, a missing column 42703, a revoked privilege 42501, a lock wait timeout HY000, a lost connection
     * 08...) is the table's, the server's or the connection's, and fails the task: sending every row to the error
     * topic would move the positions past rows that were never bad.
     */
    private static boolean isRowProblem(SQLException e) {
        String state = sqlState(e);
        return state != null && isRowState(state);
    }

    private static boolean isRowState(String state) {
        return state.startsWith("22") || state.startsWith("23");
    }

    /** The SQL state of a failure: its own, or that of the first chained or causing exception that has one. */
    private static String sqlState(SQLException e) {
        SQLException s = e;
        while (s.getSQLState() == null && s.getNextException() != null) {
            s = s.getNextException();
        }
        String state = s.getSQLState();
        if (state == null && e.getCause() instanceof SQLException c) {
            state = c.getSQLState();
        }
        return state;
    }

    // ---- converting messages

    /**
     * Converts a message straight from the bytes of its body with Jackson's streaming parser (no JSON tree: that cost
     * more than the database write per row), each field to its column's value. Errors keep the precedence of a
     * whole-body parse: a body that is not JSON is reported as such even if a field before the fault had no column.
     */
    private Row toRow(Message m, QueueKey q) throws BadRecordException, SQLException {
        boolean refreshed = false;
        if (tableColumns == null) {
            createFrom(m, tree(m)); // auto.create from the first message's fields
        }
        ByteBuffer b = m.body();
        Object[] values;
        List<Column> columns;
        String problem = null;
        Exception problemCause = null;
        try (JsonParser p = b.hasArray()
                ? JSON_FACTORY.createParser(b.array(), b.arrayOffset() + b.position(), b.remaining())
                : JSON_FACTORY.createParser(bytes(b.duplicate()))) {
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                throw new BadRecordException(m, "body is " + (t == null ? "empty" : "a JSON " + kind(t))
                        + " (expected: a JSON object of column values)");
            }
            if (fieldColumns != null) {
                columns = mappedColumns;
                values = new Object[columns.size()];
            } else {
                scratchColumns.clear();
                scratchValues.clear();
                columns = null;
                values = null;
            }
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                t = p.nextToken();
                int index;
                Column c;
                if (fieldColumns != null) {
                    Integer at = mappedIndex.get(name);
                    if (at == null) {
                        p.skipChildren(); // a field the mapping does not list
                        continue;
                    }
                    index = at;
                    c = mappedColumns.get(index);
                } else {
                    c = columnOf(name);
                    if (c == null && unknownFields.size() >= MAX_UNKNOWN_FIELDS) {
                        unknownFields.clear(); // bodies with ever new field names: at worst a re-read per 1,024 of them
                    }
                    if (c == null && !refreshed && unknownFields.add(name)) {
                        // a field not seen missing since the table was last read: a column may have been added for it. Once
                        // per name until the columns change, not per message: a topic that keeps carrying an extra field
                        // opened a connection for every message (found by a reviewer)
                        refreshed = true;
                        if (refreshColumns()) {
                            c = columnOf(name);
                        }
                    }
                    if (c == null) {
                        if (problem == null) {
                            problem = "field '" + name + "' has no column in " + table + " (expected: one of " + names()
                                    + ", or a fields mapping)";
                        }
                        p.skipChildren();
                        continue;
                    }
                    index = scratchColumns.indexOf(c); // a repeated field: the last value wins, as in a JSON tree
                    if (index < 0) {
                        index = scratchColumns.size();
                        scratchColumns.add(c);
                        scratchValues.add(null);
                    }
                }
                if (problem != null) {
                    p.skipChildren();
                    continue;
                }
                Object v;
                try {
                    v = value(c, p, t);
                } catch (IllegalArgumentException e) {
                    problem = e.getMessage();
                    problemCause = e;
                    continue;
                }
                if (values != null) {
                    values[index] = v;
                } else {
                    scratchValues.set(index, v);
                }
            }
        } catch (IOException e) {
            throw new BadRecordException(m, "body is not JSON: "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
        }
        if (problem != null) {
            throw new BadRecordException(m, problem, problemCause);
        }
        if (values == null) {
            // rows with the same fields share one column list, so the batching compares them by identity
            if (!scratchColumns.equals(lastColumns)) {
                lastColumns = List.copyOf(scratchColumns);
            }
            columns = lastColumns;
            values = scratchValues.toArray();
        }
        if (mode == Mode.UPSERT) {
            for (Column k : keyColumnsResolved) {
                int i = columns.indexOf(k);
                if (i < 0 || values[i] == null) {
                    throw new BadRecordException(m, "key column " + k.name() + " has no value (expected: a field " + k.name()
                            + " in the body)");
                }
            }
        }
        return new Row(m, q, columns, values);
    }

    /** The value for column {@code c} of the parser's current value token: common cases directly, others via a JSON node. */
    private Object value(Column c, JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case VALUE_STRING:
                if (c.isText()) {
                    return p.getText();
                }
                return c.toJdbc(TextNode.valueOf(p.getText()), db.dialect());
            case VALUE_NUMBER_INT:
                if (c.isInteger()) {
                    JsonParser.NumberType nt = p.getNumberType();
                    if (nt == JsonParser.NumberType.INT || nt == JsonParser.NumberType.LONG) {
                        return p.getLongValue();
                    }
                }
                return c.toJdbc(switch (p.getNumberType()) {
                    case INT -> IntNode.valueOf(p.getIntValue());
                    case LONG -> LongNode.valueOf(p.getLongValue());
                    default -> BigIntegerNode.valueOf(p.getBigIntegerValue());
                }, db.dialect());
            case VALUE_NUMBER_FLOAT:
                if (c.isText()) {
                    return p.getText(); // as written: through a double, 12345678901234567.89 would become 1.2345678901234568E16
                }
                if (c.isFloating()) {
                    double d = p.getDoubleValue();
                    if (Double.isFinite(d)) {
                        return d;
                    }
                }
                // exact (a NUMERIC/DECIMAL column keeps every digit); one beyond a double's range is refused by toJdbc
                return c.toJdbc(DecimalNode.valueOf(p.getDecimalValue()), db.dialect());
            case VALUE_TRUE:
                return c.toJdbc(BooleanNode.TRUE, db.dialect());
            case VALUE_FALSE:
                return c.toJdbc(BooleanNode.FALSE, db.dialect());
            case VALUE_NULL:
                return null;
            default: // an object or an array
                return c.toJdbc(JSON.readTree(p), db.dialect());
        }
    }

    /** The column of a body field (case-insensitive); null when the table has none. Cached by the field name as written. */
    private Column columnOf(String field) {
        Column c = columnsByField.get(field);
        if (c == null) {
            c = tableColumns.get(upper(field));
            if (c != null && columnsByField.size() < 10_000) {
                columnsByField.put(field, c);
            }
        }
        return c;
    }

    /**
     * Reads the table's columns again (on a connection of its own: a write may be in flight on the task's), for a field
     * with no column: one added by ALTER TABLE while the task runs is then written, not reported as a bad record.
     *
     * @return whether the columns changed
     */
    private boolean refreshColumns() {
        Optional<Map<String, Column>> now;
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            now = describe(c, table);
        } catch (SQLException e) {
            // not reachable now (a connection limit, an outage): the field stays unknown, the message a bad record as before
            LOG.debug("jdbc-sink {}: cannot read the columns of {} again: {}", connector, table, e.toString());
            return false;
        }
        if (now.isEmpty() || now.get().equals(tableColumns)) {
            return false;
        }
        unknownFields.clear(); // the columns changed: a name missing before may have one now
        LOG.info("jdbc-sink {}: the columns of {} changed: now {}", connector, table, now.get().values().stream().map(Column::name)
                .toList());
        tableColumns = now.get();
        resolveColumns();
        return true;
    }

    /** Resolves the fields mapping and the key columns against the table's columns, once they are known. */
    private void resolveColumns() {
        columnsByField.clear();
        if (fieldColumns != null) {
            List<Column> cols = new ArrayList<>();
            mappedIndex = new HashMap<>();
            for (Map.Entry<String, String> f : fieldColumns.entrySet()) {
                mappedIndex.put(f.getKey(), cols.size());
                cols.add(tableColumns.get(upper(f.getValue())));
            }
            mappedColumns = List.copyOf(cols);
        }
        List<Column> keys = new ArrayList<>();
        for (String k : keyColumns) {
            Column c = tableColumns.get(upper(k));
            if (c != null) {
                keys.add(c);
            }
        }
        keyColumnsResolved = List.copyOf(keys);
    }

    private static String kind(JsonToken t) {
        return switch (t) {
            case START_ARRAY -> "array";
            case VALUE_STRING -> "string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number";
            case VALUE_TRUE, VALUE_FALSE -> "boolean";
            case VALUE_NULL -> "null";
            default -> t.name().toLowerCase(Locale.ROOT);
        };
    }

    /** The body as a JSON object tree (auto.create reads the first message's field names from it). */
    private static JsonNode tree(Message m) throws BadRecordException {
        JsonNode body;
        try {
            ByteBuffer b = m.body();
            body = b.hasArray()
                    ? JSON.readTree(b.array(), b.arrayOffset() + b.position(), b.remaining())
                    : JSON.readTree(bytes(b.duplicate()));
        } catch (IOException e) {
            throw new BadRecordException(m, "body is not JSON: "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
        }
        if (body == null || body.isMissingNode() || !body.isObject()) {
            throw new BadRecordException(m, "body is " + (body == null || body.isMissingNode() ? "empty"
                    : "a JSON " + body.getNodeType().name().toLowerCase(Locale.ROOT)) + " (expected: a JSON object of column values)");
        }
        return body;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    // ---- the target table

    /** The table's columns by upper-cased name, or empty when it does not exist. */
    private Optional<Map<String, Column>> describe(String name) throws SQLException {
        return describe(conn, name);
    }

    private static Optional<Map<String, Column>> describe(Connection conn, String name) throws SQLException {
        try (Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT * FROM " + name + " WHERE 1 = 0")) {
            ResultSetMetaData md = rs.getMetaData();
            Map<String, Column> columns = new LinkedHashMap<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                columns.put(upper(md.getColumnName(i)), new Column(md.getColumnName(i), md.getColumnType(i), md.getColumnTypeName(i)));
            }
            conn.commit();
            return Optional.of(columns);
        } catch (SQLException e) {
            try {
                conn.rollback();
            } catch (SQLException r) {
                LOG.debug("rollback failed", r);
            }
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            if (state.equals("42P01") || state.equals("42S02") || state.equals("42S04") || state.equals("42102")) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** auto.create without a fields mapping: the table's columns are the first message's fields. */
    private void createFrom(Message m, JsonNode body) throws BadRecordException {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Dialect.isIdentifier(f) || f.contains(".")) {
                throw new BadRecordException(m, "field '" + f + "' cannot name a column of the table auto.create makes"
                        + " (expected: letters, digits and _)");
            }
            names.add(f);
        }
        for (String k : keyColumns) {
            if (names.stream().noneMatch(k::equalsIgnoreCase)) {
                throw new BadRecordException(m, "key column " + k + " has no value (expected: a field " + k + " in the body)");
            }
        }
        try {
            tableColumns = create(names);
            resolveColumns();
        } catch (SQLException e) {
            rollbackQuietly();
            if (isNamingProblem(e)) {
                // the database refused the CREATE TABLE for what the message's field names make of it (a name too long,
                // two fields one column): this message's fault, not the task's; the next message tries again
                throw new BadRecordException(m, "auto.create: " + table + " cannot be created with the columns of this"
                        + " message's fields " + names + ": " + JdbcSettings.rootMessage(e), e);
            }
            throw new IllegalStateException("auto.create: creating " + table + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Whether a failed CREATE TABLE is the column names' fault: SQL state class 42 (syntax error or access rule) or 22,
     * except a missing privilege (PostgreSQL 42501; MariaDB/MySQL 42000 with error 1044, 1142, 1227).
     */
    private boolean isNamingProblem(SQLException e) {
        if (db.dialect() == Dialect.MARIADB) {
            // its 42000 covers everything from a bad column name to an unknown database (1049): only errors about a
            // column's name are the message's (a missing database made every message a bad record, found by a reviewer)
            int code = e.getErrorCode();
            return code == 1059 || code == 1060 || code == 1166;
        }
        String state = sqlState(e);
        return state != null && (state.startsWith("42") || state.startsWith("22")) && !state.equals("42501");
    }

    /**
     * Creates the table: key columns text of up to 255 characters forming the primary key (in
     * upsert mode), every other column text of any length. Only when nothing is buffered, as
     * some databases commit the open transaction on DDL.
     */
    private Map<String, Column> create(List<String> columns) throws SQLException {
        StringBuilder sql = new StringBuilder("CREATE TABLE IF NOT EXISTS ").append(table).append(" (");
        List<String> all = new ArrayList<>();
        for (String k : keyColumns) {
            all.add(k);
        }
        for (String c : columns) {
            if (all.stream().noneMatch(c::equalsIgnoreCase)) {
                all.add(c);
            }
        }
        for (int i = 0; i < all.size(); i++) {
            String c = all.get(i);
            boolean key = keyColumns.stream().anyMatch(c::equalsIgnoreCase);
            sql.append(i == 0 ? "" : ", ").append(createName(c)).append(' ')
                    .append(key ? db.dialect().keyType + (mode == Mode.UPSERT ? " NOT NULL" : "") : db.dialect().textType);
        }
        if (mode == Mode.UPSERT) {
            sql.append(", PRIMARY KEY (").append(String.join(", ", keyColumns.stream().map(this::createName).toList())).append(')');
        }
        sql.append(')');
        try (Statement s = conn.createStatement()) {
            s.execute(sql.toString());
        }
        conn.commit();
        LOG.info("jdbc-sink {}: auto.create: {}", connector, sql);
        return describe(table).orElseThrow(() -> new SQLException(table + " not found right after CREATE TABLE"));
    }

    /**
     * A column name of auto.create, quoted (a field named like a reserved word, user or order, makes a column) and in
     * the case the database gives an unquoted name (H2 upper, PostgreSQL lower), so that the table's columns are named
     * as they were when auto.create did not quote them, and plain SQL reaches them unquoted.
     */
    private String createName(String field) {
        String name = switch (fold) {
            case 'U' -> field.toUpperCase(Locale.ROOT);
            case 'L' -> field.toLowerCase(Locale.ROOT);
            default -> field;
        };
        return Dialect.quote(quote, name);
    }

    private List<String> names() {
        return tableColumns.values().stream().map(Column::name).toList();
    }

    // ---- configuration helpers

    static String identifier(ConnectorConfig config, String key, String value) {
        if (!Dialect.isIdentifier(value)) {
            throw config.invalid(key, value, "a plain SQL name: letters, digits and _, optionally schema.table");
        }
        return value;
    }

    private static List<String> identifiers(ConnectorConfig config, String key, String list) {
        List<String> names = new ArrayList<>();
        for (String part : list.split(",")) {
            if (!part.isBlank()) {
                String n = part.trim();
                if (!Dialect.isIdentifier(n) || n.contains(".")) {
                    throw config.invalid(key, list, "comma-separated column names: letters, digits and _");
                }
                names.add(n);
            }
        }
        return List.copyOf(names);
    }

    /** {@code fields}: "field:column, field2" (a field without ":column" goes to the like-named column); null when absent. */
    private static Map<String, String> fields(ConnectorConfig config) {
        Optional<String> spec = config.optional("fields");
        if (spec.isEmpty()) {
            return null;
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (String part : spec.get().split(",")) {
            if (part.isBlank()) {
                continue;
            }
            String[] fc = part.split(":", 2);
            String field = fc[0].trim();
            String column = fc.length == 2 ? fc[1].trim() : field;
            if (field.isEmpty() || !Dialect.isIdentifier(column) || column.contains(".") || map.containsKey(field)) {
                throw config.invalid("fields", spec.get(), "comma-separated field or field:column entries, each field once, "
                        + "columns of letters, digits and _");
            }
            map.put(field, column);
        }
        return map.isEmpty() ? null : map;
    }

    private static String upper(String name) {
        return name.toUpperCase(Locale.ROOT);
    }

    private void rollbackQuietly() {
        try {
            conn.rollback();
        } catch (SQLException e) {
            LOG.debug("rollback failed", e);
        }
    }

    private void closeQuietly() {
        if (conn == null) {
            return;
        }
        for (PreparedStatement ps : statements.values()) {
            try {
                ps.close();
            } catch (SQLException ignored) {
                // closing the connection releases it anyway
            }
        }
        statements.clear();
        if (positionStatements != null) {
            positionStatements.close();
            positionStatements = null;
        }
        try {
            conn.rollback(); // whatever is buffered was not committed and is not covered by a stored position
            conn.close();
        } catch (SQLException e) {
            LOG.debug("close failed", e);
        }
        conn = null;
    }
}
