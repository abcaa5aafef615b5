package dev.ferry.connect;

import dev.ferry.client.FerryException;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.SQLTransientException;
import java.util.Set;

/**
 * Which failures of a source or sink task the runtime restarts it on: those that may not happen
 * again, because the broker or the database was unreachable, slow or shutting down. Everything
 * else would fail the same way on the same record after a restart, so it fails the task for good
 * with its reason: a restart loop would re-read the record forever.
 *
 * <p>The rule, applied to a failure and its causes (outermost first):
 * <ol>
 * <li>a {@link BadRecordException}, a {@link ConnectConfigException} or an {@link Error} anywhere
 *     in the chain: not retriable;</li>
 * <li>else the first {@link FerryException}, {@link SQLException} or I/O exception decides:
 *     a {@code FerryException} as its {@link FerryException#retryable()} says (BUSY, TIMEOUT, a lost
 *     or refused connection: yes; BAD_REQUEST, LIMIT_EXCEEDED, NOT_FOUND, a client-side refusal:
 *     no), and INTERNAL_ERROR is retried too (the broker failed, not the record: a read that lost a
 *     race with retention answers it); an {@code SQLException} when {@link #databaseUnreachable} or
 *     {@link #transientInDatabase} (a deadlock, a serialization failure, a lock or statement
 *     timeout), not otherwise (a syntax error, an unknown column 42703, a type mismatch 42804, a
 *     missing privilege 42501); an {@link IOException} or {@link UncheckedIOException}: yes;</li>
 * <li>anything else (a bug): not retriable.</li>
 * </ol>
 * A task that wants a restart for a condition of its own throws an {@code IOException}.
 *
 * <p>Stateless, so thread-safe.
 */
public final class Retriable {
    /**
     * H2's own states for a connection it lost: 90067 (connection broken, e.g. its TCP server
     * stopped), 90098 (database closed), 90121 (database called at shutdown). H2 puts them, with
     * a malformed URL and the like, in {@code SQLNonTransientConnectionException}, so the
     * exception's class cannot tell them apart.
     */
    private static final Set<String> H2_CONNECTION_LOST = Set.of("90067", "90098", "90121");
    /** MariaDB's and MySQL's lock wait timeout and deadlock, which its driver may report with state HY000. */
    private static final int MARIADB_LOCK_WAIT_TIMEOUT = 1205;
    private static final int MARIADB_DEADLOCK = 1213;
    /** Causes looked at, at most: a cycle in a cause chain must not hang the worker. */
    private static final int MAX_DEPTH = 32;

    private Retriable() {
    }

    /** Whether the runtime restarts a task that failed with {@code t} (see the class comment). */
    public static boolean failure(Throwable t) {
        int depth = 0;
        for (Throwable c = t; c != null && depth < MAX_DEPTH; c = c.getCause(), depth++) {
            if (c instanceof BadRecordException || c instanceof ConnectConfigException || c instanceof Error) {
                return false;
            }
        }
        depth = 0;
        for (Throwable c = t; c != null && depth < MAX_DEPTH; c = c.getCause(), depth++) {
            if (c instanceof FerryException f) {
                // INTERNAL_ERROR from the broker (not the client's finding of a damaged record, reason CLIENT)
                return f.retryable() || (f.reason() == FerryException.Reason.BROKER && f.status().orElse(null) == Status.INTERNAL_ERROR);
            }
            if (c instanceof SQLException s) {
                return databaseUnreachable(s) || transientInDatabase(s);
            }
            if (c instanceof IOException || c instanceof UncheckedIOException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a database failure is one the same statement may not meet again: SQL state class 40
     * (transaction rollback: a deadlock, a serialization failure), 57014 (a statement timeout or
     * cancel), 55P03 (a lock not available), or a {@link SQLTransientException} (which JDBC drivers
     * use for timeouts and rollbacks), or MariaDB's lock wait timeout (1205) or deadlock (1213)
     * whatever their state, in the chain of chained exceptions.
     */
    public static boolean transientInDatabase(SQLException e) {
        for (SQLException s = e; s != null; s = s.getNextException()) {
            String state = s.getSQLState() == null ? "" : s.getSQLState();
            if (state.startsWith("40") || state.equals("57014") || state.equals("55P03") || s instanceof SQLTransientException
                    || s.getErrorCode() == MARIADB_LOCK_WAIT_TIMEOUT || s.getErrorCode() == MARIADB_DEADLOCK) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a database failure means the database could not be reached (or the connection to
     * it was lost), rather than that a setting, the table or a value is wrong: SQL state class 08
     * (connection exception, which also covers a host name that does not resolve or a refused TLS
     * handshake: retried all the same, the task's status shows why), PostgreSQL's 57P01-57P03
     * (shutting down, starting up) and 53300 (too many connections), H2's lost connections
     * ({@link #H2_CONNECTION_LOST}), a {@link SQLTransientConnectionException} or
     * {@link SQLRecoverableException}, or an {@link IOException} (connection refused, reset, timed
     * out, unknown host) among its causes or chained exceptions.
     */
    public static boolean databaseUnreachable(SQLException e) {
        for (SQLException s = e; s != null; s = s.getNextException()) {
            String state = s.getSQLState() == null ? "" : s.getSQLState();
            if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")
                    || state.equals("53300") || H2_CONNECTION_LOST.contains(state)
                    || s instanceof SQLTransientConnectionException || s instanceof SQLRecoverableException) {
                return true;
            }
            int depth = 0;
            for (Throwable c = s.getCause(); c != null && depth < MAX_DEPTH; c = c.getCause(), depth++) {
                if (c instanceof IOException) {
                    return true;
                }
            }
        }
        return false;
    }
}
