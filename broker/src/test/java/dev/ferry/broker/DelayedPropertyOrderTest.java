package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.StoredMessage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A delayed message is delivered with its properties in the order they were sent, then the
 * broker's {@code %SCHEDULE_ID}: the delivery copied them through a {@code HashMap}, and stored
 * them in its order.
 */
class DelayedPropertyOrderTest {
    /** Enough names that a hash order keeps theirs by chance practically never. */
    private static final int COUNT = 20;

    @TempDir
    Path dir;

    @Test
    void aDelayedMessageIsDeliveredWithItsPropertiesInOrder() throws InterruptedException {
        List<String> names = new ArrayList<>();
        for (int i = COUNT; i > 0; i--) {
            names.add("p" + i);
        }
        LogMessage.Builder b = LogMessage.builder("t", 0, new byte[] {1});
        names.forEach(n -> b.property(n, "v-" + n));
        LogConfig log = LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build();
        try (Broker broker = Broker.open(BrokerConfig.defaults(log))) {
            broker.createTopic("t", 1);
            broker.send(List.of(b.build()), new long[] {System.currentTimeMillis() + 50}).join();
            await(() -> broker.store().nextOffset("t", 0) > 0);
            StoredMessage delivered = broker.store().readMessages("t", 0, 0, 1).get(0);
            List<String> expected = new ArrayList<>(names);
            expected.add(DelayedDelivery.SCHEDULE_ID);
            assertThat(delivered.properties().keySet()).containsExactlyElementsOf(expected);
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
