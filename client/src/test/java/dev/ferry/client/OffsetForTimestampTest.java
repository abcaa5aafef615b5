package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading from a point in time, as a Kafka user does with {@code offsetsForTimes} and
 * {@code seek}: {@link FerryClient#offsetForTimestamp} gives the first message stored at or after
 * the time, the first offset for a time before every message, and the queue's end for a time
 * after them.
 */
class OffsetForTimestampTest {
    @TempDir
    Path dir;

    @Test
    void aConsumerSeeksToTheFirstMessageStoredAtOrAfterATime() throws InterruptedException {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic("events", 1);
            long before = System.currentTimeMillis() - 1;
            List<Long> sentAt = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Thread.sleep(20); // store times 20 ms apart: each message has a time of its own
                sentAt.add(System.currentTimeMillis());
                p.send(Message.builder("events").queueId(0).body(("m" + i).getBytes(StandardCharsets.UTF_8)).build());
            }
            Thread.sleep(20);
            long after = System.currentTimeMillis();

            assertThat(client.offsetForTimestamp("events", 0, before)).isZero();
            assertThat(client.offsetForTimestamp("events", 0, sentAt.get(1))).isEqualTo(1);
            assertThat(client.offsetForTimestamp("events", 0, sentAt.get(2))).isEqualTo(2);
            assertThat(client.offsetForTimestamp("events", 0, after)).as("after every message: the end").isEqualTo(3);

            try (Consumer c = client.consumer(ConsumerConfig.builder("events", "replay").autoCommit(false).build())) {
                c.seek(0, client.offsetForTimestamp("events", 0, sentAt.get(1)));
                List<String> read = new ArrayList<>();
                for (int polls = 0; read.size() < 2 && polls < 50; polls++) {
                    c.poll(Duration.ofMillis(100)).forEach(m -> read.add(StandardCharsets.UTF_8.decode(m.body()).toString()));
                }
                assertThat(read).containsExactly("m1", "m2");
            }
        }
    }
}
