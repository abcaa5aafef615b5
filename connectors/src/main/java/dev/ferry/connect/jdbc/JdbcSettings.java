package dev.ferry.connect.jdbc;

import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.Retriable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Properties;

/**
 * Where the database is and how to log in: {@code jdbc.url}, {@code jdbc.user},
 * {@code jdbc.password}, shared by the JDBC source and sink. {@link #connect} opens a connection
 * or fails with a {@link ConnectConfigException} that names the field at fault, so a wrong URL
 * or rejected credentials are reported when the task starts, before anything runs. An
 * unreachable server is not a configuration error: it fails with an {@link SQLException}, which
 * the runtime restarts the task on ({@link #unreachable}), so a task that restarts while its
 * database is still down comes back once it is up again.
 *
 * <p>Immutable, so thread-safe.
 *
 * @param connector the connector's name, for error messages
 */
record JdbcSettings(String connector, String url, String user, String password, Dialect dialect) {
    /** An example URL for error messages: the embedded H2 database every machine can open. */
    static final String EXAMPLE_URL = "jdbc:h2:./data/connect-h2/db;AUTO_SERVER=TRUE";
    /** Seconds a connection attempt may take before the database counts as unreachable. */
    private static final int LOGIN_TIMEOUT_SECONDS = 10;

    static JdbcSettings from(ConnectorConfig config) {
        String url = config.string("jdbc.url", "a JDBC URL such as " + EXAMPLE_URL
                + " or jdbc:postgresql://127.0.0.1:5432/test");
        if (!url.startsWith("jdbc:")) {
            throw config.invalid("jdbc.url", url, "a JDBC URL starting with jdbc:, such as " + EXAMPLE_URL);
        }
        return new JdbcSettings(config.name(), url, config.string("jdbc.user", "", "a database user"),
                config.string("jdbc.password", "", "the user's password"), Dialect.of(url));
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
        try {
            return DriverManager.getConnection(url, props);
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
