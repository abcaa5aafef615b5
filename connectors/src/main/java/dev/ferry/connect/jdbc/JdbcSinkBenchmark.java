package dev.ferry.connect.jdbc;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Not a test: how fast the JDBC sink drains a topic into a table, beside a plain JDBC loop
 * ({@code addBatch}/{@code executeBatch}, one commit per batch) writing the same rows with the
 * same batch and transaction size, in the same run. The sink's figure includes fetching from the
 * broker, JSON parsing and the offsets-table write per transaction; the ratio says what those cost.
 *
 * <pre>
 * bin/ferry broker --data /tmp/bench-broker --port 9911 &amp;
 * java -cp "connectors/target/classes:$(cat connectors/target/classpath.txt)" dev.ferry.connect.jdbc.JdbcSinkBenchmark \
 *     --server 127.0.0.1:9911 --jdbc-url 'jdbc:postgresql://127.0.0.1:5432/test?user=postgres' --rows 200000 --batch-rows 1000
 * </pre>
 *
 * The benchmark drives the sink from one thread, as the runtime does; the sink writes full
 * buffers on its own writer thread (see {@link JdbcSinkTask}). Run it alone on the machine.
 */
public final class JdbcSinkBenchmark {
    private JdbcSinkBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>(Map.of("--server", "127.0.0.1:9876",
                "--jdbc-url", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres", "--rows", "200000", "--batch-rows", "1000",
                "--queues", "4", "--rounds", "3"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!a.containsKey(args[i])) {
                throw new IllegalArgumentException(args[i] + ": unknown option (expected: one of " + a.keySet() + ")");
            }
            a.put(args[i], args[i + 1]);
        }
        String url = a.get("--jdbc-url");
        int rows = Integer.parseInt(a.get("--rows"));
        int batch = Integer.parseInt(a.get("--batch-rows"));
        String run = Long.toString(System.currentTimeMillis(), 36);
        String topic = "bench-jdbc-" + run;
        String sinkTable = "bench_sink_" + run;
        String plainTable = "bench_plain_" + run;
        String ddl = " (k VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, payload VARCHAR(200))";
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + sinkTable + ddl);
            s.execute("CREATE TABLE " + plainTable + ddl);
        }
        try (FerryClient client = FerryClient.connect(ClientConfig.builder().server(a.get("--server")).build())) {
            client.createTopic(topic, Integer.parseInt(a.get("--queues")));
            try (Producer producer = client.producer()) {
                for (int i = 0; i < rows; i++) {
                    producer.sendAsync(Message.builder(topic).keys(List.of(key(i))).body(body(i)).build(), key(i));
                }
                producer.flush();
            }
            System.out.printf("pre-loaded %,d messages into %s%n", rows, topic);

            int rounds = Integer.parseInt(a.get("--rounds"));
            List<Double> ratios = new java.util.ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                // the sink, driven as the runtime drives it: poll, put, flush (commit) per fetched batch
                Map<String, String> settings = Map.of("name", "bench-" + run + "-" + round, "connector", "jdbc-sink", "jdbc.url", url,
                        "table", sinkTable, "batch.rows", Integer.toString(batch));
                TaskContext context = new BenchContext(new ConnectorConfig(settings), a.get("--server"));
                long sinkNanos;
                try (JdbcSinkTask task = new JdbcSinkTask();
                     Consumer consumer = client.consumer(ConsumerConfig.builder(topic, "bench-" + run + "-" + round).autoCommit(false).build())) {
                    task.start(context);
                    long start = System.nanoTime();
                    long put = 0;
                    long pollNanos = 0;
                    while (put < rows) {
                        long t0 = System.nanoTime();
                        List<Message> ms = consumer.poll(Duration.ofSeconds(5));
                        pollNanos += System.nanoTime() - t0;
                        if (ms.isEmpty()) {
                            throw new IllegalStateException("no messages for 5 s after " + put);
                        }
                        task.put(ms);
                        put += ms.size();
                    }
                    task.flush();
                    sinkNanos = System.nanoTime() - start;
                    System.out.printf("sink: %,d ms of it waiting in poll for fetched messages%n", pollNanos / 1_000_000);
                }

                // the plain loop: the same rows, prepared in memory, batch and commit every `batch` rows
                long plainNanos;
                try (Connection c = DriverManager.getConnection(url);
                     PreparedStatement ps = c.prepareStatement("INSERT INTO " + plainTable + " (k, seq, payload) VALUES (?, ?, ?)")) {
                    c.setAutoCommit(false);
                    long start = System.nanoTime();
                    for (int i = 0; i < rows; i++) {
                        ps.setString(1, key(i));
                        ps.setLong(2, i);
                        ps.setString(3, payload(i));
                        ps.addBatch();
                        if ((i + 1) % batch == 0 || i + 1 == rows) {
                            ps.executeBatch();
                            c.commit();
                        }
                    }
                    plainNanos = System.nanoTime() - start;
                }
                double sinkRate = rows / (sinkNanos / 1e9);
                double plainRate = rows / (plainNanos / 1e9);
                System.out.printf("jdbc-sink   %,d rows in %,d ms: %,.0f rows/s (batch.rows %d)%n", rows, sinkNanos / 1_000_000, sinkRate, batch);
                System.out.printf("plain JDBC  %,d rows in %,d ms: %,.0f rows/s (executeBatch + commit every %d rows)%n", rows,
                        plainNanos / 1_000_000, plainRate, batch);
                System.out.printf("round %d ratio sink/plain: %.2f%n", round, sinkRate / plainRate);
                ratios.add(sinkRate / plainRate);
                if (round < rounds) {
                    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                        s.execute("DELETE FROM " + sinkTable);
                        s.execute("DELETE FROM " + plainTable);
                    }
                }
            }
            ratios.sort(null);
            System.out.printf("median ratio sink/plain over %d rounds: %.2f (all: %s)%n", rounds, ratios.get(ratios.size() / 2), ratios);
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                 var rs = s.executeQuery("SELECT COUNT(*) FROM " + sinkTable)) {
                rs.next();
                System.out.printf("rows in %s after the last round: %,d%n", sinkTable, rs.getLong(1));
            }
            client.deleteTopic(topic);
        } finally {
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("DROP TABLE IF EXISTS " + sinkTable);
                s.execute("DROP TABLE IF EXISTS " + plainTable);
                s.execute("DELETE FROM " + SinkOffsetsTable.DEFAULT_NAME + " WHERE connector LIKE 'bench-" + run + "-%'");
            }
        }
    }

    private static String key(int i) {
        return "key-" + i;
    }

    private static String payload(int i) {
        return "row " + i + " of the jdbc sink benchmark";
    }

    private static byte[] body(int i) {
        return ("{\"k\":\"" + key(i) + "\",\"seq\":" + i + ",\"payload\":\"" + payload(i) + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    private record BenchContext(ConnectorConfig config, String server) implements TaskContext {
        @Override
        public Map<String, String> committedPosition() {
            return Map.of();
        }

        @Override
        public Path stateDir() {
            return Path.of(".");
        }

        @Override
        public Clock clock() {
            return Clock.systemUTC();
        }
    }
}
