package dev.ferry.client;

import java.util.Objects;

/**
 * Settings of a {@link TransactionProducer}. Immutable; validated when built.
 *
 * @param producerGroup      the producer group: the broker sends check-backs of this group's transactions to any live member
 * @param endRetries         an END_TRANSACTION lost with its connection or not answered in time is sent again this many times,
 *                           after reconnecting (ends are idempotent on the broker) (default 3)
 * @param reconnectBackoffMs after the connection is lost, how long to wait before reconnecting; the producer reconnects by
 *                           itself so check-backs reach it after a broker restart (default 500)
 */
public record TransactionProducerConfig(String producerGroup, int endRetries, long reconnectBackoffMs) {
    public TransactionProducerConfig {
        Checks.nonEmpty("producerGroup", producerGroup);
        Checks.range("endRetries", endRetries, 0, 1_000);
        Checks.range("reconnectBackoffMs", reconnectBackoffMs, 1, 3_600_000);
    }

    public static Builder builder(String producerGroup) {
        return new Builder(producerGroup);
    }

    /** Builds a {@link TransactionProducerConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private final String producerGroup;
        private int endRetries = 3;
        private long reconnectBackoffMs = 500;

        private Builder(String producerGroup) {
            this.producerGroup = Objects.requireNonNull(producerGroup, "producerGroup");
        }

        public Builder endRetries(int v) { endRetries = v; return this; }
        public Builder reconnectBackoffMs(long v) { reconnectBackoffMs = v; return this; }

        public TransactionProducerConfig build() {
            return new TransactionProducerConfig(producerGroup, endRetries, reconnectBackoffMs);
        }
    }
}
