package dev.ferry.broker;

import dev.ferry.log.LogConfig;
import java.util.Objects;

/**
 * Settings of a {@link Broker}. Immutable; validated when built.
 *
 * @param log                  the storage engine's settings (its {@code dir} is the broker's data folder)
 * @param defaultQueues        queues of a topic created without a count, or auto-created (default 8)
 * @param autoCreateTopics     sending to an unknown topic creates it with {@code defaultQueues} (default true)
 * @param maxFetchWaitMs       longest long-poll a fetch may ask for (default 30,000)
 * @param offsetFlushIntervalMs how often committed offsets are written to disk (default 1,000)
 */
public record BrokerConfig(LogConfig log, int defaultQueues, boolean autoCreateTopics, long maxFetchWaitMs,
                           long offsetFlushIntervalMs) {
    public BrokerConfig {
        Objects.requireNonNull(log, "log");
        if (defaultQueues < 1 || defaultQueues > log.maxQueuesPerTopic()) {
            throw new IllegalArgumentException("defaultQueues: " + defaultQueues + " (expected: 1.." + log.maxQueuesPerTopic() + ")");
        }
        if (maxFetchWaitMs < 0) {
            throw new IllegalArgumentException("maxFetchWaitMs: " + maxFetchWaitMs + " (expected: >= 0)");
        }
        if (offsetFlushIntervalMs < 1) {
            throw new IllegalArgumentException("offsetFlushIntervalMs: " + offsetFlushIntervalMs + " (expected: >= 1)");
        }
    }

    public static BrokerConfig defaults(LogConfig log) {
        return new BrokerConfig(log, 8, true, 30_000, 1_000);
    }
}
