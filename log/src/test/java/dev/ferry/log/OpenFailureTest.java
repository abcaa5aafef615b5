package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open that fails part-way: its checkpoint cannot be written (a directory stands where the
 * checkpoint's temporary file goes; a full disk does the same after a rebuild of the indexes or a
 * crash that took indexed records with it, see {@code DiskFullTest}), or an offset-index or key-index
 * file is damaged. What a user relies on: the open throws an error that says what failed, and leaves
 * nothing held, not the store's lock, not the segment filler thread recovery started, not the
 * files it had opened, so that the same process opens the store once the cause is gone and
 * finds exactly what it held.
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

    @Test
    void anOpenThatFindsADamagedIndexFileSaysWhichAndLeavesNoFileOfTheStoreOpen() throws Exception {
        LogConfig config = StoreTestSupport.smallConfig(dir).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 300; i++) {
                store.append(StoreTestSupport.message("t", i < 250 ? 0 : 1, "m" + i));
            }
        }
        // queue 0's third index file (entries 200..249) gets a wrong magic: its first two are opened before it
        Path damaged = dir.resolve("index").resolve("t").resolve("0").resolve(FileNames.name(200));
        byte[] original = Files.readAllBytes(damaged);
        byte[] garbled = original.clone();
        garbled[0] ^= 0x5A;
        Files.write(damaged, garbled);
        long openBefore = openFilesUnder(dir);

        assertThatThrownBy(() -> MessageStore.open(config)).isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining(damaged.toString()).hasMessageContaining("index header");
        assertThat(openFilesUnder(dir)).as("descriptors open on the store's files after the failed open").isEqualTo(openBefore);
        assertThat(dir.resolve("abort")).as("an open that did not finish counts as a crash").exists();

        Files.write(damaged, original);
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).isTrue();
            assertThat(StoreTestSupport.readAll(store, "t", 0)).hasSize(250);
            assertThat(StoreTestSupport.readAll(store, "t", 1)).hasSize(50);
        }
    }

    /**
     * An older key-index file with a wrong magic (the newest one is deleted and indexed again, see
     * PowerLossTest): the open fails naming the file and what it found there, not only what it
     * expected, and leaves nothing open.
     */
    @Test
    void anOpenThatFindsADamagedKeyIndexFileSaysWhatItFound() throws Exception {
        LogConfig config = StoreTestSupport.smallConfig(dir).keyIndexEntries(5).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 30; i++) {
                store.append(LogMessage.builder("t", 0, StoreTestSupport.body(100, i)).key("k" + i).build());
            }
        }
        Path damaged = dir.resolve("keyindex").resolve(FileNames.name(0));
        assertThat(StoreTestSupport.filesOnDisk(dir.resolve("keyindex"))).as("key files").hasSizeGreaterThan(2);
        byte[] original = Files.readAllBytes(damaged);
        byte[] garbled = original.clone();
        garbled[0] = 0x12;
        garbled[1] = 0x34;
        garbled[2] = 0x56;
        garbled[3] = 0x78;
        Files.write(damaged, garbled);
        long openBefore = openFilesUnder(dir);

        assertThatThrownBy(() -> MessageStore.open(config)).isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining(damaged.toString()).hasMessageContaining("magic 0x12345678");
        assertThat(openFilesUnder(dir)).as("descriptors open on the store's files after the failed open").isEqualTo(openBefore);

        Files.write(damaged, original);
        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.lookupByKey("t", "k0", 2)).as("lookup of k0").hasSize(1);
        }
    }

    /** File descriptors of this process open on files under {@code root} (Linux /proc; 0 elsewhere). */
    private static long openFilesUnder(Path root) throws java.io.IOException {
        Path fds = Path.of("/proc/self/fd");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(fds), "no /proc/self/fd here");
        long n = 0;
        try (java.util.stream.Stream<Path> s = Files.list(fds)) {
            for (Path fd : (Iterable<Path>) s::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).startsWith(root)) {
                        n++;
                    }
                } catch (java.io.IOException | UnsupportedOperationException gone) {
                    // closed while listing
                }
            }
        }
        return n;
    }

    private static long fillerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("ferry-segment-filler")).count();
    }
}
