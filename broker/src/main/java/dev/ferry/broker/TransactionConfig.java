package dev.ferry.broker;

import java.time.Clock;

/**
 * Settings of transactional messages ({@link Transactions}). Immutable; validated when built.
 *
 * @param checkTimeoutMs  a half message without a decision this long after it was stored is checked back with its producer group (default 6,000)
 * @param checkIntervalMs after a check, the next one follows this much later while the half stays undecided (default 30,000)
 * @param maxChecks       checks of one half message before it is rolled back (discarded) and logged (default 15)
 * @param clock           the clock of timeouts and intervals; null = the log's clock
 */
public record TransactionConfig(long checkTimeoutMs, long checkIntervalMs, int maxChecks, Clock clock) {
    public TransactionConfig {
        if (checkTimeoutMs < 1) {
            throw new IllegalArgumentException("checkTimeoutMs: " + checkTimeoutMs + " (expected: >= 1)");
        }
        if (checkIntervalMs < 1) {
            throw new IllegalArgumentException("checkIntervalMs: " + checkIntervalMs + " (expected: >= 1)");
        }
        if (maxChecks < 0) {
            throw new IllegalArgumentException("maxChecks: " + maxChecks + " (expected: >= 0)");
        }
    }

    public static TransactionConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** How often the check thread looks for due half messages: often enough for the shorter of the two periods. */
    long scanIntervalMs() {
        return Math.max(5, Math.min(1_000, Math.min(checkTimeoutMs, checkIntervalMs) / 4));
    }

    /** Builds a {@link TransactionConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private long checkTimeoutMs = 6_000;
        private long checkIntervalMs = 30_000;
        private int maxChecks = 15;
        private Clock clock;

        public Builder checkTimeoutMs(long v) { checkTimeoutMs = v; return this; }
        public Builder checkIntervalMs(long v) { checkIntervalMs = v; return this; }
        public Builder maxChecks(int v) { maxChecks = v; return this; }
        public Builder clock(Clock v) { clock = v; return this; }

        public TransactionConfig build() {
            return new TransactionConfig(checkTimeoutMs, checkIntervalMs, maxChecks, clock);
        }
    }
}
