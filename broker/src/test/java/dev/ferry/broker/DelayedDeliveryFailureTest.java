package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A delayed message whose copy was appended to its topic but whose "delivered" bit could not be
 * written (its bitmap file could not be created: a full disk, a quota, here a directory in the
 * way). The delivery thread tries the bit again, backing off, and must not append the copy again
 * each time: before, it did, once a second for as long as the bit failed. A second message due
 * meanwhile waits until the first's bit is set (one in-flight marker for a restart to check), and
 * then each is delivered once.
 */
class DelayedDeliveryFailureTest {
    @TempDir
    Path dir;

    @Test
    void aDeliveryWhoseBitCannotBeWrittenIsNotAppendedAgain() throws IOException, InterruptedException {
        LogConfig log = LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build();
        try (Broker broker = Broker.open(BrokerConfig.defaults(log))) {
            broker.createTopic("t", 1);
            // where the first bitmap chunk goes: a non-empty directory, so its creation fails
            Path chunk = dir.resolve("schedule").resolve("delivered").resolve(String.format("%020d", 0));
            Files.createDirectories(chunk.resolve("in-the-way"));

            long now = System.currentTimeMillis();
            broker.send(List.of(LogMessage.builder("t", 0, "first".getBytes(StandardCharsets.UTF_8)).build(),
                    LogMessage.builder("t", 0, "second".getBytes(StandardCharsets.UTF_8)).build()), new long[] {now + 100, now + 300}).join();
            await(() -> broker.store().nextOffset("t", 0) > 0);
            Thread.sleep(3_500); // the first bit failed at 0 s, and is tried again at 1 s and 3 s
            assertThat(broker.store().nextOffset("t", 0)).as("the first appended once, the second waiting behind its bit").isEqualTo(1);
            assertThat(broker.pendingDelayed()).as("the second, still in the index").isEqualTo(1);

            Files.delete(chunk.resolve("in-the-way"));
            Files.delete(chunk);
            await(() -> broker.pendingDelayed() == 0 && broker.deliveredDelayed() == 2); // the next try (at 7 s) writes the bit
            assertThat(broker.store().readMessages("t", 0, 0, 10)).extracting(m -> new String(m.body(), StandardCharsets.UTF_8))
                    .containsExactly("first", "second");
        }
        try (Broker again = Broker.open(BrokerConfig.defaults(log))) {
            Thread.sleep(500);
            assertThat(again.pendingDelayed()).as("their bits are on disk").isZero();
            assertThat(again.store().nextOffset("t", 0)).as("not delivered again after a restart").isEqualTo(2);
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 15_000;
        while (!condition.getAsBoolean()) {
            assertThat(System.currentTimeMillis()).as("waited 15 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
