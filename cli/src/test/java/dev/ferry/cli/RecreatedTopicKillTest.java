package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker process killed with {@code kill -9} right after a deleted topic was created again:
 * after the restart on the same data the topic still starts where it was created again, and a
 * new group gets only what is sent to it from then on, none of the deleted topic's messages. The
 * broker is a real child JVM ({@code ferry broker}), killed with SIGKILL, so nothing is written at
 * close; where the topic starts must already be on disk when CREATE_TOPIC is answered.
 */
class RecreatedTopicKillTest {

    @TempDir
    Path dir;

    @Test
    void aTopicCreatedAgainStillStartsEmptyAfterAKill9() throws Exception {
        long start;
        Process broker = ChildBroker.start(dir);
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(ChildBroker.port(broker, dir)).build())) {
                client.createTopic("orders", 1);
                try (Producer p = client.producer()) {
                    for (int i = 0; i < 5; i++) {
                        p.send("orders", ("old-" + i).getBytes(UTF_8));
                    }
                }
                client.deleteTopic("orders");
                client.createTopic("orders", 1);
                start = client.queueOffsets("orders", 0).minOffset();
                assertThat(start).as("created again, it starts after the deleted topic's messages").isEqualTo(5);
            }
        } finally {
            broker.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no clean-close marker
            assertThat(broker.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(broker.exitValue()).as("killed by SIGKILL").isEqualTo(137);

        broker = ChildBroker.start(dir);
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(ChildBroker.port(broker, dir)).build())) {
                assertThat(client.queueOffsets("orders", 0).minOffset()).as("after the kill").isEqualTo(start);
                try (Producer p = client.producer()) {
                    p.send("orders", "new-0".getBytes(UTF_8));
                }
                List<String> got = new ArrayList<>();
                try (Consumer c = client.consumer(ConsumerConfig.builder("orders", "fresh").build())) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (got.isEmpty() && System.nanoTime() < deadline) {
                        c.poll(Duration.ofMillis(100)).forEach(m -> got.add(UTF_8.decode(m.body()).toString()));
                    }
                    c.poll(Duration.ofMillis(300)).forEach(m -> got.add(UTF_8.decode(m.body()).toString()));
                }
                assertThat(got).as("what a new group gets").containsExactly("new-0");
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }

}
