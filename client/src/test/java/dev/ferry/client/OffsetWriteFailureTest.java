package dev.ferry.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An offset reset, a group deletion and a topic deletion whose write of {@code offsets.properties}
 * fails (as on a full disk; here a folder stands where the temp file is written): the change was
 * made all the same (live members follow a reset at once, it cannot be taken back), so the error
 * says that it was made and is not on disk yet, rather than a bare "cannot write" that reads as
 * "nothing happened" (a repeated deletion is then refused as not found). Once the file can be
 * written, a clean stop writes what was done.
 */
class OffsetWriteFailureTest {
    @TempDir
    Path dir;

    @Test
    void aChangeWhoseOffsetsCannotBeWrittenSaysItWasMadeAndIsWrittenLater() throws IOException {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("orders", 1);
            client.createTopic("audit", 1);
            for (int i = 0; i < 10; i++) {
                p.send(Message.builder("orders").queueId(0).body(("m" + i).getBytes(UTF_8)).build());
                p.send(Message.builder("audit").queueId(0).body(("a" + i).getBytes(UTF_8)).build());
            }
            client.commitOffset("billing", "orders", 0, 10);
            client.commitOffset("gone", "orders", 0, 7);
            client.commitOffset("billing", "audit", 0, 10);

            Path blocker = Files.createDirectories(dir.resolve("offsets.properties.tmp")); // the temp file cannot be opened
            Files.writeString(blocker.resolve("keep"), "a folder that is not empty");

            FerryException reset = catchThrowableOfType(() -> client.resetOffsets("billing", "orders", "earliest", 0), FerryException.class);
            assertThat(reset).as("the reset's answer").isNotNull();
            assertThat(reset.status()).hasValue(Status.INTERNAL_ERROR);
            assertThat(reset.getMessage()).contains("group billing: offsets of orders reset to EARLIEST {0=0}, but not written to disk yet",
                    "offsets.properties");
            assertThat(client.committedOffset("billing", "orders", 0)).as("the reset was made").hasValue(0);

            FerryException group = catchThrowableOfType(() -> client.deleteGroup("gone"), FerryException.class);
            assertThat(group).as("the group deletion's answer").isNotNull();
            assertThat(group.getMessage()).contains("group gone deleted, but not written to disk yet");
            assertThat(client.listGroups()).as("the group was deleted").doesNotContain("gone");

            FerryException topic = catchThrowableOfType(() -> client.deleteTopic("audit"), FerryException.class);
            assertThat(topic).as("the topic deletion's answer").isNotNull();
            assertThat(topic.getMessage()).contains("topic audit deleted (on disk), its groups' committed offsets forgotten, but not written to disk yet");
            assertThat(client.describeTopic("audit")).as("the topic was deleted").isEmpty();

            Files.delete(blocker.resolve("keep"));
            Files.delete(blocker);
        } // a clean stop writes the offsets

        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary")) {
            assertThat(client.committedOffset("billing", "orders", 0)).as("the reset, after a restart").hasValue(0);
            assertThat(client.committedOffset("gone", "orders", 0)).as("the deleted group's offset").isEmpty();
            assertThat(client.describeGroup("billing").queues()).as("billing's committed offsets, the deleted topic's gone")
                    .extracting(q -> q.topic() + "/" + q.queueId()).containsExactly("orders/0");
        }
    }
}
