package dev.ferry.connect.jdbc;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.protocol.Message;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A child JVM that runs a {@link JdbcSinkTask} the way the runtime does (consume from the
 * sink's stored positions, put each fetched batch, flush), forever, so a test can kill it with
 * SIGKILL at any moment. Arguments: server topic jdbcUrl table connectorName mode batchRows.
 */
final class SinkChild {
    private SinkChild() {
    }

    public static void main(String[] args) throws Exception {
        String server = args[0];
        String topic = args[1];
        String name = args[4];
        Map<String, String> settings = new java.util.HashMap<>(Map.of("name", name, "connector", "jdbc-sink", "jdbc.url", args[2],
                "table", args[3], "mode", args[5], "batch.rows", args[6]));
        if (args[5].equals("upsert")) {
            settings.put("key.columns", "k");
        }
        JdbcSinkTask task = new JdbcSinkTask();
        task.start(TestContext.of(settings));
        try (FerryClient client = FerryClient.connect(ClientConfig.builder().server(server).build());
             Consumer consumer = client.consumer(ConsumerConfig.builder(topic, "connect-" + name).autoCommit(false).maxWaitMs(200)
                     .build())) {
            for (Map.Entry<Integer, Long> e : task.storedPositions(topic).entrySet()) {
                consumer.seek(e.getKey(), e.getValue());
            }
            while (true) {
                List<Message> batch = consumer.poll(Duration.ofMillis(500));
                if (!batch.isEmpty()) {
                    task.put(batch);
                    task.flush();
                }
            }
        }
    }
}
