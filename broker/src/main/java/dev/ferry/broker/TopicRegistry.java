package dev.ferry.broker;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The topics that exist and their queue counts, kept in {@code DATA/topics.properties}
 * ({@code TOPIC=QUEUE_COUNT} per line), rewritten atomically on every change.
 *
 * <p><b>Thread safety.</b> All methods are synchronized: topic changes are rare.
 */
final class TopicRegistry {
    private final PropertiesFile file;
    private final Map<String, Integer> topics = new TreeMap<>();
    /** Copy for lock-free reads on the hot path (send, fetch); replaced on every change. */
    private volatile Map<String, Integer> snapshot = Map.of();

    TopicRegistry(Path dataDir) {
        this.file = new PropertiesFile(dataDir.resolve("topics.properties"));
        file.read().forEach((k, v) -> topics.put(k, Integer.parseInt(v.trim())));
        snapshot = Map.copyOf(topics);
    }

    Optional<Integer> queues(String topic) {
        return Optional.ofNullable(snapshot.get(topic));
    }

    Map<String, Integer> all() {
        return snapshot;
    }

    synchronized int create(String topic, int queues) {
        Integer existing = topics.get(topic);
        if (existing != null) {
            throw new TopicExistsException(topic, existing);
        }
        topics.put(topic, queues);
        save();
        return queues;
    }

    /** Creates {@code topic} unless it exists; returns its queue count either way. */
    synchronized int createIfAbsent(String topic, int queues) {
        Integer existing = topics.get(topic);
        if (existing != null) {
            return existing;
        }
        topics.put(topic, queues);
        save();
        return queues;
    }

    synchronized void delete(String topic) {
        if (topics.remove(topic) == null) {
            throw new TopicNotFoundException(topic);
        }
        save();
    }

    private void save() {
        Map<String, String> out = new TreeMap<>();
        topics.forEach((k, v) -> out.put(k, Integer.toString(v)));
        file.write(out, "Ferry topics: name=queue count");
        snapshot = Map.copyOf(topics);
    }
}
