package dev.ferry.connect.jdbc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * A database the JDBC tests run against: embedded H2 (always there), the PostgreSQL and
 * MariaDB servers of the machine (the test is skipped, with the reason, when 127.0.0.1 does
 * not answer on their port), and a throwaway PostgreSQL from Testcontainers (skipped when no
 * Docker engine is found).
 */
enum Target {
    H2,
    POSTGRESQL,
    MARIADB,
    POSTGRESQL_TESTCONTAINERS;

    /** A started Testcontainers PostgreSQL, shared by the tests of one JVM; stopped by Ryuk/JVM exit. */
    private static PostgreSQLContainer container;
    /** The H2 TCP server of this JVM, started on first use; a daemon, gone with the JVM. */
    private static org.h2.tools.Server h2Server;

    /** The JDBC URL to use, or an aborted (skipped) test when this target is not available here. */
    String url(Path tempDir) {
        return switch (this) {
            case H2 -> h2Url(tempDir);
            case POSTGRESQL -> {
                assumeListening(5432, "PostgreSQL");
                yield "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
            }
            case MARIADB -> {
                assumeListening(3306, "MariaDB");
                yield "jdbc:mariadb://127.0.0.1:3306/test?user=root";
            }
            case POSTGRESQL_TESTCONTAINERS -> {
                boolean docker;
                try {
                    docker = DockerClientFactory.instance().isDockerAvailable();
                } catch (RuntimeException | LinkageError e) {
                    docker = false;
                }
                yield containerUrl(docker);
            }
        };
    }

    /**
     * An H2 file database in {@code tempDir}, served by an H2 TCP server in this JVM, so child
     * JVMs and the test reach it at once, and a killed child's open transaction is rolled back
     * by the server as PostgreSQL would (embedded H2 in two processes would fight over the file
     * lock after a SIGKILL).
     */
    private static synchronized String h2Url(Path tempDir) {
        if (h2Server == null) {
            try {
                h2Server = org.h2.tools.Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
            } catch (SQLException e) {
                throw new IllegalStateException("H2 TCP server: " + e.getMessage(), e);
            }
        }
        return "jdbc:h2:tcp://127.0.0.1:" + h2Server.getPort() + "/" + tempDir.resolve("h2").toAbsolutePath() + "/db";
    }

    private static synchronized String containerUrl(boolean docker) {
        if (!docker) {
            Assumptions.abort("no Docker engine found: Testcontainers PostgreSQL skipped");
        }
        if (container == null) {
            container = new PostgreSQLContainer("postgres:16-alpine");
            container.start();
        }
        return container.getJdbcUrl() + "&user=" + container.getUsername() + "&password=" + container.getPassword();
    }

    private static void assumeListening(int port, String what) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        } catch (IOException e) {
            Assumptions.abort(what + " is not reachable on 127.0.0.1:" + port + " (" + e.getMessage() + "): test skipped");
        }
    }

    /** Runs statements on a fresh connection (auto-commit). */
    static void exec(String url, String... sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }

    /** Drops a test's table and its connector's positions; cleanup failures must not hide the test's own. */
    static void dropQuietly(String url, String table, String connector) {
        try {
            // made as the sink makes it (with its key) if no test made it yet: one made here without the key once
            // stayed in the shared databases, and every later sink wrote into a table that takes duplicate positions
            exec(url, "DROP TABLE IF EXISTS " + table,
                    new SinkOffsetsTable(SinkOffsetsTable.DEFAULT_NAME, Dialect.of(url)).createSql(),
                    "DELETE FROM " + SinkOffsetsTable.DEFAULT_NAME + " WHERE connector = '" + connector + "'");
        } catch (SQLException e) {
            System.err.println("cleanup of " + table + " failed: " + e);
        }
    }

    /** The first column of the first row of {@code sql}, as a long. */
    static long queryLong(String url, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The first column of every row of {@code sql}, as strings. */
    static java.util.List<String> strings(String url, String sql) throws SQLException {
        java.util.List<String> out = new java.util.ArrayList<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** A table name no other run uses, so runs against a shared server never see each other's rows. */
    static String uniqueTable(String prefix) {
        return prefix + "_" + Long.toString(System.nanoTime(), 36) + "_" + (int) (Math.random() * 1000);
    }
}
