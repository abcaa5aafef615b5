package dev.ferry.connect.jdbc;

import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.TaskContext;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/** A {@link TaskContext} for driving a task without the runtime. Immutable. */
record TestContext(ConnectorConfig config, Map<String, String> committedPosition, Path stateDir, Clock clock, String server)
        implements TaskContext {
    static TestContext of(Map<String, String> settings) {
        return of(settings, Map.of());
    }

    static TestContext of(Map<String, String> settings, Map<String, String> position) {
        return new TestContext(new ConnectorConfig(settings), position, Path.of("."), Clock.systemUTC(), "127.0.0.1:9876");
    }
}
