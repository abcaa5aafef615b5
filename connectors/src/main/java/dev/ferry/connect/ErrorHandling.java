package dev.ferry.connect;

import dev.ferry.log.LogMessage;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A connector's {@code errors.*} settings and the error record it sends for a bad record.
 * A bad record ({@link BadRecordException}) either fails the task ({@code errors.tolerance=none},
 * the default) or goes to {@code errors.topic} (default {@code connect-NAME-errors}) with its
 * original body and properties plus {@code connect.error.reason}, {@code connect.connector}
 * and, for sinks, {@code connect.error.topic}, {@code connect.error.queue},
 * {@code connect.error.offset}; the task then continues.
 *
 * <p><b>The error record always fits the limits</b> ({@link RecordLimits}): otherwise the broker
 * would refuse it and the task would stop on the record it wanted to set aside. What does not
 * fit is left out, in this order, and the reason says what ({@code [error record: ...]}):
 * original keys that are invalid, beyond the count or beyond {@link #MAX_KEYS_BYTES}; tags that are too long; original
 * properties beyond the count (the added ones first take their places), too long, or beyond
 * {@link #MAX_PROPERTIES_BYTES} encoded; and, last, the end of the body, beyond
 * {@link RecordLimits#MAX_BODY_BYTES} or when the whole record would not fit the producer's
 * buffer (a source record refused for its size; a sink's message stored by a broker configured
 * for larger bodies, which keeps it in its topic).
 * Immutable.
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
    /** The longest note on what the error record left out, appended to the reason. */
    static final int MAX_NOTE_CHARS = 400;
    /**
     * The most bytes an error record's properties area takes (each property 2 + name + 2 + value
     * bytes, tags and keys included): the broker's default {@code maxPropertiesBytes}
     * ({@code LogConfig}), which the client cannot ask for.
     */
    static final int MAX_PROPERTIES_BYTES = RecordLimits.MAX_PROPERTIES_BYTES;
    /**
     * The most bytes an error record's keys take, joined by spaces: 32 keys of 1,024 bytes would
     * fill the properties area alone, and beside them come the longest reason (2,000 characters),
     * its note, the tags (1,024 bytes) and the added properties.
     */
    static final int MAX_KEYS_BYTES = 16_384;
    /** How many left-out property names the note lists. */
    private static final int NOTE_NAMES = 5;

    enum Tolerance { NONE, ALL }

    static ErrorHandling read(ConnectorConfig config, String name) {
        Tolerance t = config.choice("errors.tolerance", Tolerance.class, Tolerance.NONE);
        String topic = config.string("errors.topic", "connect-" + name + "-errors", "a topic name");
        return new ErrorHandling(t, topic);
    }

    /**
     * The error record for {@code original}: its body, keys, tags and properties, the reason and
     * where it came from, cut down to fit {@code limits} (see the class comment).
     */
    Message errorRecord(String connector, Message original, String reason, boolean fromTopic, RecordLimits limits) {
        List<String> notes = new ArrayList<>();

        List<String> keys = new ArrayList<>();
        int badKeys = 0;
        int tooMany = 0;
        long keysBytes = 0;
        for (String k : original.keys()) {
            if (limits.keyProblem(k) != null) {
                badKeys++;
            } else if (keys.size() < limits.limits().maxKeysPerMessage() && keysBytes + Utf8.length(k) + 1 <= MAX_KEYS_BYTES) {
                keys.add(k);
                keysBytes += Utf8.length(k) + 1;
            } else {
                tooMany++;
            }
        }
        if (badKeys > 0) {
            notes.add("left out " + badKeys + " invalid key(s)");
        }
        if (tooMany > 0) {
            notes.add("left out " + tooMany + " key(s) beyond " + limits.limits().maxKeysPerMessage() + " or "
                    + MAX_KEYS_BYTES + " bytes");
        }
        String tags = original.tags();
        if (!limits.tagsFit(tags)) {
            notes.add("left out the tags (" + Utf8.length(tags) + " bytes)");
            tags = "";
        }

        Map<String, String> added = new LinkedHashMap<>();
        added.put(CONNECTOR, connector);
        if (fromTopic) {
            added.put(ORIGINAL_TOPIC, original.topic());
            added.put(ORIGINAL_QUEUE, Integer.toString(original.queueId()));
            added.put(ORIGINAL_OFFSET, Long.toString(original.queueOffset()));
        }
        // whole code points: half a surrogate pair would make the error record unbuildable, failing the task on the very
        // record it was told to set aside (and a reason quoting cut text from elsewhere is mended)
        String base = Utf8.wellFormed(reason.length() > MAX_REASON_CHARS ? Utf8.prefix(reason, MAX_REASON_CHARS) + "..." : reason);
        // room left for the original's properties: the reason (with the longest note), the added ones, tags and keys
        int slots = limits.limits().maxPropertiesPerMessage()
                - RecordLimits.propertyCount(added.size() + 1, !tags.isEmpty(), !keys.isEmpty());
        long bytes = MAX_PROPERTIES_BYTES - areaBytes(REASON, base) - 3L * MAX_NOTE_CHARS
                - LogMessage.propertiesAreaBytes(tags, keys, Map.of());
        for (Map.Entry<String, String> e : added.entrySet()) {
            bytes -= areaBytes(e.getKey(), e.getValue());
        }
        Map<String, String> props = new LinkedHashMap<>();
        List<String> leftOut = new ArrayList<>();
        for (Map.Entry<String, String> e : original.properties().entrySet()) {
            String name = e.getKey();
            if (name.equals(REASON) || added.containsKey(name)) {
                continue; // replaced by this error record's own (an error record sent to a sink's topics again)
            }
            long size = areaBytes(name, e.getValue());
            if (props.size() < slots && size <= bytes && limits.propertyProblem(name, e.getValue()) == null) {
                props.put(name, e.getValue());
                bytes -= size;
            } else {
                leftOut.add(name);
            }
        }
        if (!leftOut.isEmpty()) {
            notes.add("left out " + leftOut.size() + " of the original's " + original.properties().size()
                    + " properties to fit the limits: " + String.join(", ", names(leftOut)));
        }

        ByteBuffer body = original.body();
        Message.Builder b = Message.builder(topic).keys(keys).tags(tags);
        Map<String, String> withAdded = new LinkedHashMap<>(props);
        withAdded.putAll(added);
        long over = RecordLimits.size(b.properties(withAdded).body(new byte[0]).build()) + body.remaining()
                + RecordLimits.propertySize(REASON, base) + 3L * MAX_NOTE_CHARS - limits.maxRecordBytes();
        over = Math.max(over, body.remaining() - (long) RecordLimits.MAX_BODY_BYTES);
        if (over > 0) {
            int keep = (int) Math.max(0, body.remaining() - over);
            notes.add("body cut to its first " + keep + " of " + body.remaining() + " bytes");
            body.limit(body.position() + keep);
        }
        String note = notes.isEmpty() ? "" : " [error record: " + String.join("; ", notes) + "]";
        if (note.length() > MAX_NOTE_CHARS) {
            note = Utf8.prefix(note, MAX_NOTE_CHARS - 4) + "...]";
        }
        Map<String, String> all = new LinkedHashMap<>(props);
        all.put(REASON, base + note);
        all.putAll(added);
        return b.properties(all).body(body.slice()).build();
    }

    /** What one property takes in the broker's properties area (as the log encodes it). */
    private static long areaBytes(String name, String value) {
        return LogMessage.propertiesAreaBytes(null, List.of(), Map.of(name, value));
    }

    private static List<String> names(List<String> names) {
        List<String> shown = new ArrayList<>();
        for (int i = 0; i < names.size() && i < NOTE_NAMES; i++) {
            shown.add(RecordLimits.shorten(names.get(i)));
        }
        if (names.size() > NOTE_NAMES) {
            shown.add("and " + (names.size() - NOTE_NAMES) + " more");
        }
        return shown;
    }
}
