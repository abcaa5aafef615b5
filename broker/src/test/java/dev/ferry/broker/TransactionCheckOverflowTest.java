package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/OPERATIONS.md accepts transactions.check.timeout.ms and transactions.check.interval.ms up to
 * 9223372036854775807 (BrokerSettings: 1..Long.MAX_VALUE), an operator's "never". Transactions adds
 * them to a time stamp; the sum wrapped to a negative time before it saturated, so the half was due
 * at once, checked at every scan and rolled back after maxChecks scans (found by a reviewer; both
 * tests failed then).
 */
class TransactionCheckOverflowTest {
    @TempDir
    Path dir;

    private Broker open(TransactionConfig tc) {
        Broker b = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.defaults(), tc);
        b.createTopic("t", 1);
        return b;
    }

    /** "checked again this often": with the longest interval accepted, one check, and no rollback seconds later. */
    @Test
    void theLongestCheckIntervalDoesNotRollTheHalfBackWithinSeconds() throws Exception {
        try (Broker broker = open(TransactionConfig.builder().checkTimeoutMs(1).checkIntervalMs(Long.MAX_VALUE).maxChecks(3).build())) {
            Transactions tx = broker.transactions();
            RecordingProducer recorder = new RecordingProducer();
            List<TransactionCheck> checks = recorder.checks;
            tx.registerProducer("pg", recorder);
            String id = tx.prepare(LogMessage.builder("t", 0, "local tx still running".getBytes(StandardCharsets.UTF_8)).build(), "pg")
                    .join().messageId();
            Thread.sleep(1_000);
            assertThat(checks).as("checks sent in 1 s with check.interval.ms = Long.MAX_VALUE").hasSize(1);
            assertThat(tx.end(id, "pg", TransactionDecision.COMMIT).join().applied()).as("the producer's commit").isTrue();
        }
    }

    /** "checked back ... this long after it was stored": with the longest timeout accepted, not within a second. */
    @Test
    void theLongestCheckTimeoutDoesNotCheckAtOnce() throws Exception {
        try (Broker broker = open(TransactionConfig.builder().checkTimeoutMs(Long.MAX_VALUE).checkIntervalMs(30_000).maxChecks(0).build())) {
            Transactions tx = broker.transactions();
            String id = tx.prepare(LogMessage.builder("t", 0, "local tx still running".getBytes(StandardCharsets.UTF_8)).build(), "pg")
                    .join().messageId();
            Thread.sleep(1_500);
            assertThat(tx.stats().discarded()).as("halves rolled back by the check limit").isZero();
            assertThat(tx.end(id, "pg", TransactionDecision.COMMIT).join().applied()).as("the producer's commit").isTrue();
        }
    }
}
