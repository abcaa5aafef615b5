package dev.ferry.connect;

import dev.ferry.protocol.Message;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A connector's {@code errors.*} settings and the error record it sends for a bad record.
 * A bad record ({@link BadRecordException}) either fails the task ({@code errors.tolerance=none},
 * the default) or goes to {@code errors.topic} (default {@code connect-NAME-errors}) with its
 * original body and properties plus {@code connect.error.reason}, {@code connect.connector}
 * and, for sinks, {@code connect.error.topic}, {@code connect.error.queue},
 * {@code connect.error.offset}; the task then continues. Immutable.
 *
 * @param tolerance what to do with a bad record
 * @param topic     where bad records go under {@code tolerance=all}
 */
record ErrorHandling(Tolerance tolerance, String topic) {
    /** Property names of an error record. */
    static final String REASON = "connect.error.reason";
    static final String CONNECTOR = "connect.connector";
    static final String ORIGINAL_TOPIC = "connect.error.topic";
    static final String ORIGINAL_QUEUE = "connect.error.queue";
    static final String ORIGINAL_OFFSET = "connect.error.offset";
    /** A reason longer than this is cut: property values are limited on the wire (32 KiB by default). */
    static final int MAX_REASON_CHARS = 2_000;

    enum Tolerance { NONE, ALL }

    static ErrorHandling read(ConnectorConfig config, String name) {
        Tolerance t = config.choice("errors.tolerance", Tolerance.class, Tolerance.NONE);
        String topic = config.string("errors.topic", "connect-" + name + "-errors", "a topic name");
        return new ErrorHandling(t, topic);
    }

    /** The error record for {@code original}: its body and properties, and where it came from. */
    Message errorRecord(String connector, Message original, String reason, boolean fromTopic) {
        Map<String, String> props = new LinkedHashMap<>(original.properties());
        props.put(REASON, reason.length() > MAX_REASON_CHARS ? reason.substring(0, MAX_REASON_CHARS) + "..." : reason);
        props.put(CONNECTOR, connector);
        if (fromTopic) {
            props.put(ORIGINAL_TOPIC, original.topic());
            props.put(ORIGINAL_QUEUE, Integer.toString(original.queueId()));
            props.put(ORIGINAL_OFFSET, Long.toString(original.queueOffset()));
        }
        return Message.builder(topic).keys(original.keys()).tags(original.tags()).properties(props).body(original.body()).build();
    }
}
