package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Records that end exactly at, just before and just after a segment's end round-trip, also after a reopen. */
class SegmentEdgeTest {
    private static final int SEGMENT = 4096;

    @TempDir
    Path dir;

    /** {@code slack}: bytes the filler leaves free in the first segment before the probe record. */
    @ParameterizedTest(name = "bytes left before the probe: {0}")
    @ValueSource(ints = {0, 1, 5, 6, 7, 100})
    void recordsAroundTheSegmentEndRoundTrip(int slack) {
        LogConfig config = smallConfig(dir).segmentBytes(SEGMENT).build();
        List<byte[]> bodies = new ArrayList<>();
        int first = 1000;
        try (MessageStore store = MessageStore.open(config)) {
            // three records of 1000+96 bytes, then one sized so that `slack` bytes remain
            int used = 0;
            for (int i = 0; i < 3; i++) {
                bodies.add(body(first, i));
                used += store.append(LogMessage.builder("t", 0, bodies.get(i)).build()).size();
            }
            int fill = SEGMENT - used - slack - HEADER_FOR_TOPIC_T;
            bodies.add(body(fill, 3));
            AppendResult filler = store.append(LogMessage.builder("t", 0, bodies.get(3)).build());
            assertThat(filler.physicalOffset() + filler.size()).isEqualTo(SEGMENT - slack);

            // a probe that would end 1 byte after the segment's end if it stayed: it must move on
            bodies.add(body(Math.max(0, slack + 1 - HEADER_FOR_TOPIC_T) + 10, 4));
            AppendResult probe = store.append(LogMessage.builder("t", 0, bodies.get(4)).build());
            assertThat(probe.physicalOffset()).isEqualTo(SEGMENT);
            bodies.add(body(10, 5));
            store.append(LogMessage.builder("t", 0, bodies.get(5)).build());
            assertBodies(store, bodies);
        }
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).isFalse();
            assertThat(store.recoveryReport().truncatedBytes()).isZero();
            assertBodies(store, bodies);
            store.append(LogMessage.builder("t", 0, body(20, 6)).build());
            bodies.add(body(20, 6));
            assertBodies(store, bodies);
        }
    }

    private static void assertBodies(MessageStore store, List<byte[]> bodies) {
        List<StoredMessage> read = store.readMessages("t", 0, 0, 100);
        assertThat(read).hasSize(bodies.size());
        for (int i = 0; i < bodies.size(); i++) {
            assertThat(read.get(i).body()).as("body %d", i).isEqualTo(bodies.get(i));
            assertThat(read.get(i).queueOffset()).isEqualTo(i);
        }
    }
}
