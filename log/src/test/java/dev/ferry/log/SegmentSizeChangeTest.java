package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A store reopened with another {@code segmentBytes} than its segment files have: an operator
 * changed the setting. Segments keep the size they were made with (the log goes on at the end of
 * the last one, then in segments of the new size), through larger and smaller sizes, a crash in
 * between, staged writes and writes through the mappings. What a user relies on: every record is
 * served at its offset and found by its key, appends continue, and a later open finds nothing to
 * truncate.
 */
class SegmentSizeChangeTest {
    private static final int BODY = 500;

    @TempDir
    Path dir;

    private LogConfig config(int segmentBytes, boolean staged) {
        return smallConfig(dir).segmentBytes(segmentBytes).stagedWrites(staged).build();
    }

    /** Appends records {@code from} until {@code to} (even to t/0, odd to t/1, key "k" + i). */
    private static void append(MessageStore store, int from, int to) {
        for (int i = from; i < to; i++) {
            store.append(LogMessage.builder("t", i % 2, body(BODY, i)).key("k" + i).build());
        }
    }

    @ParameterizedTest(name = "staged writes: {0}")
    @ValueSource(booleans = {true, false})
    void segmentsKeepTheirSizeWhenTheSettingChanges(boolean staged) throws Exception {
        try (MessageStore store = MessageStore.open(config(4096, staged))) {
            append(store, 0, 21); // six records of about 600 B a segment: the last one is part full
        }
        try (MessageStore store = MessageStore.open(config(16384, staged))) {
            assertThat(store.recoveryReport().truncatedBytes()).as("%s", store.recoveryReport()).isZero();
            append(store, 21, 71);
        }
        Files.createFile(dir.resolve("abort")); // the run with 16 KiB segments crashed
        try (MessageStore store = MessageStore.open(config(4096, staged))) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.crashed()).as("%s", report).isTrue();
            assertThat(report.truncatedBytes()).as("%s", report).isZero();
            assertAll(store, 71);
            append(store, 71, 101);
        }
        try (MessageStore store = MessageStore.open(config(8192, staged))) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.truncatedBytes()).as("%s", report).isZero();
            assertThat(report.indexEntriesDropped()).as("%s", report).isZero();
            assertAll(store, 101);
        }
        assertThat(StoreTestSupport.filesOnDisk(dir.resolve("commitlog")).stream()
                .map(base -> dir.resolve("commitlog").resolve(FileNames.name(base))).map(SegmentSizeChangeTest::size).distinct())
                .as("segment sizes on disk").contains(4096L, 16384L);
    }

    private static void assertAll(MessageStore store, int n) {
        for (int q = 0; q < 2; q++) {
            List<StoredMessage> all = readAll(store, "t", q);
            assertThat(all).as("t/%d", q).hasSize((n + 1 - q) / 2);
            for (int j = 0; j < all.size(); j++) {
                int i = 2 * j + q;
                StoredMessage m = all.get(j);
                assertThat(m.queueOffset()).as("offset of record %d", i).isEqualTo(j);
                assertThat(m.body()).as("body of record %d", i).isEqualTo(body(BODY, i));
                assertThat(store.readAt(m.physicalOffset())).as("record %d passes its checks", i).isPresent();
                assertThat(store.lookupByKey("t", "k" + i, 2)).as("lookup of k%d", i).extracting(StoredMessage::physicalOffset)
                        .containsExactly(m.physicalOffset());
            }
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
