package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.allocatedKiB;
import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The space the appender writes into is prepared by {@link SegmentFiller}: zero-filled a window
 * ahead and written through 16 MiB write windows. Records that start in one window and end in the
 * next, or fill a window exactly, or outrun the filler, must read back byte-equal, before and
 * after a reopen.
 */
class SegmentFillerTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "preTouch={0}")
    @ValueSource(booleans = {true, false})
    void recordsAcrossWriteWindowsAndSegmentsReadBackByteEqual(boolean preTouch) {
        // 36 MiB segments: windows of 16, 16 and 4 MiB; bodies up to 300 KB straddle the window edges
        LogConfig config = LogConfig.builder(dir).segmentBytes(36 << 20).fillAheadBytes(SegmentFiller.CHUNK).preTouch(preTouch).build();
        SplittableRandom random = new SplittableRandom(7);
        List<byte[]> bodies = new ArrayList<>();
        try (MessageStore store = MessageStore.open(config)) {
            long bytes = 0;
            for (int i = 0; bytes < 110L << 20; i++) {
                byte[] b = body(1 + random.nextInt(300_000), i);
                bodies.add(b);
                bytes += b.length;
                store.append(LogMessage.builder("t", i % 3, b).build());
            }
            assertThat(Files.exists(dir.resolve("commitlog"))).isTrue();
            assertThat(StoreTestSupport.filesOnDisk(dir.resolve("commitlog"))).as("segments").hasSizeGreaterThanOrEqualTo(3);
            assertReadBack(store, bodies);
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertReadBack(store, bodies);
            store.append(LogMessage.builder("t", 0, "after reopen".getBytes(StandardCharsets.UTF_8)).build());
            List<StoredMessage> q0 = readAll(store, "t", 0);
            assertThat(new String(q0.get(q0.size() - 1).body(), StandardCharsets.UTF_8)).isEqualTo("after reopen");
        }
    }

    private static void assertReadBack(MessageStore store, List<byte[]> bodies) {
        for (int q = 0; q < 3; q++) {
            List<StoredMessage> got = readAll(store, "t", q);
            int k = 0;
            for (int i = q; i < bodies.size(); i += 3, k++) {
                assertThat(got.get(k).body()).as("queue %d message %d", q, k).isEqualTo(bodies.get(i));
            }
            assertThat(got).hasSize(k);
        }
    }

    @Test
    void aFreshStoreFillsAWindowNotAWholeSegment() throws Exception {
        LogConfig config = LogConfig.builder(dir).segmentBytes(1 << 30).fillAheadBytes(SegmentFiller.CHUNK).build();
        try (MessageStore store = MessageStore.open(config)) {
            store.append(LogMessage.builder("t", 0, body(1000, 1)).build());
            Thread.sleep(300); // let the filler reach its window's end
            Path first = dir.resolve("commitlog").resolve(FileNames.name(0));
            long allocatedKiB = allocatedKiB(first);
            assertThat(allocatedKiB).as("disk blocks of the fresh 1 GiB segment, KiB").isBetween(1L, 64L << 10);
            assertThat(store.readMessages("t", 0, 0, 1)).hasSize(1);
        }
    }

    @Test
    void aRecordOrABatchLargerThanTheFillWindowIsWaitedForNotHungOn() {
        LogConfig config = LogConfig.builder(dir).segmentBytes(40 << 20).fillAheadBytes(SegmentFiller.CHUNK).maxBodyBytes(20 << 20)
                .maxBatchBytes(32L << 20).preTouch(false).build();
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
            try (MessageStore store = MessageStore.open(config)) {
                byte[] big = body(20 << 20, 1); // more than the 16 MiB window ahead of the appender
                store.append(LogMessage.builder("t", 0, big).build());
                List<LogMessage> batch = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    batch.add(LogMessage.builder("t", 1, body(6 << 20, 10 + i)).build()); // 24 MiB, across the segment's end
                }
                store.appendBatchAsync(batch).join();
                assertThat(readAll(store, "t", 0).get(0).body()).isEqualTo(big);
                List<StoredMessage> q1 = readAll(store, "t", 1);
                assertThat(q1).hasSize(4);
                for (int i = 0; i < 4; i++) {
                    assertThat(q1.get(i).body()).isEqualTo(body(6 << 20, 10 + i));
                }
            }
        });
    }
}
