package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToLongBiFunction;

/**
 * Queue floors: per (topic, queue), an offset below which the store serves nothing although the
 * records may still be on disk. A topic deleted and created again keeps its offset indexes and
 * records until retention removes them, and continues its offsets; its floors, set at the new
 * creation to each queue's end ({@link MessageStore#startQueuesAtEnd}), make the new topic start
 * empty there: every read path of the store takes the greater of a queue's first indexed offset
 * and its floor as the queue's first offset, so a read below it is {@link OffsetOutOfRangeException},
 * exactly as for records retention deleted. (Queue offsets, per queue: nothing to do with the
 * retention floor of {@link MessageStore#open(LogConfig, java.util.function.LongSupplier, String)},
 * a commit-log position.)
 *
 * <p><b>File {@code DIR/queue-floors}.</b> UTF-8 text, lines ending in LF. A line starting with
 * {@code #} is a comment; every other line is one queue's floor, three fields separated by one
 * space:
 *
 * <pre>
 * # Ferry queue floors: TOPIC QUEUE_ID FIRST_OFFSET
 * orders 0 1200
 * orders 1 1187
 * </pre>
 *
 * TOPIC is the topic's name (the store's topic names hold no space), QUEUE_ID and FIRST_OFFSET are
 * decimal. A missing file means no floors. The file is written as a whole: to {@code
 * queue-floors.tmp}, forced, renamed over the old one, and the folder forced, so it is always the
 * old or the new set, and a floor is on disk when {@link #replace} returns.
 *
 * <p><b>Small.</b> Only queues with records below their new start get a line; a floor that
 * retention's first offset reached is dropped (after a retention pass that deleted something, and
 * at open); a topic created again replaces its lines.
 *
 * <p><b>Thread safety.</b> Changes are synchronized (they are rare: a topic's re-creation, a
 * retention pass); readers read an immutable snapshot without a lock.
 */
final class QueueFloors {
    static final String FILE = "queue-floors";
    private static final String HEADER = "# Ferry queue floors: TOPIC QUEUE_ID FIRST_OFFSET\n";

    private final Path dir;
    /** Topic to queue id to floor; immutable, replaced on every change. */
    private volatile Map<String, Map<Integer, Long>> floors;

    private QueueFloors(Path dir, Map<String, Map<Integer, Long>> floors) {
        this.dir = dir;
        this.floors = floors;
    }

    /** The floors in {@code dir}'s file; none if there is no file. */
    static QueueFloors read(Path dir) {
        Path path = dir.resolve(FILE);
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return new QueueFloors(dir, Map.of());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e, e);
        }
        Map<String, Map<Integer, Long>> out = new TreeMap<>();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split(" ", -1);
            try {
                if (f.length != 3 || f[0].isEmpty()) {
                    throw new NumberFormatException("expected 3 fields");
                }
                int queueId = Integer.parseInt(f[1]);
                long floor = Long.parseLong(f[2]);
                if (queueId < 0 || floor < 0) {
                    throw new NumberFormatException("negative");
                }
                out.computeIfAbsent(f[0], t -> new TreeMap<>()).put(queueId, floor);
            } catch (NumberFormatException e) {
                throw new LogException(path + " line " + lineNo + ": '" + line + "' (expected: TOPIC QUEUE_ID FIRST_OFFSET)");
            }
        }
        return new QueueFloors(dir, freeze(out));
    }

    /** The floor of {@code topic}/{@code queueId}: 0 if it has none. */
    long of(String topic, int queueId) {
        Map<Integer, Long> f = floors.isEmpty() ? null : floors.get(topic);
        if (f == null) {
            return 0;
        }
        Long floor = f.get(queueId);
        return floor == null ? 0 : floor;
    }

    /** Every floor, topic to queue id to floor (a snapshot). */
    Map<String, Map<Integer, Long>> all() {
        return floors;
    }

    /**
     * Replaces {@code topic}'s floors with {@code topicFloors} (empty: removes them); on disk when
     * this returns. A failed write changes nothing, in memory either.
     */
    synchronized void replace(String topic, Map<Integer, Long> topicFloors) {
        Map<String, Map<Integer, Long>> next = new TreeMap<>(floors);
        if (topicFloors.isEmpty()) {
            next.remove(topic);
        } else {
            next.put(topic, topicFloors);
        }
        if (!next.equals(floors)) {
            write(next);
            floors = freeze(next);
        }
    }

    /**
     * Drops the floors that no longer hide anything, and lowers the ones above their queue's end;
     * returns true if one was lowered. {@code firstIndexed} and {@code end} give a queue's first
     * indexed offset and next offset, or -1 for a queue the store has no index of. A floor at or
     * below the first indexed offset hides nothing any more (retention got there). A floor above
     * the end can only follow a machine crash that lost the deleted topic's last records, which
     * the floor was written after: the offsets between are given again to new records, which must
     * not be hidden; the records below the end are all old ones, so the floor goes to the end.
     * The file is written if anything changed; a lowered floor must be on disk before anything is
     * appended (an old, higher one read at the next open would hide new records), so a write that
     * fails throws then, while one that only drops floors is left for the next change if it fails
     * (a floor that hides nothing harms nobody).
     */
    synchronized boolean dropPassed(ToLongBiFunction<String, Integer> firstIndexed, ToLongBiFunction<String, Integer> end) {
        Map<String, Map<Integer, Long>> next = new TreeMap<>();
        boolean lowered = false;
        for (Map.Entry<String, Map<Integer, Long>> t : floors.entrySet()) {
            Map<Integer, Long> kept = new TreeMap<>();
            for (Map.Entry<Integer, Long> q : t.getValue().entrySet()) {
                long first = firstIndexed.applyAsLong(t.getKey(), q.getKey());
                if (first < 0) {
                    continue; // no index: nothing to hide
                }
                long queueEnd = end.applyAsLong(t.getKey(), q.getKey());
                long floor = q.getValue();
                if (floor > queueEnd) {
                    floor = queueEnd;
                    lowered = true;
                }
                if (floor > first) {
                    kept.put(q.getKey(), floor);
                }
            }
            if (!kept.isEmpty()) {
                next.put(t.getKey(), kept);
            }
        }
        if (next.equals(floors)) {
            return false;
        }
        try {
            write(next);
        } catch (UncheckedIOException e) {
            if (lowered) {
                throw e;
            }
        }
        floors = freeze(next);
        return lowered;
    }

    private void write(Map<String, Map<Integer, Long>> all) {
        StringBuilder text = new StringBuilder(HEADER);
        new TreeMap<>(all).forEach((topic, qs) -> new TreeMap<>(qs).forEach((q, floor) ->
                text.append(topic).append(' ').append(q).append(' ').append(floor).append('\n')));
        FileNames.replaceAtomically(dir, FILE, ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static Map<String, Map<Integer, Long>> freeze(Map<String, Map<Integer, Long>> m) {
        Map<String, Map<Integer, Long>> out = new HashMap<>();
        m.forEach((t, qs) -> out.put(t, Map.copyOf(qs)));
        return Map.copyOf(out);
    }
}
