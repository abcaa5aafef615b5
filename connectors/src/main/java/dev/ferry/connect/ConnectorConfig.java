package dev.ferry.connect;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One connector's settings: flat string keys and values (read from a JSON or properties file,
 * overridden by {@code --set key=value}), with typed getters whose errors name the connector,
 * the field and what was expected.
 *
 * <p>Two keys every connector has: {@code name} (unique per runtime; names the committed
 * position) and {@code connector} (the connector type, e.g. {@code file-source}).
 *
 * <p>Tracks which keys were read, so a runtime can reject keys nobody asked for
 * ({@link #unreadKeys()}), the usual cause being a typo.
 *
 * <p>Immutable values; the read-key tracking is not thread-safe (configure on one thread).
 */
public final class ConnectorConfig {
    private final Map<String, String> values;
    private final Set<String> read = new TreeSet<>();

    public ConnectorConfig(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(values)));
    }

    /** The connector's name, or "?" while it has none (for error messages). */
    public String name() {
        return values.getOrDefault("name", "?");
    }

    /** Every key and value, in file order. */
    public Map<String, String> asMap() {
        return values;
    }

    /** A required string. */
    public String string(String key, String expected) {
        read.add(key);
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            throw missing(key, expected);
        }
        return v.trim();
    }

    /** An optional string, with a default. */
    public String string(String key, String defaultValue, String expected) {
        read.add(key);
        String v = values.get(key);
        return v == null || v.isBlank() ? defaultValue : v.trim();
    }

    /** An optional string, empty when absent. */
    public Optional<String> optional(String key) {
        read.add(key);
        String v = values.get(key);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
    }

    /** A long in {@code [min, max]}, with a default. */
    public long longValue(String key, long defaultValue, long min, long max) {
        read.add(key);
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            return defaultValue;
        }
        long parsed;
        try {
            parsed = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw invalid(key, v, "an integer in [" + min + ", " + max + "]");
        }
        if (parsed < min || parsed > max) {
            throw invalid(key, v, "an integer in [" + min + ", " + max + "]");
        }
        return parsed;
    }

    /** An int in {@code [min, max]}, with a default. */
    public int intValue(String key, int defaultValue, int min, int max) {
        return (int) longValue(key, defaultValue, min, max);
    }

    /** A duration in milliseconds in {@code [min, max]} ms, with a default. */
    public Duration millis(String key, long defaultMs, long minMs, long maxMs) {
        return Duration.ofMillis(longValue(key, defaultMs, minMs, maxMs));
    }

    /** {@code true} or {@code false}, with a default. */
    public boolean bool(String key, boolean defaultValue) {
        read.add(key);
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            return defaultValue;
        }
        return switch (v.trim()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw invalid(key, v, "true or false");
        };
    }

    /** One of the given words, with a default. */
    public <E extends Enum<E>> E choice(String key, Class<E> type, E defaultValue) {
        read.add(key);
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            return defaultValue;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v.trim().replace('-', '_'))) {
                return e;
            }
        }
        StringBuilder expected = new StringBuilder("one of");
        for (E e : type.getEnumConstants()) {
            expected.append(' ').append(e.name().toLowerCase().replace('_', '-'));
        }
        throw invalid(key, v, expected.toString());
    }

    /** Marks keys as known without reading them (keys the runtime itself handles). */
    public void markRead(String... keys) {
        read.addAll(java.util.List.of(keys));
    }

    /** Keys present in the file that no getter asked for: usually typos. */
    public Set<String> unreadKeys() {
        Set<String> unread = new TreeSet<>(values.keySet());
        unread.removeAll(read);
        return unread;
    }

    /** An error naming a field whose value is wrong, e.g. a database that cannot be reached. */
    public ConnectConfigException invalid(String key, String value, String expected) {
        return new ConnectConfigException(name(), key,
                key + ": '" + value + "' (expected: " + expected + ")");
    }

    private ConnectConfigException missing(String key, String expected) {
        return new ConnectConfigException(name(), key, key + ": missing (expected: " + expected + ")");
    }

    @Override
    public String toString() {
        return "ConnectorConfig" + values;
    }
}
