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
 * A half message's check count survives a restart. It was kept in memory only, so a broker
 * restarted more often than {@code maxChecks} check intervals started it from zero every time and
 * never gave the transaction up (nor told the producer how often it had asked): before, the second
 * check, after a restart, said checkTimes 1, and the half was never rolled back.
 */
class TransactionCheckRestartTest {
    @TempDir
    Path dir;

    private final GroupCoordinatorTest.ManualClock clock = new GroupCoordinatorTest.ManualClock();
    private final RecordingProducer recorder = new RecordingProducer();
    private final List<TransactionCheck> checks = recorder.checks;

    private Broker open() {
        Broker b = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).clock(clock).build()),
                GroupConfig.defaults(), TransactionConfig.builder().checkTimeoutMs(1_000).checkIntervalMs(1_000).maxChecks(2).build());
        b.ensureTopic("t", 1);
        b.transactions().registerProducer("pg", recorder);
        return b;
    }

    @Test
    void checksCountOnAcrossRestartsUpToTheLimit() {
        String id;
        try (Broker broker = open()) {
            id = broker.transactions().prepare(LogMessage.builder("t", 0, "undecided".getBytes(StandardCharsets.UTF_8)).build(), "pg")
                    .join().messageId();
        }
        for (int round = 1; round <= 2; round++) {
            try (Broker broker = open()) {
                clock.advance(1_001);
                broker.transactions().checkNow();
                assertThat(checks).as("checks sent so far").hasSize(round);
                assertThat(checks.get(round - 1).checkTimes()).as("check " + round + ", after " + round + " restarts").isEqualTo(round);
            }
        }
        try (Broker broker = open()) {
            clock.advance(1_001);
            broker.transactions().checkNow();
            assertThat(checks).as("no third check: maxChecks is 2").hasSize(2);
            TransactionOutcome o = broker.transactions().end(id, "pg", TransactionDecision.ROLLBACK).join();
            assertThat(o.applied()).as("rolled back already, by the check limit").isFalse();
        }
    }
}
