package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files in the store's folders that are not the store's own records or indexes: the temporary
 * files a creation cut short by a crash leaves (a segment, a key-index file, the checkpoint, the
 * queue floors), and a file someone put in the offset indexes' folder. What a user relies on: the
 * store opens after a crash that left them, serves every record and key it held, takes appends, and
 * the temporary files of the commit log and the key index are gone.
 */
class StrayFilesTest {
    @TempDir
    Path dir;

    @Test
    void leftoverTemporaryFilesAndAFileInTheIndexFolderDoNotStopTheOpen() throws Exception {
        LogConfig config = smallConfig(dir).segmentBytes(4096).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 20; i++) {
                store.append(LogMessage.builder("t", i % 2, StoreTestSupport.body(300, i)).key("k" + i).build());
            }
        }
        long nextSegment = StoreTestSupport.filesOnDisk(dir.resolve("commitlog")).last() + 4096;
        Path segmentTmp = dir.resolve("commitlog").resolve(FileNames.name(nextSegment) + ".tmp");
        Path keyTmp = dir.resolve("keyindex").resolve(FileNames.name(nextSegment) + ".tmp");
        Files.write(segmentTmp, new byte[100]);
        Files.write(keyTmp, new byte[100]);
        Files.writeString(dir.resolve("checkpoint.tmp"), "cut short");
        Files.writeString(dir.resolve("queue-floors.tmp"), "t 0 5");
        Files.writeString(dir.resolve("index").resolve("README.txt"), "offset indexes: do not edit");
        Files.createFile(dir.resolve("abort")); // the crash that left the temporary files

        try (MessageStore store = MessageStore.open(config)) {
            assertThat(store.recoveryReport().crashed()).as("%s", store.recoveryReport()).isTrue();
            assertThat(store.topics()).as("topics").containsExactly("t");
            for (int q = 0; q < 2; q++) {
                List<StoredMessage> all = readAll(store, "t", q);
                assertThat(all).as("t/%d records", q).hasSize(10);
                for (int j = 0; j < all.size(); j++) {
                    int i = 2 * j + q;
                    assertThat(all.get(j).body()).as("body of record %d", i).isEqualTo(StoreTestSupport.body(300, i));
                    assertThat(store.lookupByKey("t", "k" + i, 2)).as("lookup of k%d", i).hasSize(1);
                }
            }
            assertThat(store.minOffset("t", 0)).as("t/0 first offset (the floors' temporary file is not the floors)").isZero();
            AppendResult next = store.append(StoreTestSupport.message("t", 0, "after"));
            assertThat(next.queueOffset()).as("offset of the append after the open").isEqualTo(10);
            assertThat(store.readMessages("t", 0, 10, 1)).extracting(StoreTestSupport::text).containsExactly("after");
        }
        assertThat(segmentTmp).as("the segment's temporary file").doesNotExist();
        assertThat(keyTmp).as("the key-index file's temporary file").doesNotExist();
    }

    /**
     * Folders in a topic's index folder that the store did not name: one whose digits are past an
     * int failed the open with a NumberFormatException, and "007" beside "7" opened queue 7 a
     * second time from other files. They are named in a warning and left alone.
     */
    @Test
    void foldersNotNamedAsTheStoreNamesQueuesAreIgnored() throws Exception {
        LogConfig config = smallConfig(dir).build();
        try (MessageStore store = MessageStore.open(config)) {
            for (int i = 0; i < 6; i++) {
                store.append(StoreTestSupport.message("t", i % 2, "m" + i));
            }
        }
        Path topic = dir.resolve("index").resolve("t");
        Files.createDirectories(topic.resolve("99999999999"));
        Path copy = Files.createDirectories(topic.resolve("01"));
        try (var files = Files.list(topic.resolve("0"))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Files.writeString(topic.resolve("2"), "not a folder");

        try (MessageStore store = MessageStore.open(config)) {
            assertThat(readAll(store, "t", 0)).extracting(StoreTestSupport::text).containsExactly("m0", "m2", "m4");
            assertThat(readAll(store, "t", 1)).extracting(StoreTestSupport::text).containsExactly("m1", "m3", "m5");
            assertThat(store.nextOffset("t", 2)).as("no queue 2").isZero();
            assertThat(store.append(StoreTestSupport.message("t", 1, "after")).queueOffset()).as("t/1's next offset").isEqualTo(3);
        }
    }
}
