package dev.ferry.broker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Committed consumer offsets per (group, topic, queue): in memory, written to
 * {@code DATA/offsets.properties} ({@code GROUP/TOPIC/QUEUE=OFFSET}) every
 * {@code offsetFlushIntervalMs} when something changed, and at close. A crash can lose the
 * commits of the last interval, which makes consumers re-read a little (at-least-once), never
 * skip.
 *
 * <p><b>Thread safety.</b> Commits and reads go to a concurrent map; {@link #flush} is
 * synchronized and may run beside them (it writes a snapshot).
 */
final class OffsetStore {
    private final PropertiesFile file;
    private final ConcurrentHashMap<String, Long> offsets = new ConcurrentHashMap<>();
    /** Set by commits, cleared by flush; volatile so the flusher thread sees commits. */
    private volatile boolean dirty;

    OffsetStore(Path dataDir) {
        this.file = new PropertiesFile(dataDir.resolve("offsets.properties"));
        file.read().forEach((k, v) -> offsets.put(k, file.number("committed offset of " + k, v, 0, Long.MAX_VALUE)));
    }

    void commit(String group, String topic, int queueId, long offset) {
        offsets.put(key(group, topic, queueId), offset);
        dirty = true;
    }

    OptionalLong committed(String group, String topic, int queueId) {
        Long v = offsets.get(key(group, topic, queueId));
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** Committed offsets of {@code group}, keyed "topic/queue". */
    Map<String, Long> ofGroup(String group) {
        Map<String, Long> out = new TreeMap<>();
        String prefix = group + "/";
        offsets.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    /**
     * A snapshot of every committed offset. Keys split safely at '/': group and topic names
     * cannot contain one (they are checked against the broker's name pattern).
     */
    List<CommittedOffset> all() {
        List<CommittedOffset> out = new ArrayList<>(offsets.size());
        offsets.forEach((k, v) -> {
            int a = k.indexOf('/');
            int b = k.lastIndexOf('/');
            if (a > 0 && b > a) {
                try {
                    out.add(new CommittedOffset(k.substring(0, a), k.substring(a + 1, b), Integer.parseInt(k.substring(b + 1)), v));
                } catch (NumberFormatException e) {
                    // a hand-edited offsets file: not a (group, topic, queue) key, nothing to report
                }
            }
        });
        return out;
    }

    /**
     * Forgets every committed offset of {@code group}, and of its broadcasting members
     * ({@code GROUP%CLIENT_ID}); true if there was any.
     */
    boolean forgetGroup(String group) {
        boolean removed = offsets.keySet().removeIf(k -> k.startsWith(group + "/") || k.startsWith(group + "%"));
        if (removed) {
            dirty = true;
        }
        return removed;
    }

    /**
     * Forgets the committed offsets of exactly {@code groups}, in one pass; true if there was any.
     * For broadcasting members' positions ({@code GROUP%CLIENT_ID}): {@link #forgetGroup} of such a
     * name would also take those of any name it begins, {@code GROUP%CLIENT_ID%...}, which a
     * COMMIT_OFFSET may have stored for someone else.
     */
    boolean forgetExactly(Set<String> groups) {
        boolean removed = offsets.keySet().removeIf(k -> k.indexOf('/') > 0 && groups.contains(k.substring(0, k.indexOf('/'))));
        if (removed) {
            dirty = true;
        }
        return removed;
    }

    /** Forgets every committed offset of {@code topic} (topic deleted). */
    void forgetTopic(String topic) {
        offsets.keySet().removeIf(k -> k.contains("/" + topic + "/") && k.indexOf('/') == k.indexOf("/" + topic + "/"));
        dirty = true;
    }

    synchronized void flush() {
        if (!dirty) {
            return;
        }
        dirty = false;
        Map<String, String> out = new TreeMap<>();
        offsets.forEach((k, v) -> out.put(k, Long.toString(v)));
        try {
            file.write(out, "Ferry committed offsets: group/topic/queue=offset");
        } catch (RuntimeException | Error e) {
            dirty = true; // not written: the next flush (or the one at close) writes it again
            throw e;
        }
    }

    private static String key(String group, String topic, int queueId) {
        return group + "/" + topic + "/" + queueId;
    }
}
