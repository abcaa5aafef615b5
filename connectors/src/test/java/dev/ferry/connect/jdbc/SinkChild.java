package dev.ferry.connect.jdbc;

import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.RuntimeOptions;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A child JVM that runs a {@code jdbc-sink} connector in the connector runtime, as
 * {@code bin/ferry connect} does, until it is killed, so a test can kill it with SIGKILL at any
 * moment. Arguments: server topic jdbcUrl table connectorName mode batchRows stateDir.
 */
final class SinkChild {
    private SinkChild() {
    }

    public static void main(String[] args) throws Exception {
        String name = args[4];
        Map<String, String> settings = new HashMap<>(Map.of("name", name, "connector", "jdbc-sink", "jdbc.url", args[2],
                "table", args[3], "topics", args[1], "mode", args[5], "batch.rows", args[6]));
        if (args[5].equals("upsert")) {
            settings.put("key.columns", "k");
        }
        ConnectRuntime runtime = ConnectRuntime.create(List.of(new ConnectorConfig(settings)),
                RuntimeOptions.of(args[0], Path.of(args[7])));
        runtime.start();
        Thread.currentThread().join(); // runs until killed
    }
}
