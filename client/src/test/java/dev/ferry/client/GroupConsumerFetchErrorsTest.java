package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A FETCH the broker refuses for good (here BAD_REQUEST for a malformed tag expression) is
 * reported by poll, by a group member as by a plain {@link Consumer}: before, the group member
 * only logged a WARN and sent the same FETCH again every retryBackoffMs for ever, and poll
 * returned empty lists without saying why.
 */
class GroupConsumerFetchErrorsTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(60)
    void aFetchTheBrokerRefusesForGoodIsReportedByPollOfBothConsumers() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("tg", 1);
            try (Producer p = client.producer()) {
                p.send("tg", "m".getBytes());
            }
            // the plain consumer reports it when it is created (its filter is checked then)
            FerryException plain = null;
            try {
                client.consumer(ConsumerConfig.builder("tg", "pg").tags("a || || b").build()).close();
            } catch (FerryException e) {
                plain = e;
            }
            assertThat(plain).as("the plain Consumer reports the refused filter").isNotNull();
            assertThat(plain.status()).as(plain.getMessage()).contains(Status.BAD_REQUEST);

            FerryException group = null;
            try (GroupConsumer g = client.groupConsumer(GroupConsumerConfig.builder("tg", "gg").tags("a || || b")
                    .heartbeatIntervalMs(100).retryBackoffMs(100).maxWaitMs(100).build())) {
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (group == null && System.nanoTime() < deadline) {
                    try {
                        g.poll(Duration.ofMillis(200));
                    } catch (FerryException e) {
                        group = e;
                    }
                }
            }
            assertThat(group).as("GroupConsumer.poll reports the refused FETCH too, instead of returning nothing for ever").isNotNull();
            assertThat(group.status()).as(group.getMessage()).contains(Status.BAD_REQUEST);
        }
    }
}
