package dev.ferry.connect.jdbc;

import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.Retriable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the database is and how to log in: {@code jdbc.url}, {@code jdbc.user},
 * {@code jdbc.password}, shared by the JDBC source and sink. {@link #connect} opens a connection
 * or fails with a {@link ConnectConfigException} that names the field at fault, so a wrong URL
 * or rejected credentials are reported when the task starts, before anything runs. An
 * unreachable server is not a configuration error: it fails with an {@link SQLException}, which
 * the runtime restarts the task on ({@link #unreachable}), so a task that restarts while its
 * database is still down comes back once it is up again.
 *
 * <p><b>A database that goes silent.</b> A connection whose server stops answering without
 * closing it (a fail-over, a NAT or firewall that drops an idle flow, a power loss) would block
 * a read for ever: no error, so no restart, while the task's status stays RUNNING.
 * {@code jdbc.timeout.ms} bounds every wait for the database: {@link #connect} sets it as the
 * connection's network timeout, so the driver fails the call with a connection error, which the
 * runtime restarts the task on; {@link #abortUnlessDone} aborts a connection whose driver has no
 * such timeout. No query timeout is set: PostgreSQL's driver sends its cancel over a new
 * connection, which a silent network swallows too, and that delayed the network timeout's failure
 * (observed: 12 s instead of 2 s); a statement the server is slow to answer meets the network
 * timeout all the same, as no byte comes back meanwhile.
 *
 * <p>Immutable, so thread-safe.
 *
 * @param connector the connector's name, for error messages
 * @param timeout   {@code jdbc.timeout.ms}: the longest the database may leave a call unanswered
 */
record JdbcSettings(String connector, String url, String user, String password, Dialect dialect, Duration timeout) {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSettings.class);
    /** An example URL for error messages: the embedded H2 database every machine can open. */
    static final String EXAMPLE_URL = "jdbc:h2:./data/connect-h2/db;AUTO_SERVER=TRUE";
    /** Seconds a connection attempt may take before the database counts as unreachable. */
    private static final int LOGIN_TIMEOUT_SECONDS = 10;
    /** Default of {@code jdbc.timeout.ms}: longer than any single statement of a source poll or a sink batch should take. */
    static final long DEFAULT_TIMEOUT_MS = 30_000;
    /**
     * Runs what a driver does when a network timeout fires (closing the connection, for the
     * drivers that use it); daemon threads, created only when needed, shared by every connection.
     */
    private static final ExecutorService NETWORK_TIMEOUT_EXECUTOR = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "jdbc-network-timeout");
        t.setDaemon(true);
        return t;
    });
    /**
     * How many {@code jdbc.timeout.ms} a whole source poll or sink write may take before the task
     * aborts its connection ({@link #abortUnlessDone}). The driver's network timeout ends a call
     * to a silent database after one; this catches a driver that has none (H2's TCP client),
     * while leaving a poll or a write of several statements, each answered in time, room to end.
     */
    static final int UNANSWERED_TIMEOUTS = 4;
    /**
     * Runs the aborts of {@link #abortUnlessDone}: one daemon thread, shared. A cancelled abort
     * leaves the queue at once (a source polling without pause schedules one per poll).
     */
    private static final ScheduledThreadPoolExecutor ABORT_SCHEDULER = abortScheduler();

    private static ScheduledThreadPoolExecutor abortScheduler() {
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "jdbc-abort-unanswered");
            t.setDaemon(true);
            return t;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        return scheduler;
    }

    static JdbcSettings from(ConnectorConfig config) {
        String url = config.string("jdbc.url", "a JDBC URL such as " + EXAMPLE_URL
                + " or jdbc:postgresql://127.0.0.1:5432/test");
        if (!url.startsWith("jdbc:")) {
            throw config.invalid("jdbc.url", url, "a JDBC URL starting with jdbc:, such as " + EXAMPLE_URL);
        }
        return new JdbcSettings(config.name(), url, config.string("jdbc.user", "", "a database user"),
                config.string("jdbc.password", "", "the user's password"), Dialect.of(url),
                // at least a second: shorter would fail healthy statements on a loaded database
                config.millis("jdbc.timeout.ms", DEFAULT_TIMEOUT_MS, 1000, 86_400_000));
    }

    /**
     * A new connection with auto-commit on. An unknown driver or rejected credentials become a
     * {@link ConnectConfigException} naming {@code jdbc.url} or {@code jdbc.user}; an unreachable
     * server ({@link #unreachable}) an {@link SQLTransientConnectionException} naming
     * {@code jdbc.url}, which the runtime retries; any other refusal (an unknown database, a bad
     * URL option) a {@link ConnectConfigException} naming {@code jdbc.url}.
     */
    Connection connect() throws SQLException {
        Properties props = new Properties();
        if (!user.isEmpty()) {
            props.setProperty("user", user);
        }
        if (!password.isEmpty()) {
            props.setProperty("password", password);
        }
        DriverManager.setLoginTimeout(LOGIN_TIMEOUT_SECONDS);
        Connection connection;
        try {
            connection = DriverManager.getConnection(url, props);
        } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            if (state.startsWith("28")) { // SQL state class 28: invalid authorization specification
                throw new ConnectConfigException(connector, "jdbc.user", "jdbc.user: '" + user + "' rejected by " + url + ": "
                        + e.getMessage() + " (expected: a user and jdbc.password the database accepts)", e);
            }
            if (e.getMessage() != null && e.getMessage().startsWith("No suitable driver")) {
                throw new ConnectConfigException(connector, "jdbc.url", "jdbc.url: '" + url
                        + "' has no driver (expected: jdbc:h2:, jdbc:postgresql:, jdbc:mariadb: or a driver on the class path)", e);
            }
            if (unreachable(e)) {
                // not the configuration's fault: the runtime restarts the task until the database is back
                throw new SQLTransientConnectionException("connector '" + connector + "': jdbc.url: '" + url + "' unreachable: "
                        + rootMessage(e) + " (expected: a reachable database; retried)", e.getSQLState(), e);
            }
            throw new ConnectConfigException(connector, "jdbc.url", "jdbc.url: '" + url + "' refused: " + rootMessage(e)
                    + " (expected: a JDBC URL the database accepts)", e);
        }
        try {
            connection.setNetworkTimeout(NETWORK_TIMEOUT_EXECUTOR, (int) timeout.toMillis());
        } catch (SQLFeatureNotSupportedException e) {
            // the sink's bounded wait for its writer (JdbcSinkTask.awaitWrite) still catches a silent database
            LOG.debug("connector '{}': the driver of {} has no network timeout: {}", connector, url, e.getMessage());
        } catch (SQLException | RuntimeException e) {
            try {
                connection.close();
            } catch (SQLException x) {
                e.addSuppressed(x);
            }
            throw e;
        }
        return connection;
    }

    /** {@link #UNANSWERED_TIMEOUTS} x {@code jdbc.timeout.ms}: how long a whole poll or write may take. */
    long unansweredMs() {
        return timeout.toMillis() * UNANSWERED_TIMEOUTS;
    }

    /**
     * Aborts {@code connection} from another thread unless the returned future is cancelled
     * within {@link #unansweredMs}: a call blocked on it then fails (the connection is closed
     * under it), so a database that went silent fails the task even where the driver has no
     * network timeout. Aborting on another thread, as JDBC allows, never blocks the caller on a
     * connection whose calls hold a lock (H2's session).
     *
     * @param what what the connection is busy with, for the log
     */
    ScheduledFuture<?> abortUnlessDone(Connection connection, String what) {
        return ABORT_SCHEDULER.schedule(() -> {
            LOG.warn("connector '{}': {} got no answer from {} in {} ms ({} x jdbc.timeout.ms); aborting the connection",
                    connector, what, url, unansweredMs(), UNANSWERED_TIMEOUTS);
            abortInBackground(connection);
        }, unansweredMs(), TimeUnit.MILLISECONDS);
    }

    /**
     * Aborts {@code connection} on another thread, without waiting: a blocked call on it fails.
     * An abort on the caller's thread could wait for the lock the blocked call holds (H2's session).
     */
    static void abortInBackground(Connection connection) {
        NETWORK_TIMEOUT_EXECUTOR.execute(() -> {
            try {
                connection.abort(NETWORK_TIMEOUT_EXECUTOR);
            } catch (SQLException | RuntimeException e) {
                LOG.debug("abort failed", e);
            }
        });
    }

    /** Whether a failure means the database could not be reached: {@link Retriable#databaseUnreachable}. */
    static boolean unreachable(SQLException e) {
        return Retriable.databaseUnreachable(e);
    }

    /** The innermost cause's message: "Connection refused" rather than the driver's wrapper text. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return m.replace('\n', ' ');
    }
}
