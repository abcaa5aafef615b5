package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's changes to committed offsets survive a broker killed with {@code kill -9} right
 * after they were answered: an offset reset (to re-read), a group deletion and a topic deletion.
 * Consumers' own commits may be forgotten by a crash (they re-read a little); these may not: a lost
 * reset to earliest has the group skip what the operator asked it to read again, and a lost
 * deletion brings back a deleted group's offsets. {@code offsets.flush.interval.ms} is an hour, so
 * only what the change itself writes is on disk. A real child JVM, SIGKILL.
 */
class OffsetChangesKillTest {

    @TempDir
    Path dir;

    @Test
    void aResetAGroupDeletionAndATopicDeletionSurviveAKill9() throws Exception {
        Path config = dir.resolve("broker.properties");
        Files.writeString(config, "offsets.flush.interval.ms=3600000\n");
        Process broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(ChildBroker.port(broker, dir)).build());
                 Producer p = client.producer()) {
                client.createTopic("orders", 1);
                client.createTopic("audit", 1);
                for (int i = 0; i < 10; i++) {
                    p.send("orders", ("m" + i).getBytes(UTF_8));
                    p.send("audit", ("a" + i).getBytes(UTF_8));
                }
                client.commitOffset("billing", "orders", 0, 10);
                client.commitOffset("gone", "orders", 0, 7);
                client.commitOffset("billing", "audit", 0, 10);
            }
        } finally {
            broker.destroy(); // SIGTERM: a clean stop writes the committed offsets
            assertThat(broker.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }

        broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(ChildBroker.port(broker, dir)).build())) {
                assertThat(client.committedOffset("billing", "orders", 0)).as("after the clean stop").hasValue(10);
                assertThat(client.resetOffsets("billing", "orders", "earliest", 0)).containsEntry(0, 0L);
                client.deleteGroup("gone");
                client.deleteTopic("audit");
            }
        } finally {
            ChildBroker.kill(broker); // SIGKILL right after the answers: nothing written at close
        }
        assertThat(broker.exitValue()).as("killed by SIGKILL").isEqualTo(137);

        broker = ChildBroker.start(dir, "--config", config.toString());
        try {
            try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(ChildBroker.port(broker, dir)).build())) {
                SoftAssertions soft = new SoftAssertions(); // each change reported on its own
                soft.assertThat(client.committedOffset("billing", "orders", 0)).as("the reset to earliest").hasValue(0);
                soft.assertThat(client.committedOffset("gone", "orders", 0)).as("the deleted group's offset").isEmpty();
                soft.assertThat(client.listGroups()).as("groups").doesNotContain("gone");
                soft.assertThat(client.describeGroup("billing").queues()).as("billing's committed offsets, the deleted topic's gone")
                        .extracting(q -> q.topic() + "/" + q.queueId()).containsExactly("orders/0");
                soft.assertAll();
            }
        } finally {
            broker.destroy();
            broker.waitFor(20, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }
}
