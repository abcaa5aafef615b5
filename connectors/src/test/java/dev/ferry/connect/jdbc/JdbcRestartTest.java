package dev.ferry.connect.jdbc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.StartPosition;
import dev.ferry.connect.Await;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.Configs;
import dev.ferry.connect.RuntimeTestCase;
import dev.ferry.connect.TaskState;
import dev.ferry.protocol.Message;
import java.net.ServerSocket;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;

/**
 * A database that is down is a reason to restart a JDBC task, not a configuration error: a
 * source whose database stays down past its first restart comes back once the database is up
 * (a real H2 TCP server, stopped and started again). {@link JdbcConfigTest} checks that a wrong
 * setting still fails for good.
 */
class JdbcRestartTest extends RuntimeTestCase {
    private static Server h2(int port) throws SQLException {
        return Server.createTcpServer("-tcpPort", Integer.toString(port), "-ifNotExists").start();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void aSourceWhoseDatabaseIsStillDownAtItsRestartComesBackWhenItIsUp() throws Exception {
        int port = freePort();
        String url = "jdbc:h2:tcp://127.0.0.1:" + port + "/" + dir.resolve("h2").toAbsolutePath() + "/db";
        Server server = h2(port);
        try {
            Target.exec(url, "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(10))", "INSERT INTO t VALUES (1, 'before')");
            try (ConnectRuntime rt = start(Configs.of("name", "src", "connector", "jdbc-source", "jdbc.url", url, "table", "t",
                    "topic", "lines", "incrementing.column", "id", "poll.interval.ms", "50", "commit.interval.ms", "50"))) {
                Await.until("row 1 sent", Duration.ofSeconds(15), () -> status(rt, "src").recordsOut() == 1, () -> rt.status());
                server.stop(); // the poll's connection breaks: the task fails and restarts, into a database still down
                Await.until("the restart to find the database unreachable and to be retried", Duration.ofSeconds(20),
                        () -> status(rt, "src").state() == TaskState.FAILED
                                && status(rt, "src").reason().matches(".*unreachable.* \\(restarting in \\d+ s\\)"),
                        () -> rt.status());
                server = h2(port);
                Target.exec(url, "INSERT INTO t VALUES (2, 'after')");
                List<String> bodies = new ArrayList<>();
                try (Consumer c = client.consumer(ConsumerConfig.builder("lines", "check").startFrom(StartPosition.EARLIEST)
                        .build())) {
                    Await.until("the task running again and row 2 sent", Duration.ofSeconds(60), () -> {
                        for (Message m : c.poll(Duration.ofMillis(100))) {
                            bodies.add(UTF_8.decode(m.body()).toString());
                        }
                        return status(rt, "src").state() == TaskState.RUNNING && bodies.stream().anyMatch(b -> b.contains("after"));
                    }, () -> rt.status() + "; received " + bodies);
                }
                assertThat(bodies).as("row 1 before the outage, row 2 after it").anyMatch(b -> b.contains("before"));
            }
        } finally {
            server.stop();
        }
    }
}
