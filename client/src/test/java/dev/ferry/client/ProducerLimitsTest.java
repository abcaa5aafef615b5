package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages over a protocol limit (docs/PROTOCOL.md "Limits") or over the producer's buffer are
 * refused by the send call itself, before they are queued: sent, the broker would answer the
 * whole frame LIMIT_EXCEEDED / FRAME_TOO_LARGE with request id 0 and close the connection, failing
 * the valid messages that shared the batch, and a client that took that for a lost connection
 * resent the batch for good. A broker close of that kind that does happen (the client configured
 * with larger limits than the broker's) fails what was in flight, unretried.
 */
class ProducerLimitsTest {
    @TempDir
    Path dir;

    private static Throwable failure(CompletableFuture<?> f) {
        try {
            f.get(30, TimeUnit.SECONDS);
            return null;
        } catch (Exception e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }

    @Test
    @Timeout(60)
    void aMessageOverTheTagsLimitFailsAloneAndIsNotResent() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("lim", 1);
            try (Producer p = client.producer(ProducerConfig.builder().lingerMs(50).build())) {
                CompletableFuture<SendResult> good = p.sendAsync("lim", "valid".getBytes());
                CompletableFuture<SendResult> bad;
                try {
                    bad = p.sendAsync(Message.builder("lim").tags("a".repeat(2_000)).body("x".getBytes()).build());
                } catch (IllegalArgumentException refusedAtOnce) {
                    bad = CompletableFuture.failedFuture(refusedAtOnce); // what a fix may do: fine
                }
                Throwable badFailure = failure(bad);
                assertThat(badFailure).as("the over-limit message fails").isInstanceOf(IllegalArgumentException.class);
                assertThat(badFailure.getMessage()).as("names the field, its size and the limit").contains("tags", "2000", "1024");
                assertThat(failure(good)).as("a valid message queued next to it is stored, not failed with the other's error").isNull();
                assertThat(p.resends()).as("a message the broker can never accept is not resent").isZero();
            }
        }
    }

    @Test
    @Timeout(60)
    void aMessageOverTheFrameLimitIsRefusedWithoutRetrying() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("big", 1);
            try (Producer p = client.producer(ProducerConfig.builder().bufferBytes(64 << 20).build())) {
                long t0 = System.nanoTime();
                CompletableFuture<SendResult> f;
                try {
                    f = p.sendAsync("big", new byte[17 << 20]); // > maxFrameBytes 16 MiB
                } catch (IllegalArgumentException refusedAtOnce) {
                    f = CompletableFuture.failedFuture(refusedAtOnce);
                }
                Throwable e = failure(f);
                assertThat(e).isNotNull();
                assertThat(p.resends()).as("resends of a frame the broker can never read").isZero();
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
            }
        }
    }

    /** A message bigger than bufferBytes blocks maxBlockMs, then fails with "buffer full: 0 bytes unacknowledged". */
    @Test
    @Timeout(60)
    void aMessageBiggerThanTheBufferFailsAtOnceNamingItsSize() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("buf", 1);
            try (Producer p = client.producer(ProducerConfig.builder().bufferBytes(1 << 20).maxBlockMs(5_000).build())) {
                long t0 = System.nanoTime();
                Throwable e = null;
                try {
                    p.sendAsync("buf", new byte[2 << 20]);
                } catch (RuntimeException thrown) {
                    e = thrown;
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertThat(e).isNotNull();
                assertThat(ms).as("refused at once: waiting cannot make room for it").isLessThan(1_000);
                assertThat(e.getMessage()).as("names the message's size, not an empty 'buffer full'").doesNotContain("buffer full: 0 bytes");
            }
        }
    }

    /**
     * A client configured with larger limits than the broker's checks against its own: the broker
     * refuses the frame (LIMIT_EXCEEDED on request id 0) and closes the connection. The batch fails
     * with that status, unretried, and the producer goes on over a new connection.
     */
    @Test
    @Timeout(60)
    void aBrokerCloseForAnOverLimitFrameFailsTheBatchWithoutRetrying() {
        Limits larger = Limits.builder().maxTagsBytes(4_096).build();
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(server.port()).limits(larger).build())) {
            client.createTopic("wide", 1);
            try (Producer p = client.producer(ProducerConfig.builder().lingerMs(0).build())) {
                Throwable e = failure(p.sendAsync(Message.builder("wide").tags("a".repeat(2_000)).body("x".getBytes()).build()));
                assertThat(e).isInstanceOf(FerryException.class);
                assertThat(((FerryException) e).status()).as(e.getMessage()).contains(Status.LIMIT_EXCEEDED);
                assertThat(p.resends()).as("resends of a frame the broker refused for good").isZero();
                assertThat(failure(p.sendAsync("wide", "valid".getBytes()))).as("a later send, on a new connection").isNull();
            }
        }
    }
}
