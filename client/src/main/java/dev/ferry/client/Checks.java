package dev.ferry.client;

/** Validation helpers for the configuration records: errors read "name: value (expected: ...)". */
final class Checks {
    private Checks() {
    }

    static void range(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: " + min + ".." + max + ")");
        }
    }

    static String topic(String topic) {
        if (topic == null || topic.isEmpty()) {
            throw new IllegalArgumentException("topic: " + (topic == null ? "null" : "''") + " (expected: a topic name)");
        }
        return topic;
    }

    static String nonEmpty(String name, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(name + ": " + (value == null ? "null" : "''") + " (expected: non-empty)");
        }
        return value;
    }
}
