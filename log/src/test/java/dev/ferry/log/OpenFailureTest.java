package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open that fails part-way (here its checkpoint cannot be written: a directory stands where
 * the checkpoint's temporary file goes; on a real disk, a full disk does the same). What a user
 * relies on: the open throws an error that says what failed, and leaves nothing held, not the
 * store's lock, not the segment filler thread recovery started, so that the same process opens
 * the store once the cause is gone and finds exactly what it held.
 */
class OpenFailureTest {
    @TempDir
    Path dir;

    @Test
    void anOpenThatFailsReleasesTheStoreSoTheSameProcessOpensItLater() throws Exception {
        LogConfig config = StoreTestSupport.smallConfig(dir).preTouch(true).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 100; i++) {
                store.append(StoreTestSupport.message("t", i % 2, "m" + i));
            }
        }
        long fillersBefore = fillerThreads();
        Path blocker = dir.resolve("checkpoint.tmp");
        Files.createDirectory(blocker);

        assertThatThrownBy(() -> MessageStore.open(config)).hasMessageContaining("checkpoint");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (fillerThreads() > fillersBefore && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(fillerThreads()).as("segment filler threads after the failed open").isEqualTo(fillersBefore);

        Files.delete(blocker);
        try (MessageStore store = MessageStore.open(config)) {
            List<StoredMessage> q0 = StoreTestSupport.readAll(store, "t", 0);
            List<StoredMessage> q1 = StoreTestSupport.readAll(store, "t", 1);
            assertThat(q0).extracting(StoreTestSupport::text).containsExactlyElementsOf(
                    java.util.stream.IntStream.range(0, 50).mapToObj(i -> "m" + (2 * i)).toList());
            assertThat(q1).hasSize(50);
            store.append(StoreTestSupport.message("t", 0, "after"));
            assertThat(store.nextOffset("t", 0)).isEqualTo(51);
        }
    }

    private static long fillerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("ferry-segment-filler")).count();
    }
}
