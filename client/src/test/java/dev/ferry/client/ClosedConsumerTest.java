package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acks, nacks and commits after close, as a worker thread still busy with a batch makes them.
 * Before, a group member's ack after close returned as if sent (it was dropped, logged at debug),
 * a nack's future failed as a retryable lost connection, and a consumer's commitAsync returned a
 * completed future having committed nothing; each now throws IllegalStateException, as poll did.
 */
class ClosedConsumerTest {
    @TempDir
    Path dir;

    @Test
    void acksNacksAndCommitsAfterCloseAreRefusedNotDropped() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer()) {
            client.createTopic("late", 1);
            producer.send("late", "a".getBytes());
            producer.send("late", "b".getBytes());

            GroupConsumer member = client.groupConsumer(GroupConsumerConfig.builder("late", "lg").build());
            List<Message> got = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (got.size() < 2 && System.nanoTime() < deadline) {
                got.addAll(member.poll(Duration.ofMillis(100)));
            }
            assertThat(got).hasSize(2);
            member.close();
            assertThatThrownBy(() -> member.ack(got.get(0))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("ack of late/0@0");
            assertThatThrownBy(() -> member.nack(got.get(1))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("nack of late/0@1");

            Consumer consumer = client.consumer(ConsumerConfig.builder("late", "pg").autoCommit(false).build());
            List<Message> read = new ArrayList<>();
            while (read.size() < 2 && System.nanoTime() < deadline) {
                read.addAll(consumer.poll(Duration.ofMillis(100)));
            }
            consumer.close();
            assertThatThrownBy(consumer::commitAsync).isInstanceOf(IllegalStateException.class).hasMessageContaining("consumer closed");
            assertThat(client.committedOffset("pg", "late", 0)).as("nothing committed").isEmpty();
        }
    }
}
