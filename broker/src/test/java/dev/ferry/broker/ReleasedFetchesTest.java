package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.ReadResult;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Broker#releaseWaitingFetches}, a front's first step of a graceful stop: the long polls
 * waiting are answered, and so is every poll its consumers ask after it, without waiting, while
 * the front says it is {@link FetchParking#draining}. A consumer polls again as soon as its poll
 * is answered; before, that second poll parked for its whole wait (30 s by default), the gateway's
 * drain waited {@code shutdown.drain.ms} (5 s) for it, logged "closing with N requests still in
 * flight" and closed the connection with the poll unanswered: every SIGTERM of a broker with a
 * consumer connected. The draining is the front's, not the broker's: the fetches of another front
 * (or of one started on the broker again) still wait.
 */
class ReleasedFetchesTest {
    @TempDir
    Path dir;

    /** What a network front gives the broker for its fetches: reads on the caller's thread, a drain flag, a count of waiting fetches. */
    private static final class Front implements FetchParking {
        volatile boolean draining;
        final AtomicInteger waiting = new AtomicInteger();

        @Override
        public Executor wokenReads() {
            return Runnable::run;
        }

        @Override
        public void parking() {
            waiting.incrementAndGet();
        }

        @Override
        public void unparked() {
            waiting.decrementAndGet();
        }

        @Override
        public boolean draining() {
            return draining;
        }

        CompletableFuture<ReadResult> poll(Broker broker) {
            return broker.fetch("orders", 0, 0, 10, 1 << 20, 30_000, null, null, this);
        }

        /** As the gateway's close: draining first, then the release. */
        void drain(Broker broker) {
            draining = true;
            broker.releaseWaitingFetches();
        }
    }

    @Test
    void aPollAskedAfterTheReleaseIsAnsweredAtOnce() {
        try (Broker broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()))) {
            broker.createTopic("orders", 1);
            Front stopping = new Front();
            Front other = new Front();
            CompletableFuture<ReadResult> waiting = stopping.poll(broker);
            assertThat(waiting).as("an empty queue: the poll waits").isNotDone();

            stopping.drain(broker);

            assertThat(waiting).as("the waiting poll, released").isDone();
            assertThat(waiting.join().messageCount()).isZero();
            CompletableFuture<ReadResult> again = stopping.poll(broker);
            assertThat(again).as("the consumer's next poll, asked while its front stops: answered, not parked").isDone();
            assertThat(again.join().messageCount()).isZero();
            assertThat(stopping.waiting).as("nothing of the stopping front left waiting for its drain").hasValue(0);

            CompletableFuture<ReadResult> elsewhere = other.poll(broker);
            assertThat(elsewhere).as("a poll through a front that is not stopping still waits").isNotDone();
            broker.send(java.util.List.of(dev.ferry.log.LogMessage.builder("orders", 0, new byte[] {1}).build())).join();
            assertThat(elsewhere.join().messageCount()).as("and is answered by the message it waited for").isOne();
        }
    }
}
