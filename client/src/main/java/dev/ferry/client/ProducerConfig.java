package dev.ferry.client;

/**
 * Settings of a {@link Producer}. Immutable; validated when built. Batching works like Kafka's
 * record accumulator: messages for one (topic, queue) collect in a batch that is sent as one
 * SEND_BATCH once it holds {@code batchSizeBytes}, once its oldest message has waited
 * {@code lingerMs}, or at once when {@code lingerMs} is 0 and the connection has room.
 *
 * @param batchSizeBytes      target bytes of messages per SEND_BATCH (default 64 KiB; also the most); a batch
 *                            holds at most 4,096 messages either way, what the broker stores in one
 * @param lingerMs            how long a batch waits to fill before it is sent (default 5, as Kafka 4's
 *                            linger.ms; 0 sends as soon as a request slot is free, which under load makes
 *                            many small requests: 100-byte records went ~25 % slower in ferry perf produce)
 * @param maxInFlight         requests in flight on the producer's connection (default 16)
 * @param bufferBytes         messages buffered and unacknowledged beyond this block the sender (default 8 MiB:
 *                            buffered messages are live heap objects, about twice their estimated size, that
 *                            every young GC copies; with 32 MiB, G1 pauses of 50-200 ms cost a third of the
 *                            producer benchmark's throughput on 2 cores); a message larger than this is
 *                            refused at once
 * @param maxBlockMs          how long a send may block for buffer space or topic metadata (default 60,000): a
 *                            send with a sharding key to a topic not described yet waits this long for its queue
 *                            count, asking again while the broker cannot be reached; one without, the broker
 *                            unreachable, is buffered at once like any other, the broker picking its queue
 * @param retries             resends of a batch that failed retryably: BUSY, TIMEOUT, no response, lost
 *                            connection (default 10)
 * @param retryBackoffMs      first wait before a resend; doubles each attempt (default 20)
 * @param maxRetryBackoffMs   longest wait between resends and reconnects (default 1,000)
 * @param deliveryTimeoutMs   a message not acknowledged this long after the send fails (default 120,000)
 */
public record ProducerConfig(int batchSizeBytes, long lingerMs, int maxInFlight, long bufferBytes, long maxBlockMs,
                             int retries, long retryBackoffMs, long maxRetryBackoffMs, long deliveryTimeoutMs) {

    public ProducerConfig {
        Checks.range("batchSizeBytes", batchSizeBytes, 1, 8 << 20);
        Checks.range("lingerMs", lingerMs, 0, 60_000);
        Checks.range("maxInFlight", maxInFlight, 1, 65_536);
        Checks.range("bufferBytes", bufferBytes, batchSizeBytes, Long.MAX_VALUE / 4);
        Checks.range("maxBlockMs", maxBlockMs, 0, Long.MAX_VALUE / 4);
        Checks.range("retries", retries, 0, Integer.MAX_VALUE);
        Checks.range("retryBackoffMs", retryBackoffMs, 1, 3_600_000);
        Checks.range("maxRetryBackoffMs", maxRetryBackoffMs, retryBackoffMs, 3_600_000);
        Checks.range("deliveryTimeoutMs", deliveryTimeoutMs, 1, Long.MAX_VALUE / 4);
    }

    public static ProducerConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link ProducerConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private int batchSizeBytes = 64 << 10;
        private long lingerMs = 5;
        private int maxInFlight = 16;
        private long bufferBytes = 8 << 20;
        private long maxBlockMs = 60_000;
        private int retries = 10;
        private long retryBackoffMs = 20;
        private long maxRetryBackoffMs = 1_000;
        private long deliveryTimeoutMs = 120_000;

        private Builder() {
        }

        public Builder batchSizeBytes(int v) { batchSizeBytes = v; return this; }
        public Builder lingerMs(long v) { lingerMs = v; return this; }
        public Builder maxInFlight(int v) { maxInFlight = v; return this; }
        public Builder bufferBytes(long v) { bufferBytes = v; return this; }
        public Builder maxBlockMs(long v) { maxBlockMs = v; return this; }
        public Builder retries(int v) { retries = v; return this; }
        public Builder retryBackoffMs(long v) { retryBackoffMs = v; return this; }
        public Builder maxRetryBackoffMs(long v) { maxRetryBackoffMs = v; return this; }
        public Builder deliveryTimeoutMs(long v) { deliveryTimeoutMs = v; return this; }

        public ProducerConfig build() {
            return new ProducerConfig(batchSizeBytes, lingerMs, maxInFlight, bufferBytes, maxBlockMs, retries, retryBackoffMs,
                    maxRetryBackoffMs, deliveryTimeoutMs);
        }
    }
}
