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
 * @param maxDelayMs           how far ahead a delayed message's {@code deliverAt} may lie (default 30 days)
 */
public record BrokerConfig(LogConfig log, int defaultQueues, boolean autoCreateTopics, long maxFetchWaitMs,
                           long offsetFlushIntervalMs, long maxDelayMs) {
    /** Default {@link #maxDelayMs()}: 30 days. */
    public static final long DEFAULT_MAX_DELAY_MS = 30L * 24 * 3600 * 1000;

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
        if (maxDelayMs < 1) {
            throw new IllegalArgumentException("maxDelayMs: " + maxDelayMs + " (expected: >= 1)");
        }
    }

    /** With the default {@link #maxDelayMs()}. */
    public BrokerConfig(LogConfig log, int defaultQueues, boolean autoCreateTopics, long maxFetchWaitMs, long offsetFlushIntervalMs) {
        this(log, defaultQueues, autoCreateTopics, maxFetchWaitMs, offsetFlushIntervalMs, DEFAULT_MAX_DELAY_MS);
    }

    public BrokerConfig withMaxDelayMs(long ms) {
        return new BrokerConfig(log, defaultQueues, autoCreateTopics, maxFetchWaitMs, offsetFlushIntervalMs, ms);
    }

    public static BrokerConfig defaults(LogConfig log) {
        return new BrokerConfig(log, 8, true, 30_000, 1_000);
    }
}
