package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.log.AppendResult;
import dev.ferry.log.FlushMode;
import dev.ferry.log.FlushNotConfirmedException;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SYNC flush whose fsync does not come back in time: the records are written (and readable),
 * only their durability is not confirmed. What the broker's own bookkeeping must do then is treat
 * them as stored: a transaction committed so is not committed a second time, a NACKed message
 * copied so is not copied again, a delayed message delivered so is not delivered again.
 *
 * <p>The timeout is 1 ms and each record carries 4 MiB, so the fsync that covers it writes at
 * least 4 MiB: on this machine's disk (about 1 GB/s synced) that takes several milliseconds. A
 * case that saw no timeout in five tries is skipped, not passed, since it would check nothing.
 */
class FlushNotConfirmedTest {
    private static final int ATTEMPTS = 5;
    private static final byte[] BIG = new byte[4 << 20];

    static {
        Arrays.fill(BIG, (byte) 'x');
    }

    @TempDir
    Path dir;

    private Broker broker;

    @BeforeEach
    void open() {
        LogConfig log = LogConfig.builder(dir).segmentBytes(64 << 20).preTouch(false).flushMode(FlushMode.SYNC).syncFlushTimeoutMs(1)
                .build();
        broker = Broker.open(BrokerConfig.defaults(log), GroupConfig.builder().sweepIntervalMs(3_600_000).build());
        broker.createTopic("t", 1);
    }

    @AfterEach
    void close() {
        broker.close();
    }

    /**
     * Before, the commit whose flush timed out put its transaction back among the undecided, and
     * the producer's retry (or a check-back) stored the message a second time.
     */
    @Test
    void aCommitWhoseFlushTimedOutIsNotCommittedAgain() {
        Transactions tx = broker.transactions();
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            String id = written(tx.prepare(LogMessage.builder("t", 0, BIG).build(), "pg")).messageId();
            FlushNotConfirmedException timedOut = failure(tx.end(id, "pg", TransactionDecision.COMMIT));
            if (timedOut == null) {
                continue;
            }
            assertThat(timedOut.timedOut()).isTrue();
            TransactionOutcome again = tx.end(id, "pg", TransactionDecision.COMMIT).join();
            assertThat(again.applied()).as("the retry finds the commit in force").isFalse();
            assertThat(broker.store().nextOffset("t", 0)).as("one message per transaction committed").isEqualTo(attempt);
            return;
        }
        assumeTrue(false, "no commit's flush took longer than 1 ms in " + ATTEMPTS + " tries");
    }

    /**
     * Before, a NACK whose retry copy's flush timed out left the message in flight: the sweep (or
     * the member's next NACK) copied it again, and the committed offset stayed below it.
     */
    @Test
    void aNackWhoseCopysFlushTimedOutMovesTheMessageOnce() {
        GroupCoordinator groups = broker.groups();
        GroupCoordinator.Assignment a = groups.join("g", "m", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            long offset = written(broker.send(List.of(LogMessage.builder("t", 0, BIG).build()))).queueOffset();
            groups.delivered("g", "m", a.generation(), "t", 0, offset, offset + 1, new long[] {offset});
            if (failure(groups.nack("g", "m", a.generation(), "t", 0, offset, -1)) == null) {
                continue;
            }
            assertThat(broker.committedOffset("g", "t", 0)).as("the message is done").hasValue(offset + 1);
            groups.nack("g", "m", a.generation(), "t", 0, offset, -1).join(); // a member's retry of the NACK
            groups.tick(); // and the sweep
            assertThat(broker.pendingDelayed()).as("retry copies scheduled, one per message NACKed").isEqualTo(attempt);
            return;
        }
        assumeTrue(false, "no retry copy's flush took longer than 1 ms in " + ATTEMPTS + " tries");
    }

    /**
     * Before, a delivery whose append timed out was tried again a second later, which appended the
     * message again (and again, while each append timed out). The delivery thread's own append is
     * not visible here: it times out when the schedule record's did, nearly always with 4 MiB.
     */
    @Test
    void aDelayedMessageWhoseDeliveryFlushTimedOutIsDeliveredOnce() throws InterruptedException {
        long at = System.currentTimeMillis() + 300;
        FlushNotConfirmedException scheduled = failure(broker.send(List.of(LogMessage.builder("t", 0, BIG).build()), new long[] {at}));
        assumeTrue(scheduled != null, "the schedule record's flush took less than 1 ms");
        long deadline = System.currentTimeMillis() + 10_000;
        while (broker.store().nextOffset("t", 0) == 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertThat(broker.store().nextOffset("t", 0)).as("delivered").isEqualTo(1);
        Thread.sleep(2_500); // the old code retried after 1 s
        assertThat(broker.store().nextOffset("t", 0)).as("delivered once").isEqualTo(1);
        assertThat(broker.deliveredDelayed()).isEqualTo(1);
    }

    /** What {@code f} stored: its result, or the written records of a flush not confirmed. */
    private static AppendResult written(CompletableFuture<?> f) {
        try {
            Object r = f.join();
            return r instanceof List<?> l ? (AppendResult) l.get(0) : (AppendResult) r;
        } catch (CompletionException e) {
            List<AppendResult> w = FlushNotConfirmedException.writtenDespite(e);
            if (w == null) {
                throw e;
            }
            return w.get(0);
        }
    }

    /** The flush-not-confirmed failure of {@code f}, or null if it succeeded; any other failure is thrown. */
    private static FlushNotConfirmedException failure(CompletableFuture<?> f) {
        try {
            f.join();
            return null;
        } catch (CompletionException e) {
            if (e.getCause() instanceof FlushNotConfirmedException n) {
                return n;
            }
            throw e;
        }
    }
}
