package dev.ferry.connect;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * What the runtime hands a task when it starts: its configuration, its last committed
 * position, a place for local state, and the runtime's clock.
 */
public interface TaskContext {
    /** The connector's settings. */
    ConnectorConfig config();

    /**
     * The position committed last time (for a source: the {@link SourceRecord#position()} of
     * the last record the broker acknowledged), or an empty map on the first start.
     */
    Map<String, String> committedPosition();

    /** A directory this task may keep files in; it survives restarts. */
    Path stateDir();

    /** Time, injected so tests can move it. */
    Clock clock();

    /** The broker address ({@code host:port}) the runtime talks to. */
    String server();
}
