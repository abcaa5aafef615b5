package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What saving the check counts (DATA/transactions/checks) costs a scan, and what a crash in the
 * middle of a save leaves. A scan that checks a few halves among many undecided ones saved the
 * counts of all of them, rewriting the whole file (and forcing it and the folder) every scan: with
 * a producer group gone for minutes at a thousand transactions a second, some 450,000 halves are
 * undecided at once, about 5 MB rewritten every second. A scan now appends the counts it changes;
 * the file is rewritten whole only when it holds more than twice what is undecided.
 */
class TransactionCheckCountsCostTest {
    private static final int UNDECIDED = 2_000;

    @TempDir
    Path dir;

    private final GroupCoordinatorTest.ManualClock clock = new GroupCoordinatorTest.ManualClock();

    private Broker open() {
        Broker b = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(16 << 20).preTouch(false).clock(clock).build()),
                GroupConfig.defaults(), TransactionConfig.builder().checkTimeoutMs(1_000).checkIntervalMs(1_000_000).maxChecks(5).build());
        b.ensureTopic("t", 1);
        return b;
    }

    @Test
    void aScanSavesTheCountsItChangesNotThoseOfEveryUndecidedHalf() {
        try (Broker broker = open()) {
            List<CompletableFuture<?>> halves = new ArrayList<>();
            for (int i = 0; i < UNDECIDED; i++) {
                halves.add(broker.transactions().prepare(LogMessage.builder("t", 0, ("h" + i).getBytes(StandardCharsets.UTF_8)).build(), "pg"));
            }
            halves.forEach(CompletableFuture::join);
            clock.advance(1_001);
            broker.transactions().checkNow(); // the first check of all of them
            long before = broker.transactions().checkCountBytesWritten();

            clock.advance(500);
            broker.transactions().prepare(LogMessage.builder("t", 0, "late".getBytes(StandardCharsets.UTF_8)).build(), "pg").join();
            clock.advance(1_001);
            broker.transactions().checkNow(); // the first check of the late one only

            long written = broker.transactions().checkCountBytesWritten() - before;
            assertThat(written).as("bytes saved by a scan that checked one half of " + (UNDECIDED + 1)).isLessThan(100);
        }
        assertThat(new TransactionCheckCounts(dir.resolve("transactions")).read()).as("what a restart reads")
                .hasSize(UNDECIDED + 1).allSatisfy((half, checks) -> assertThat(checks).isEqualTo(1));
    }

    /** The appends do not grow the file for ever: once it holds more than twice the undecided halves' lines (and 1,024), it is rewritten. */
    @Test
    void theFileIsRewrittenWhenItHoldsMostlyOldCounts() throws Exception {
        int scans = TransactionCheckCounts.MIN_LINES_TO_COMPACT + 100;
        try (Broker broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(16 << 20).preTouch(false).clock(clock).build()),
                GroupConfig.defaults(), TransactionConfig.builder().checkTimeoutMs(1).checkIntervalMs(1).maxChecks(scans + 10).build())) {
            broker.ensureTopic("t", 1);
            broker.transactions().prepare(LogMessage.builder("t", 0, "undecided".getBytes(StandardCharsets.UTF_8)).build(), "pg").join();
            for (int i = 0; i < scans; i++) {
                clock.advance(2);
                broker.transactions().checkNow();
            }
        }
        List<String> lines = Files.readAllLines(dir.resolve("transactions").resolve("checks"));
        assertThat(lines.size()).as("lines after " + scans + " saves of one half's count").isLessThan(200);
        assertThat(new TransactionCheckCounts(dir.resolve("transactions")).read()).containsExactly(java.util.Map.entry(0L, scans));
    }

    /** A save cut short by a crash leaves its last line without its newline: it is left out, and the broker starts. */
    @Test
    void aLastLineCutShortIsLeftOut() throws Exception {
        try (Broker broker = open()) {
            broker.transactions().prepare(LogMessage.builder("t", 0, "undecided".getBytes(StandardCharsets.UTF_8)).build(), "pg").join();
            clock.advance(1_001);
            broker.transactions().checkNow();
        }
        Path checks = dir.resolve("transactions").resolve("checks");
        assertThat(Files.readString(checks)).isEqualTo("0 1\n");
        Files.writeString(checks, "0 1\n0 4", StandardCharsets.UTF_8); // "0 4\n" torn: its count may be any prefix
        try (Broker broker = open()) {
            RecordingProducer recorder = new RecordingProducer();
            List<TransactionCheck> sent = recorder.checks;
            broker.transactions().registerProducer("pg", recorder);
            clock.advance(1_001_000);
            broker.transactions().checkNow();
            assertThat(sent).extracting(TransactionCheck::checkTimes).as("the count of the last whole line, 1, and one more").containsExactly(2);
        }
    }
}
