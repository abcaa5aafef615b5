package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.StoredMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/PROTOCOL.md, DELETE_GROUP: "A copy whose retry delay was still running at the deletion is
 * delivered to the new group." When its delay ended before the group joined again, the delayed
 * delivery appended it to the deleted %RETRY%GROUP (the store does not know the topic is deleted);
 * the join then made the retry topic again and, the group having no offset there, committed its
 * end, past that copy, while the NACKed message's own offset had been committed past it: nobody
 * read it. Now the delivery makes the retry topic again first (found by a reviewer; this test
 * failed before).
 */
class DeletedGroupRetryCopyTest {
    @TempDir
    Path dir;

    @Test
    void aRetryCopyDueBetweenDeleteGroupAndTheNextJoinIsReadByTheNewGroup() throws Exception {
        try (Broker broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.builder().sweepIntervalMs(3_600_000).retryDelaysMs(List.of(300L)).build())) {
            broker.createTopic("t", 1);
            GroupCoordinator groups = broker.groups();
            broker.send(List.of(LogMessage.builder("t", 0, "fails once".getBytes(StandardCharsets.UTF_8)).build())).join();
            GroupCoordinator.Assignment a = groups.join("g", "m1", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
            groups.delivered("g", "m1", a.generation(), "t", 0, 0, 1, new long[] {0});
            groups.nack("g", "m1", a.generation(), "t", 0, 0, -1).join(); // retry copy due in 300 ms
            String retry = GroupCoordinator.retryTopic("g");
            long retryEndBefore = broker.store().nextOffset(retry, 0);
            groups.leave("g", "m1");
            groups.deleteGroup("g"); // the copy's delay is still running

            long deadline = System.currentTimeMillis() + 5_000;
            // the copy's schedule record reaches the delivery's timer a moment after the nack returns: wait for the copy itself
            while (broker.store().nextOffset(retry, 0) == retryEndBefore && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertThat(broker.store().nextOffset(retry, 0)).as("the copy, delivered into the deleted retry topic")
                    .isEqualTo(retryEndBefore + 1);

            GroupCoordinator.Assignment b = groups.join("g", "m2", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
            long start = broker.committedOffset("g", retry, 0).orElse(broker.store().minOffset(retry, 0));
            List<StoredMessage> readable = broker.store().readMessages(retry, 0, start, 10);
            assertThat(readable).as("what the new group reads in " + retry + " from its start " + start)
                    .extracting(m -> new String(m.body(), StandardCharsets.UTF_8)).containsExactly("fails once");
        }
    }
}
