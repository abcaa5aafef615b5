package dev.ferry.connect;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The connector types a config file may name in its {@code connector} key, and how to make a
 * task of each. One line per type; a type is a source, a sink or a service.
 */
public final class ConnectorTypes {
    /** What a type's tasks are. */
    public enum Kind { SOURCE, SINK, SERVICE }

    /** One connector type. */
    public record Type(String name, Kind kind, Supplier<? extends AutoCloseable> factory, String summary) {}

    private static final Map<String, Type> TYPES = new TreeMap<>();

    static {
        register(new Type("segment-ship", Kind.SERVICE, dev.ferry.connect.ship.SegmentShipTask::new, "copies sealed commit-log segments and indexes to an archive directory or a segment-receive task"));
        register(new Type("segment-receive", Kind.SERVICE, dev.ferry.connect.ship.SegmentReceiveTask::new, "receives segments shipped over a socket into an archive directory"));
        register(new Type("file-source", Kind.SOURCE, dev.ferry.connect.file.FileSourceTask::new,
                "follows a file like tail -F, one message per line or chunk"));
        register(new Type("file-sink", Kind.SINK, dev.ferry.connect.file.FileSinkTask::new,
                "appends message bodies to a file, one per line or raw, rolling by size"));
        register(new Type("jdbc-source", Kind.SOURCE, dev.ferry.connect.jdbc.JdbcSourceTask::new, "polls a table by an increasing id or time stamp, one message per row"));
        register(new Type("jdbc-sink", Kind.SINK, dev.ferry.connect.jdbc.JdbcSinkTask::new, "batched inserts/upserts of JSON messages into a table, exactly-once"));
    }

    private ConnectorTypes() {
    }

    private static void register(Type type) {
        TYPES.put(type.name(), type);
    }

    /** Every known type, by name. */
    public static Map<String, Type> all() {
        return java.util.Collections.unmodifiableMap(TYPES);
    }

    /** The type named in {@code config}'s {@code connector} key; a clear error when unknown. */
    public static Type of(ConnectorConfig config) {
        String name = config.string("connector", "a connector type: one of " + TYPES.keySet());
        Type type = TYPES.get(name);
        if (type == null) {
            throw config.invalid("connector", name, "one of " + TYPES.keySet());
        }
        return type;
    }
}
