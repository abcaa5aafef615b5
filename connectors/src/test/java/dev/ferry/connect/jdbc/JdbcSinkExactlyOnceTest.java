package dev.ferry.connect.jdbc;

import dev.ferry.connect.BrokerFixture;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The JDBC sink runs in the connector runtime in a child JVM (as {@code bin/ferry connect} runs it), is killed with SIGKILL while it writes, and is started
 * again: every message is in the table exactly once, in an append-only table without any key
 * (mode=insert), so a replayed row would show as a duplicate. What makes it hold is the
 * position written in the same transaction as the rows.
 */
class JdbcSinkExactlyOnceTest {
    /** Messages per run: H2 over its TCP protocol writes a batch row by row, so it gets fewer to stay well inside 40 s. */
    private static int messages(Target target) {
        return target == Target.H2 ? 100_000 : 200_000;
    }
    private static final int QUEUES = 4;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "POSTGRESQL_TESTCONTAINERS"})
    void everyMessageExactlyOnceAcrossKill9(Target target) throws Exception {
        long started = System.nanoTime();
        int total = messages(target);
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_eo");
        String connector = table + "_conn";
        String topic = "rows";
        Target.exec(url, "CREATE TABLE " + table + " (k VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, payload VARCHAR(200))");
        try (BrokerFixture broker = BrokerFixture.start(tmp.resolve("broker")); FerryClient client = broker.client()) {
            client.createTopic(topic, QUEUES);
            try (Producer producer = client.producer()) {
                for (int i = 0; i < total; i++) {
                    String key = "key-" + i;
                    byte[] body = ("{\"k\":\"" + key + "\",\"seq\":" + i + ",\"payload\":\"row " + i + " of the exactly-once test\"}")
                            .getBytes(StandardCharsets.UTF_8);
                    producer.sendAsync(Message.builder(topic).keys(List.of(key)).body(body).build(), key);
                }
                producer.flush();
            }
            long produced = System.nanoTime();
            String count = "SELECT COUNT(*) FROM " + table;
            Path log = tmp.resolve("child.log");
            Process first = startChild(broker.server(), topic, url, table, connector, log);
            try {
                await(Duration.ofSeconds(30), () -> query(url, count), total / 3, "a third of the rows written", log);
            } finally {
                first.destroyForcibly(); // SIGKILL: no flush, no rollback, no close
                assertThat(first.waitFor(10, TimeUnit.SECONDS)).as("killed child exits").isTrue();
            }
            long atKill = query(url, count);
            long killed = System.nanoTime();
            String stored = "SELECT COALESCE(SUM(next_offset), 0) FROM ferry_connect_offsets WHERE connector = '" + connector + "'";
            assertThat(atKill).as("rows at the kill").isLessThan(total);
            Process second = startChild(broker.server(), topic, url, table, connector, log);
            try {
                await(Duration.ofSeconds(30), () -> query(url, stored), total, "every position stored", log);
            } finally {
                second.destroyForcibly();
                assertThat(second.waitFor(10, TimeUnit.SECONDS)).isTrue();
            }
            System.out.printf("%s: produced %d in %d ms, killed at %d rows after %d ms, done %d ms later%n", target, total,
                    (produced - started) / 1_000_000, atKill, (killed - produced) / 1_000_000, (System.nanoTime() - killed) / 1_000_000);
            assertThat(query(url, stored)).as("sum of stored next offsets").isEqualTo(total);
            assertThat(query(url, count)).as("rows (killed after %d)", atKill).isEqualTo(total);
            assertThat(query(url, "SELECT COUNT(DISTINCT k) FROM " + table)).as("distinct keys").isEqualTo(total);
            assertThat(query(url, "SELECT COUNT(DISTINCT seq) FROM " + table)).as("distinct seq").isEqualTo(total);
        } finally {
            Target.dropQuietly(url, table, connector);
        }
    }

    private static Process startChild(String server, String topic, String url, String table, String connector, Path log)
            throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), SinkChild.class.getName(),
                server, topic, url, table, connector, "insert", "2000", log.resolveSibling(connector + "-state").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static long query(String url, String sql) {
        try {
            return Target.queryLong(url, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /**
     * Polls {@code progress} every 50 ms until it reaches {@code target}; fails (with the child's
     * log) once it has not moved for {@code stall}. Not a deadline for the whole: on a loaded
     * machine (CI beside three other builds) the second run of PostgreSQL's 200,000 rows took over 30 s.
     */
    private static void await(Duration stall, LongSupplier progress, long target, String what, Path log) throws Exception {
        long last = -1;
        long movedAt = System.nanoTime();
        Object tick = new Object();
        for (long now = progress.getAsLong(); now < target; now = progress.getAsLong()) {
            if (now != last) {
                last = now;
                movedAt = System.nanoTime();
            } else if (System.nanoTime() - movedAt > stall.toNanos()) {
                String out = Files.exists(log) ? Files.readString(log) : "";
                throw new AssertionError("no progress for " + stall + " at " + now + " waiting for " + what + " (" + target
                        + "); child output:\n" + out.substring(Math.max(0, out.length() - 4000)));
            }
            synchronized (tick) {
                tick.wait(50);
            }
        }
    }
}
