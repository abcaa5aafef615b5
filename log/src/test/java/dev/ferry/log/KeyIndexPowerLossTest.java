package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.StoreTestSupport.MutableClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key index after a machine crash that kept a key file made after records the log lost (a
 * key file is forced when it is made; under ASYNC flush the records before it need not be): the
 * file is deleted at open, so keyed appends go on in one file at a time, and a later crash indexes
 * their keys again. Found by a reviewer; each test failed before {@link KeyIndex#recovered} deleted
 * such files. The power loss is emulated by zeroing the segment's tail and deleting the staging
 * ring, the kill by putting back the key index and checkpoint as they were.
 *
 * <p>Also a power loss that keeps a new key file and loses the last entries of the one before
 * (only the new file is forced when it is made): the keys of those records are indexed again
 * ({@link KeyIndex#dropAfterFirstGap}). Found by a reviewer; both such tests failed before (their
 * records readable but not found by key).
 */
class KeyIndexPowerLossTest {
    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(T0);

    private LogConfig config() {
        return smallConfig(dir).clock(clock).build();
    }

    private static LogMessage keyed(String body, String key) {
        return LogMessage.builder("t", 0, body.getBytes(StandardCharsets.UTF_8)).key(key).build();
    }

    /**
     * Unit level: KeyIndex.recovered(logEnd) caps the key index's end with max(logEnd, base). When
     * the machine crash lost the log below the last key file's base (the file is fsynced at creation,
     * the log under ASYNC not), the end stays at base, above the log's end: records appended in
     * [logEnd, base) lie below the key index's end, where recovery adds no keys.
     */
    @Test
    void aKeyFilePastTheLogsEndIsDeletedAtOpen() {
        Path keyDir = dir.resolve("keys");
        KeyIndex keys = new KeyIndex(keyDir, 64, 100);
        try {
            keys.add("t", List.of("a"), 4096, 100, T0); // first keyed record: file named 4096
            keys.recovered(2000); // a power loss kept the log only up to 2000
            assertThat(keys.indexedEnd()).as("key index end after recovery with the log ending at 2000").isLessThanOrEqualTo(2000);
        } finally {
            keys.close();
        }
    }

    /**
     * Store level: power loss loses the log from P, below the base W of the key file (made, and
     * fsynced, by the first keyed append); the next run appends a keyed message at P and is killed
     * before the dispatcher's pass indexed its key (the kill is emulated by putting back the key
     * index and checkpoint as they were at open). The next open does not index its key again.
     */
    @Test
    void theKeyOfAMessageAppendedBelowADeletedKeyFileSurvivesAKill() throws IOException {
        long p;
        try (MessageStore store = MessageStore.open(config())) {
            List<AppendResult> r = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                r.add(store.append(StoreTestSupport.message("t", 0, "m" + i)));
            }
            p = r.get(2).physicalOffset();
            store.append(keyed("k1 message", "k1")); // starts key file at the log's end W > p
        }
        // power loss: the log's bytes from p on never reached the disk; the key file (fsynced at creation) did
        Path segment = dir.resolve("commitlog").resolve(FileNames.name(0));
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            long size = ch.size();
            ch.write(ByteBuffer.allocate((int) (size - p)), p);
        }
        Files.deleteIfExists(dir.resolve("staging")); // the staging ring's pages were lost as well
        Files.createFile(dir.resolve("abort"));

        Path backup = dir.resolve("backup");
        long k2At;
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().end()).as("log end after the power loss").isEqualTo(p);
            // the state a kill -9 right after the next append leaves, before the dispatcher's pass: as at open
            copyTree(dir.resolve("keyindex"), backup.resolve("keyindex"));
            Files.copy(dir.resolve("checkpoint"), backup.resolve("checkpoint"));
            AppendResult k2 = store.append(keyed("k2 message", "k2"));
            k2At = k2.physicalOffset();
            assertThat(k2At).isEqualTo(p);
            assertThat(store.lookupByKey("t", "k2", 10)).as("k2 while running").hasSize(1);
        }
        // the kill: the key index and checkpoint as the dispatcher left them (k2 not indexed yet), abort marker present
        deleteTree(dir.resolve("keyindex"));
        copyTree(backup.resolve("keyindex"), dir.resolve("keyindex"));
        Files.copy(backup.resolve("checkpoint"), dir.resolve("checkpoint"), StandardCopyOption.REPLACE_EXISTING);
        Files.createFile(dir.resolve("abort"));

        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.readMessages("t", 0, 2, 10)).extracting(StoreTestSupport::text).as("log after the kill")
                    .containsExactly("k2 message");
            assertThat(store.lookupByKey("t", "k2", 10)).as("lookup of k2, whose append returned").extracting(StoreTestSupport::text)
                    .containsExactly("k2 message");
        }
    }

    /**
     * Unit level, the appender's and the dispatcher's calls in their order: after a power loss
     * that cut the log below the last key file B (nearly full), that file fills while the log is
     * still below B; the appender then starts a file named below B, but the dispatcher writes to
     * files.lastEntry() (B, full), and starts a new file for every keyed record ("recovery only").
     */
    @Test
    void keyFilesDoNotMultiplyAfterTheLogWasCutBelowTheLastOne() throws IOException {
        Path keyDir = dir.resolve("keys");
        KeyIndex keys = new KeyIndex(keyDir, 64, 4);
        try {
            keys.add("t", List.of("a"), 4096, 100, T0); // key file 4096, 3 of 4 entries used
            keys.add("t", List.of("b"), 4196, 100, T0);
            keys.add("t", List.of("c"), 4296, 100, T0);
            keys.recovered(2000); // the power loss kept the log up to 2000
            long pos = 2000;
            for (int i = 0; i < 20; i++) { // 20 records with one key each, as the appender and then the dispatcher handle them
                keys.reserve(1, pos, T0, () -> {});
                keys.claim(1);
                keys.add("t", List.of("k" + i), pos, 100, T0);
                pos += 100;
            }
            for (int i = 0; i < 20; i++) {
                assertThat(keys.lookup("t", "k" + i, 10)).as("k%d", i).containsExactly(2000L + 100 * i);
            }
            try (Stream<Path> files = Files.list(keyDir)) {
                assertThat(files.count()).as("key files for 23 keys of capacity 4 each").isLessThanOrEqualTo(8);
            }
        } finally {
            keys.close();
        }
    }

    /** Store level of the one above: after the power loss, every keyed append below B makes a key file of its own. */
    @Test
    void aStoreMakesNoKeyFilePerKeyedAppendAfterSuchAPowerLoss() throws IOException {
        LogConfig small = smallConfig(dir).clock(clock).keyIndexEntries(4).build();
        long p;
        try (MessageStore store = MessageStore.open(small)) {
            List<AppendResult> r = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                r.add(store.append(StoreTestSupport.message("t", 0, "m" + i)));
            }
            p = r.get(2).physicalOffset();
            for (int i = 0; i < 3; i++) {
                store.append(keyed("before " + i, "b" + i)); // key file B at the log's end, 3 of 4 entries
            }
        }
        Path segment = dir.resolve("commitlog").resolve(FileNames.name(0));
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate((int) (ch.size() - p)), p);
        }
        Files.deleteIfExists(dir.resolve("staging"));
        Files.createFile(dir.resolve("abort"));
        try (MessageStore store = MessageStore.open(small)) {
            for (int i = 0; i < 20; i++) {
                store.append(keyed("after " + i, "a" + i));
                store.awaitIndexed();
            }
            for (int i = 0; i < 20; i++) {
                assertThat(store.lookupByKey("t", "a" + i, 10)).as("a%d", i).hasSize(1);
            }
        }
        try (Stream<Path> files = Files.list(dir.resolve("keyindex"))) {
            assertThat(files.count()).as("key files for 21 keys, 4 a file").isLessThanOrEqualTo(8);
        }
    }

    /**
     * Store level, the reviewer's shape: key file A fills, B is made (and forced) for the next keyed
     * record; a power loss keeps B and the whole log but loses A's last entries, which were only in
     * the page cache (no checkpoint forced them). Recovery indexed keys only past B's end, so the
     * records whose entries A lost were readable but not found by key.
     */
    @Test
    void keysAPreviousKeyFileLostAreIndexedAgainWhenTheNewFileSurvived() throws IOException {
        LogConfig small = smallConfig(dir).clock(clock).keyIndexEntries(4).build();
        Path backup = dir.resolve("backup");
        try (MessageStore store = MessageStore.open(small)) {
            store.append(StoreTestSupport.message("t", 0, "plain"));
            store.append(keyed("v0", "k0")); // key file A, 1 of 4 entries
            store.append(keyed("v1", "k1"));
            store.awaitIndexed();
            // what a power loss can keep of A: its state before its last entries (checkpoint first: it claims no more than A holds)
            Files.createDirectories(backup);
            Files.copy(dir.resolve("checkpoint"), backup.resolve("checkpoint"));
            copyTree(dir.resolve("keyindex"), backup.resolve("keyindex"));
            store.append(keyed("v2", "k2"));
            store.append(keyed("v3", "k3")); // A full
            store.append(keyed("v4", "k4")); // key file B, forced when made
            store.append(StoreTestSupport.message("t", 0, "plain after"));
            store.append(keyed("v5", "k5"));
            store.awaitIndexed();
            assertThat(keyFiles()).as("key files A and B").hasSize(2);
            copyFile(dir.resolve("keyindex"), backup.resolve("keyindex"), keyFiles().get(1)); // B as it is now
        }
        powerLoss(backup, -1);

        try (MessageStore store = MessageStore.open(small)) {
            for (int i = 0; i <= 5; i++) {
                assertThat(store.lookupByKey("t", "k" + i, 10)).as("lookup of k%d after the power loss", i)
                        .extracting(StoreTestSupport::text).containsExactly("v" + i);
            }
            store.append(keyed("v6", "k6"));
            assertThat(store.lookupByKey("t", "k6", 10)).as("k6, appended after recovery").hasSize(1);
        }
        try (MessageStore store = MessageStore.open(small)) {
            for (int i = 0; i <= 6; i++) {
                assertThat(store.lookupByKey("t", "k" + i, 10)).as("lookup of k%d after a clean reopen", i)
                        .extracting(StoreTestSupport::text).containsExactly("v" + i);
            }
        }
    }

    /**
     * The second shape: as above, and the power loss also cut the log below B's name (after k2).
     * {@link KeyIndex#recovered} deletes B, but recovery had already skipped keys below B's end, so
     * k2, which survived in the log and whose entry A lost, was not found by key.
     */
    @Test
    void keysAPreviousKeyFileLostAreIndexedAgainWhenTheLogEndsBelowTheNewFile() throws IOException {
        LogConfig small = smallConfig(dir).clock(clock).keyIndexEntries(4).build();
        Path backup = dir.resolve("backup");
        long cut;
        try (MessageStore store = MessageStore.open(small)) {
            store.append(keyed("v0", "k0"));
            store.append(keyed("v1", "k1"));
            store.awaitIndexed();
            Files.createDirectories(backup);
            Files.copy(dir.resolve("checkpoint"), backup.resolve("checkpoint"));
            copyTree(dir.resolve("keyindex"), backup.resolve("keyindex"));
            store.append(keyed("v2", "k2"));
            cut = store.append(keyed("v3", "k3")).physicalOffset(); // A full
            store.append(keyed("v4", "k4")); // key file B
            store.awaitIndexed();
            assertThat(keyFiles()).as("key files A and B").hasSize(2);
            copyFile(dir.resolve("keyindex"), backup.resolve("keyindex"), keyFiles().get(1));
        }
        powerLoss(backup, cut);

        try (MessageStore store = MessageStore.open(small)) {
            assertThat(store.recoveryReport().end()).as("log end after the power loss").isEqualTo(cut);
            for (int i = 0; i <= 2; i++) {
                assertThat(store.lookupByKey("t", "k" + i, 10)).as("lookup of k%d, kept by the log", i)
                        .extracting(StoreTestSupport::text).containsExactly("v" + i);
            }
            for (int i = 3; i <= 4; i++) {
                assertThat(store.lookupByKey("t", "k" + i, 10)).as("lookup of k%d, lost with the log's tail", i).isEmpty();
            }
            store.append(keyed("v3 again", "k3"));
            assertThat(store.lookupByKey("t", "k3", 10)).extracting(StoreTestSupport::text).as("k3 appended again")
                    .containsExactly("v3 again");
        }
    }

    /**
     * Puts the disk in the state a power loss leaves: the key index and checkpoint from {@code backup},
     * the log cut at {@code cut} (-1: kept whole), no staging ring, the abort marker down.
     */
    private void powerLoss(Path backup, long cut) throws IOException {
        if (cut >= 0) {
            Path segment = dir.resolve("commitlog").resolve(FileNames.name(0));
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate((int) (ch.size() - cut)), cut);
            }
        }
        deleteTree(dir.resolve("keyindex"));
        copyTree(backup.resolve("keyindex"), dir.resolve("keyindex"));
        Files.copy(backup.resolve("checkpoint"), dir.resolve("checkpoint"), StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(dir.resolve("staging"));
        Files.createFile(dir.resolve("abort"));
    }

    /** The key index's file names, oldest first. */
    private List<String> keyFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("keyindex"))) {
            return files.map(f -> f.getFileName().toString()).filter(n -> !n.endsWith(".tmp")).sorted().toList();
        }
    }

    private static void copyFile(Path fromDir, Path toDir, String name) throws IOException {
        Files.copy(fromDir.resolve(name), toDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        StoreTestSupport.deleteTree(root);
    }
}
