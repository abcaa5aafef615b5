package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.AppendResult;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageStore;
import dev.ferry.log.StoredMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delayed messages against the commit log's retention and a crash. A delayed message waits as a
 * record of the schedule topic in the commit log, and may be due long after retention's limits
 * (30 days against 72 h by default). Before, retention deleted the record's segment like any
 * other: at its due time the message was skipped as gone, although its SEND was answered OK, and
 * a restart dropped it as well. Now the broker's delayed delivery is the store's retention floor:
 * segments below the oldest undelivered schedule record go, that one's and later ones stay, also
 * across a restart, until it is delivered.
 */
class DelayedRetentionTest {
    private static final int SEGMENT = 64 << 10;
    private static final long HOUR = 3_600_000L;

    @TempDir
    Path dir;

    private final GroupCoordinatorTest.ManualClock clock = new GroupCoordinatorTest.ManualClock();

    /**
     * Segments 0 and 1 of filler, the delayed message's schedule record in segment 2, segments 2-4
     * filled, 5 active; then everything is past the age limit (five hours old, against one), with
     * the message due in ten hours. (Retention by size wins over the floor: RetentionTest.)
     */
    @Test
    void aDelayedMessageWhoseSegmentIsPastTheAgeLimitIsKeptUntilItIsDelivered() {
        LogConfig config = LogConfig.builder(dir).segmentBytes(SEGMENT).preTouch(false).clock(clock)
                .retentionCheckIntervalMs(24 * HOUR) // only runRetention() deletes here
                .retentionMs(HOUR).build();
        long floorSegment;
        try (Broker broker = Broker.open(BrokerConfig.defaults(config))) {
            broker.createTopic("orders", 1);
            broker.createTopic("filler", 1);
            fillTo(broker, 2L * SEGMENT);
            AppendResult scheduled = broker.send(List.of(LogMessage.builder("orders", 0, text("pay later")).build()),
                    new long[] {clock.millis() + 10 * HOUR}).join().get(0);
            floorSegment = scheduled.physicalOffset() / SEGMENT * SEGMENT;
            assertThat(floorSegment).as("segment of the schedule record (layout assumption)").isEqualTo(2L * SEGMENT);
            fillTo(broker, 5L * SEGMENT);
            broker.store().flush();
            clock.advance(5 * HOUR);

            assertThat(broker.store().runRetention()).as("segments deleted: those wholly below the schedule record").isEqualTo(2);
            assertThat(segmentFiles()).as("segment files on disk").doesNotContain(0L, (long) SEGMENT)
                    .contains(floorSegment, 3L * SEGMENT, 4L * SEGMENT, 5L * SEGMENT);
            assertThat(broker.store().runRetention()).as("segments deleted by a second pass").isZero();
        }

        try (Broker broker = Broker.open(BrokerConfig.defaults(config))) {
            assertThat(broker.pendingDelayed()).as("delayed messages pending after a restart").isEqualTo(1);
            assertThat(broker.store().runRetention()).as("segments deleted after the restart").isZero();
            assertThat(segmentFiles()).as("segment files on disk after the restart").contains(floorSegment);

            clock.advance(5 * HOUR + 1);
            broker.wakeDelayedDelivery();
            await(() -> broker.pendingDelayed() == 0 && broker.store().nextOffset("orders", 0) == 1);
            assertThat(broker.store().readMessages("orders", 0, 0, 10)).as("orders/0 once the message is due")
                    .extracting(m -> new String(m.body(), StandardCharsets.UTF_8)).containsExactly("pay later");

            // its delivered bit is set just after the copy is appended: from then on retention deletes what the limit asks
            await(() -> broker.store().runRetention() > 0);
            assertThat(segmentFiles()).as("segment files on disk once it is delivered").doesNotContain(floorSegment);
            assertThat(broker.store().readMessages("orders", 0, 0, 10)).as("the delivered copy, in the active segment")
                    .extracting(StoredMessage::queueOffset).containsExactly(0L);
        }
    }

    /**
     * A delayed message the store now refuses for good (its body over a limit lowered since it
     * was stored) is skipped when due, with an ERROR: retried for ever, it held the retention
     * floor, and with it every later segment, for ever.
     */
    @Test
    void aDelayedMessageRefusedForGoodWhenDueIsSkippedAndLetsRetentionGo() {
        LogConfig.Builder log = LogConfig.builder(dir).segmentBytes(SEGMENT).preTouch(false).clock(clock).retentionCheckIntervalMs(24 * HOUR);
        try (Broker broker = Broker.open(BrokerConfig.defaults(log.build()))) {
            broker.createTopic("orders", 1);
            broker.send(List.of(LogMessage.builder("orders", 0, new byte[2048]).build()), new long[] {clock.millis() + HOUR}).join();
            assertThat(broker.pendingDelayed()).isEqualTo(1);
        }
        try (Broker broker = Broker.open(BrokerConfig.defaults(log.maxBodyBytes(1024).build()))) {
            assertThat(broker.pendingDelayed()).isEqualTo(1);
            clock.advance(HOUR + 1);
            broker.wakeDelayedDelivery();
            await(() -> broker.pendingDelayed() == 0);
            assertThat(broker.store().nextOffset("orders", 0)).as("not delivered").isZero();
        }
    }

    /**
     * A crash after a delayed message's copy was appended and before its delivered bit was set,
     * with another producer's message appended to the queue behind the copy. The restart looks for
     * the copy further back than the queue's last message, and does not deliver it again. The
     * crash is made from what one leaves on disk: a delivery run to its end, then its bit cleared
     * and inFlight set again in the schedule state (docs/STORAGE.md), and the other message
     * appended through the store.
     */
    @Test
    void aCopyAppendedBeforeACrashIsFoundBehindAnotherProducersMessage() throws IOException, InterruptedException {
        LogConfig config = LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build();
        try (Broker broker = Broker.open(BrokerConfig.defaults(config))) {
            broker.createTopic("orders", 1);
            broker.send(List.of(LogMessage.builder("orders", 0, text("pay later")).build()), new long[] {System.currentTimeMillis() + 100})
                    .join();
            await(() -> broker.pendingDelayed() == 0 && broker.store().nextOffset("orders", 0) == 1);
        }
        Path schedule = dir.resolve("schedule");
        try (FileChannel state = FileChannel.open(schedule.resolve("state"), StandardOpenOption.WRITE)) {
            state.write(ByteBuffer.allocate(8).putLong(0, 0), DeliveredLog.LOW_WATERMARK_OFFSET);
            state.write(ByteBuffer.allocate(8).putLong(0, 0), DeliveredLog.IN_FLIGHT_OFFSET); // schedule offset 0 in flight
        }
        Path chunk0 = schedule.resolve("delivered").resolve(String.format("%020d", 0));
        try (FileChannel chunk = FileChannel.open(chunk0, StandardOpenOption.WRITE)) {
            chunk.write(ByteBuffer.allocate(1), DeliveredLog.CHUNK_HEADER_SIZE); // bit of schedule offset 0 cleared
        }
        try (MessageStore store = MessageStore.open(config)) {
            store.append(LogMessage.builder("orders", 0, text("another producer's")).build());
        }

        try (Broker broker = Broker.open(BrokerConfig.defaults(config))) {
            assertThat(broker.delayedDuplicatesAvoided()).as("deliveries found already appended at the start").isEqualTo(1);
            assertThat(broker.pendingDelayed()).as("delayed messages pending after the restart").isZero();
            Thread.sleep(300); // what a wrongly pending message would take to be delivered (it is overdue)
            assertThat(broker.store().readMessages("orders", 0, 0, 10)).as("orders/0 after the restart")
                    .extracting(m -> new String(m.body(), StandardCharsets.UTF_8)).containsExactly("pay later", "another producer's");
        }
    }

    /** Sends 8 KiB filler messages until the commit log reaches {@code end}. */
    private static void fillTo(Broker broker, long end) {
        while (broker.store().writtenOffset() < end) {
            broker.send(List.of(LogMessage.builder("filler", 0, new byte[8 << 10]).build())).join();
        }
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Base offsets of the commit-log segment files on disk. */
    private TreeSet<Long> segmentFiles() {
        try (Stream<Path> files = Files.list(dir.resolve("commitlog"))) {
            TreeSet<Long> out = new TreeSet<>();
            files.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9]{20}")).forEach(n -> out.add(Long.parseLong(n)));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.currentTimeMillis() + 15_000;
        while (!condition.getAsBoolean()) {
            assertThat(System.currentTimeMillis()).as("waited 15 s").isLessThan(deadline);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
