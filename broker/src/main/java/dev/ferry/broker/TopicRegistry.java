package dev.ferry.broker;

import dev.ferry.log.LogConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The topics that exist and their queue counts, kept in {@code DATA/topics.properties}
 * ({@code TOPIC=QUEUE_COUNT} per line), rewritten atomically on every change.
 *
 * <p>Deleted topics are remembered in {@code DATA/deleted-topics.properties} ({@code
 * TOPIC=DELETION_TIME_MS} per line) until they are created again. A deleted topic's offset
 * indexes stay on disk (see {@link Broker#deleteTopic}), and a broker that finds indexes without
 * metadata at start registers them again (the repair for a crash between creating a topic's
 * queues and saving it here); the list tells it which topics not to bring back. The list is
 * written before the topic leaves {@code topics.properties}, and cleared after it comes back, so
 * a crash between the two leaves the topic registered: the state the client was last told of
 * or the one it asked for. A topic created again starts empty at its queues' ends, which the
 * store writes to {@code DATA/queue-floors} before the topic is saved here (see
 * {@link Broker#deleteTopic} and the store's {@code QueueFloors}).
 *
 * <p><b>Thread safety.</b> All methods are synchronized: topic changes are rare.
 */
final class TopicRegistry {
    private final PropertiesFile file;
    private final PropertiesFile deletedFile;
    private final Map<String, Integer> topics = new TreeMap<>();
    private final Map<String, String> deleted = new TreeMap<>();
    /** Copy for lock-free reads on the hot path (send, fetch); replaced on every change. */
    private volatile Map<String, Integer> snapshot = Map.of();

    TopicRegistry(Path dataDir) {
        this.file = new PropertiesFile(dataDir.resolve("topics.properties"));
        this.deletedFile = new PropertiesFile(dataDir.resolve("deleted-topics.properties"));
        file.read().forEach((k, v) -> topics.put(k, (int) file.number("queue count of topic " + k, v, 1, LogConfig.MAX_QUEUES_PER_TOPIC)));
        deleted.putAll(deletedFile.read());
        snapshot = Map.copyOf(topics);
    }

    /** True if {@code topic} was deleted and not created again since. */
    synchronized boolean wasDeleted(String topic) {
        return deleted.containsKey(topic) && !topics.containsKey(topic);
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
        forgetDeletion(topic);
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
        forgetDeletion(topic);
        return queues;
    }

    synchronized void delete(String topic) {
        if (!topics.containsKey(topic)) {
            throw new TopicNotFoundException(topic);
        }
        deleted.put(topic, Long.toString(System.currentTimeMillis()));
        deletedFile.write(deleted, "Ferry deleted topics: name=deletion time (ms since the epoch); not registered again at start");
        topics.remove(topic);
        save();
    }

    private void forgetDeletion(String topic) {
        if (deleted.remove(topic) != null) {
            deletedFile.write(deleted, "Ferry deleted topics: name=deletion time (ms since the epoch); not registered again at start");
        }
    }

    private void save() {
        Map<String, String> out = new TreeMap<>();
        topics.forEach((k, v) -> out.put(k, Integer.toString(v)));
        file.write(out, "Ferry topics: name=queue count");
        snapshot = Map.copyOf(topics);
    }
}
