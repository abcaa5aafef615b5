package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Messages at the body limit (limits.record.body.bytes, 4 MiB by default) through a real broker:
 * one of exactly the limit is stored, fetched whole by a consumer asking for far fewer bytes, found
 * by key, and is still there after a restart; one byte more is refused with the limit named, and
 * the producer goes on. 8 MiB segments: two of them do not fit one, so the second rolls.
 */
class LargeMessageTest {
    private static final int LIMIT = 4 << 20;

    @TempDir
    Path dir;

    private static byte[] body(int size, int seed) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static List<Message> read(FerryClient client, int n) {
        List<Message> out = new ArrayList<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder("big", "reader-" + System.nanoTime()).maxFetchBytes(1024).build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < n && System.nanoTime() < deadline) {
                out.addAll(c.poll(Duration.ofMillis(100)));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void messagesAtTheBodyLimitAreStoredReadAndKeptAndOneByteMoreIsRefused(String codec) {
        UnaryOperator<dev.ferry.log.LogConfig.Builder> log = l -> l.segmentBytes(8 << 20);
        try (BrokerFixture b = BrokerFixture.start(dir, log, UnaryOperator.identity()); FerryClient client = b.client(codec);
             Producer p = client.producer()) {
            client.createTopic("big", 1);
            for (int i = 0; i < 3; i++) {
                p.send(Message.builder("big").queueId(0).keys(List.of("big-" + i)).body(body(LIMIT, i)).build());
            }
            assertThatThrownBy(() -> p.send(Message.builder("big").queueId(0).body(body(LIMIT + 1, 9)).build()))
                    .isInstanceOf(FerryException.class).hasMessageContaining(String.valueOf(LIMIT));
            p.send(Message.builder("big").queueId(0).body(new byte[] {1}).build());
            List<Message> got = read(client, 4);
            assertThat(got).extracting(Message::queueOffset).containsExactly(0L, 1L, 2L, 3L);
            for (int i = 0; i < 3; i++) {
                assertThat(Arrays.equals(bytes(got.get(i).body()), body(LIMIT, i))).as("body %d", i).isTrue();
            }
        }
        try (BrokerFixture b = BrokerFixture.start(dir, log, UnaryOperator.identity()); FerryClient client = b.client(codec)) {
            assertThat(client.queueOffsets("big", 0).maxOffset()).as("after a restart").isEqualTo(4);
            List<Message> byKey = client.queryByKey("big", "big-2", 10);
            assertThat(byKey).hasSize(1);
            assertThat(Arrays.equals(bytes(byKey.get(0).body()), body(LIMIT, 2))).as("by key after a restart").isTrue();
            assertThat(read(client, 4)).hasSize(4);
        }
    }
}
