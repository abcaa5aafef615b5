package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.ReadResult;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Broker#releaseWaitingFetches}, the gateway's first step of a graceful stop: the long polls
 * waiting are answered, and so is every poll asked after it, without waiting. A consumer polls
 * again as soon as its poll is answered; before this, that second poll parked for its whole wait
 * (30 s by default), the gateway's drain waited {@code shutdown.drain.ms} (5 s) for it, logged
 * "closing with N requests still in flight" and closed the connection with the poll unanswered:
 * every SIGTERM of a broker with a consumer connected.
 */
class ReleasedFetchesTest {
    @TempDir
    Path dir;

    @Test
    void aPollAskedAfterTheReleaseIsAnsweredAtOnce() {
        try (Broker broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()))) {
            broker.createTopic("orders", 1);
            CompletableFuture<ReadResult> waiting = broker.fetch("orders", 0, 0, 10, 1 << 20, 30_000);
            assertThat(waiting).as("an empty queue: the poll waits").isNotDone();

            broker.releaseWaitingFetches();

            assertThat(waiting).as("the waiting poll, released").isDone();
            assertThat(waiting.join().messageCount()).isZero();
            CompletableFuture<ReadResult> again = broker.fetch("orders", 0, 0, 10, 1 << 20, 30_000);
            assertThat(again).as("the consumer's next poll, asked while the broker stops: answered, not parked").isDone();
            assertThat(again.join().messageCount()).isZero();
            assertThat(broker.waitingFetches()).as("nothing left waiting for the drain").isZero();
        }
    }
}
