package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static dev.ferry.log.StoreTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.log.StoreTestSupport.MutableClock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ways to find messages: by id, by key, by time, by queue offset (with coalesced regions and tag filters). */
class LookupTest {
    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(T0);

    private LogConfig config() {
        return smallConfig(dir).clock(clock).build();
    }

    @Test
    void readByIdReturnsTheMessageAndNothingForIdsThatNameNoRecord() {
        try (MessageStore store = MessageStore.open(config())) {
            AppendResult a = store.append(StoreTestSupport.message("t", 0, "first"));
            AppendResult b = store.append(StoreTestSupport.message("t", 1, "second"));
            assertThat(store.readById(b.messageId())).as("by id %s", b.messageId()).hasValueSatisfying(m -> {
                assertThat(text(m)).isEqualTo("second");
                assertThat(m.messageId()).isEqualTo(b.messageId());
                assertThat(m.queueId()).isEqualTo(1);
            });
            assertThat(store.readById(a.messageId()).map(StoreTestSupport::text)).hasValue("first");
            assertThat(store.readById(MessageIds.of(a.physicalOffset() + 1))).as("id inside a record").isEmpty();
            assertThat(store.readById(MessageIds.of(store.writtenOffset()))).as("id of the end").isEmpty();
            assertThatThrownBy(() -> store.readById("xyz")).isInstanceOf(InvalidMessageException.class)
                    .hasMessageContaining("message id").hasMessageContaining("16 hex digits");
        }
    }

    @Test
    void lookupByKeyFindsNewestFirstPerTopicAlsoAfterReopen() {
        List<String> expected = List.of("order-1 v3", "order-1 v2", "order-1 v1");
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 1; i <= 3; i++) {
                store.append(LogMessage.builder("orders", 0, ("order-1 v" + i).getBytes()).key("order-1").key("batch-" + i).build());
                store.append(LogMessage.builder("orders", 1, ("order-2 v" + i).getBytes()).key("order-2").build());
            }
            store.append(LogMessage.builder("audit", 0, "audit of order-1".getBytes()).key("order-1").build());
            assertKeys(store, expected);
        }
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().crashed()).isFalse();
            assertKeys(store, expected);
        }
        // a crash-recovery that re-scans already indexed records must not duplicate results
        try {
            Files.createFile(dir.resolve("abort"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().crashed()).isTrue();
            assertKeys(store, expected);
        }
    }

    /**
     * The key index is written by the dispatcher, a step behind the appender: a key is found as soon
     * as its append returns, and every key of every record is found, also after the index moved on
     * to new files (1,000 entries per file here: 4,000 records of 1-3 keys, single and batched
     * appends, every fourth record without keys) and after a reopen. The second half is appended
     * without lookups, so the dispatcher trails the appender as the files fill: each key file still
     * holds only records at or past its name (the appender starts a file once the dispatcher has
     * caught up), and the files hold every key once.
     */
    @Test
    void everyKeyIsFoundAsSoonAsItsAppendReturnsAcrossKeyFiles() throws IOException {
        int records = 4_000;
        List<AppendResult> appended = new ArrayList<>();
        try (MessageStore store = MessageStore.open(config())) {
            int i = 0;
            while (i < records) {
                if (i >= records / 2) {
                    appended.add(store.append(keyed(i++))); // no lookups: the dispatcher trails
                } else if (i % 50 == 0) {
                    List<LogMessage> batch = new ArrayList<>();
                    for (int j = 0; j < 10; j++) {
                        batch.add(keyed(i++));
                    }
                    appended.addAll(store.appendBatchAsync(batch).join());
                } else {
                    appended.add(store.append(keyed(i++)));
                }
                if (i <= records / 2) {
                    String key = "k" + (i - 1) + "-0";
                    assertThat(store.lookupByKey("t", key, 10)).as("lookup of %s right after its append", key)
                            .extracting(StoredMessage::physicalOffset).containsExactly(keyCount(i - 1) == 0 ? new Long[0]
                                    : new Long[] {appended.get(i - 1).physicalOffset()});
                }
            }
            assertEveryKey(store, appended);
        }
        java.util.TreeSet<Long> keyFiles = StoreTestSupport.filesOnDisk(dir.resolve("keyindex"));
        assertThat(keyFiles).as("key index files").hasSizeGreaterThan(4);
        long entries = 0;
        for (long base : keyFiles) {
            Long nextBase = keyFiles.higher(base);
            ByteBuffer f = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("keyindex").resolve(FileNames.name(base))));
            int count = f.getInt(16);
            int entriesStart = KeyIndex.HEADER_SIZE + f.getInt(8) * KeyIndex.SLOT_SIZE;
            for (int e = 0; e < count; e++) {
                long phys = f.getLong(entriesStart + e * KeyIndex.ENTRY_SIZE + 8);
                assertThat(phys).as("record of entry %d of key file %d", e, base).isGreaterThanOrEqualTo(base)
                        .isLessThan(nextBase == null ? Long.MAX_VALUE : nextBase);
            }
            entries += count;
        }
        assertThat(entries).as("entries in all key files").isEqualTo(java.util.stream.IntStream.range(0, records).map(LookupTest::keyCount).sum());
        try (MessageStore store = MessageStore.open(config())) {
            assertThat(store.recoveryReport().indexesRebuilt()).as("a rebuild at the reopen").isNull();
            assertEveryKey(store, appended);
        }
    }

    /**
     * After a machine crash the key index can end past the log's end that recovery kept; the open
     * sets its end back to the log's end, or a record appended there whose keys a crash kept the
     * dispatcher from writing would lie below the key index's end, where recovery adds no keys.
     */
    @Test
    void aKeyIndexEndingPastTheLogIsCutBackToTheLogsEnd() {
        Path keyDir = dir.resolve("keys");
        KeyIndex keys = new KeyIndex(keyDir, 64, 100);
        try {
            keys.add("t", List.of("a"), 4096, 100, T0);
            keys.add("t", List.of("b"), 4196, 100, T0);
            assertThat(keys.indexedEnd()).isEqualTo(4296);
            keys.recovered(4200);
            assertThat(keys.indexedEnd()).as("end once cut back to a log ending at 4200").isEqualTo(4200);
            keys.recovered(5000);
            assertThat(keys.indexedEnd()).as("end after a cap past it").isEqualTo(4200);
            keys.force();
        } finally {
            keys.close();
        }
        KeyIndex reopened = new KeyIndex(keyDir, 64, 100);
        try {
            assertThat(reopened.indexedEnd()).as("end read at the next open").isEqualTo(4200);
            assertThat(reopened.lookup("t", "b", 10)).as("entries are kept").containsExactly(4196L);
        } finally {
            reopened.close();
        }
    }

    /** Keys of record {@code i}: none for i % 4 == 3, else 1 to 3. */
    private static int keyCount(int i) {
        return i % 4 == 3 ? 0 : i % 4 + 1;
    }

    /** Record {@code i}: keys "k<i>-<n>", n below {@link #keyCount}. */
    private static LogMessage keyed(int i) {
        LogMessage.Builder b = LogMessage.builder("t", i % 3, body(20, i));
        for (int k = 0; k < keyCount(i); k++) {
            b.key("k" + i + "-" + k);
        }
        return b.build();
    }

    private static void assertEveryKey(MessageStore store, List<AppendResult> appended) {
        for (int i = 0; i < appended.size(); i++) {
            for (int k = 0; k < 3; k++) {
                List<StoredMessage> found = store.lookupByKey("t", "k" + i + "-" + k, 10);
                boolean has = k < keyCount(i);
                assertThat(found).as("lookup of k%d-%d", i, k).extracting(StoredMessage::physicalOffset)
                        .containsExactly(has ? new Long[] {appended.get(i).physicalOffset()} : new Long[0]);
            }
        }
    }

    private static void assertKeys(MessageStore store, List<String> expected) {
        assertThat(store.lookupByKey("orders", "order-1", 10)).extracting(StoreTestSupport::text).as("orders / order-1")
                .containsExactlyElementsOf(expected);
        assertThat(store.lookupByKey("orders", "order-1", 2)).extracting(StoreTestSupport::text).as("orders / order-1, max 2")
                .containsExactlyElementsOf(expected.subList(0, 2));
        assertThat(store.lookupByKey("orders", "batch-2", 10)).extracting(StoreTestSupport::text).as("second key of a message")
                .containsExactly("order-1 v2");
        assertThat(store.lookupByKey("audit", "order-1", 10)).extracting(StoreTestSupport::text).as("same key, other topic")
                .containsExactly("audit of order-1");
        assertThat(store.lookupByKey("orders", "order-3", 10)).as("unknown key").isEmpty();
    }

    @Test
    void offsetForTimestampUsesStoreTimes() {
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 0; i < 10; i++) {
                clock.set(T0 + i * 1_000L);
                store.append(StoreTestSupport.message("t", 0, "m" + i));
            }
            clock.set(T0 - 5_000); // the clock stepping back does not make store times go back
            store.append(StoreTestSupport.message("t", 0, "m10"));
            assertThat(store.readMessages("t", 0, 10, 1).get(0).storeTimestamp()).as("store time after the clock stepped back")
                    .isEqualTo(T0 + 9_000);

            assertThat(store.offsetForTimestamp("t", 0, T0 - 1)).as("before everything").isZero();
            assertThat(store.offsetForTimestamp("t", 0, T0)).as("exactly the first").isZero();
            assertThat(store.offsetForTimestamp("t", 0, T0 + 1)).as("just after the first").isEqualTo(1);
            assertThat(store.offsetForTimestamp("t", 0, T0 + 4_500)).as("between 4 and 5").isEqualTo(5);
            assertThat(store.offsetForTimestamp("t", 0, T0 + 9_000)).as("the last time, held by 9 and 10").isEqualTo(9);
            assertThat(store.offsetForTimestamp("t", 0, T0 + 60_000)).as("after everything: the end").isEqualTo(11);
            assertThat(store.offsetForTimestamp("nope", 0, T0)).as("unknown queue").isZero();
        }
    }

    @Test
    void manyQueuesEachStayFifo() {
        int queues = 50;
        int perQueue = 200;
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 0; i < perQueue; i++) {
                for (int q = 0; q < queues; q++) {
                    store.append(LogMessage.builder("many", q, body(i % 37, q * 1_000L + i)).build());
                }
            }
            assertThat(store.queueIds("many")).hasSize(queues);
            for (int q = 0; q < queues; q++) {
                List<StoredMessage> all = readAll(store, "many", q);
                assertThat(all).as("many/%d", q).hasSize(perQueue);
                for (int i = 0; i < perQueue; i++) {
                    assertThat(all.get(i).queueOffset()).isEqualTo(i);
                    assertThat(all.get(i).body()).as("many/%d offset %d", q, i).isEqualTo(body(i % 37, q * 1_000L + i));
                }
            }
        }
    }

    @Test
    void adjacentRecordsOfAQueueAreOneRegionAndTransferToCopiesTheirBytes() throws IOException {
        try (MessageStore store = MessageStore.open(smallConfig(dir).segmentBytes(4096).clock(clock).build())) {
            List<AppendResult> q0 = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                q0.add(store.append(LogMessage.builder("t", 0, body(200, i)).build()));
            }
            store.append(LogMessage.builder("t", 1, body(200, 100)).build()); // breaks the run
            for (int i = 3; i < 5; i++) {
                q0.add(store.append(LogMessage.builder("t", 0, body(200, i)).build()));
            }
            for (int i = 5; i < 20; i++) { // 296-byte records: 13 per 4 KiB segment, so these cross into segment 1
                q0.add(store.append(LogMessage.builder("t", 0, body(200, i)).build()));
            }
            int crossing = (int) q0.stream().filter(a -> a.physicalOffset() < 4096).count();

            try (ReadResult r = store.read("t", 0, 0, 100, Integer.MAX_VALUE)) {
                assertThat(r.messageCount()).isEqualTo(20);
                assertThat(r.nextOffset()).isEqualTo(20);
                assertThat(r.regions()).as("regions: 0-2, 3-%d (up to the segment end), %d-19", crossing - 1, crossing)
                        .extracting(ReadResult.Region::physicalOffset)
                        .containsExactly(q0.get(0).physicalOffset(), q0.get(3).physicalOffset(), q0.get(crossing).physicalOffset());
                assertThat(r.regions().get(0).length()).isEqualTo(3 * 296);
                assertThat(r.totalBytes()).isEqualTo(20 * 296);

                ByteArrayOutputStream expected = new ByteArrayOutputStream();
                for (AppendResult a : q0) {
                    expected.write(recordBytes(a));
                }
                Path copy = dir.resolve("copy");
                try (FileChannel out = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    for (ReadResult.Region region : r.regions()) {
                        region.transferTo(out);
                    }
                }
                assertThat(Files.readAllBytes(copy)).as("bytes sent by transferTo = the 20 records").isEqualTo(expected.toByteArray());
            }

            try (ReadResult r = store.read("t", 0, 0, 100, 3 * 296)) {
                assertThat(r.messageCount()).as("messages within maxBytes").isEqualTo(3);
                assertThat(r.nextOffset()).isEqualTo(3);
            }
        }
    }

    private byte[] recordBytes(AppendResult a) throws IOException {
        long base = a.physicalOffset() / 4096 * 4096;
        try (FileChannel ch = FileChannel.open(dir.resolve("commitlog").resolve(FileNames.name(base)), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(a.size());
            ch.read(b, a.physicalOffset() - base);
            return b.array();
        }
    }

    @Test
    void tagFilterSkipsNonMatchingEntriesAndAdvancesPastThem() {
        try (MessageStore store = MessageStore.open(config())) {
            String[] tags = {"A", "B", null, "A", "B", "B", "A"};
            for (int i = 0; i < tags.length; i++) {
                store.append(LogMessage.builder("t", 0, ("m" + i).getBytes()).tags(tags[i]).build());
            }
            store.append(LogMessage.builder("t", 0, "m7".getBytes()).tags("B").build());
            long a = TagHash.of("A");
            try (ReadResult r = store.read("t", 0, 0, 100, Integer.MAX_VALUE, h -> h == a)) {
                assertThat(r.messageCount()).isEqualTo(3);
                List<String> read = new ArrayList<>();
                for (int i = 0; i < r.messageCount(); i++) {
                    read.add(text(r.message(i)) + "@" + r.queueOffset(i));
                    assertThat(r.message(i).tags()).isEqualTo("A");
                }
                assertThat(read).containsExactly("m0@0", "m3@3", "m6@6");
                assertThat(r.nextOffset()).as("next offset: past the trailing non-matching entry too").isEqualTo(8);
            }
            try (ReadResult r = store.read("t", 0, 0, 2, Integer.MAX_VALUE, h -> h == a)) {
                assertThat(r.messageCount()).isEqualTo(2);
                assertThat(r.nextOffset()).as("next offset after the 2nd match").isEqualTo(4);
            }
            try (ReadResult r = store.read("t", 0, 7, 10, Integer.MAX_VALUE, h -> h == a)) {
                assertThat(r.messageCount()).as("no match from 7").isZero();
                assertThat(r.nextOffset()).isEqualTo(8);
                assertThat(r.regions()).isEmpty();
            }
        }
    }

    /**
     * A property filter that is slow per record (a client's expression can be) ends the read once
     * it has run for the budget, answering the entries examined so far; the next read goes on
     * from there, so every record is still seen exactly once.
     */
    @Test
    void aSlowPropertyFilterEndsTheReadAtItsBudgetAndTheNextReadGoesOn() {
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 0; i < 200; i++) {
                store.append(LogMessage.builder("t", 0, ("m" + i).getBytes()).property("n", Integer.toString(i)).build());
            }
            long perRecordNanos = MessageStore.FILTER_BUDGET_NANOS / 4;
            java.util.function.Predicate<java.util.Map<String, String>> slowEven = p -> {
                java.util.concurrent.locks.LockSupport.parkNanos(perRecordNanos);
                return Integer.parseInt(p.get("n")) % 2 == 0;
            };
            List<String> read = new ArrayList<>();
            long offset = 0;
            int reads = 0;
            while (offset < 200) {
                try (ReadResult r = store.read("t", 0, offset, 1_000, Integer.MAX_VALUE, null, slowEven)) {
                    assertThat(r.nextOffset()).as("each read examines at least one entry").isGreaterThan(offset);
                    for (int i = 0; i < r.messageCount(); i++) {
                        read.add(text(r.message(i)));
                    }
                    offset = r.nextOffset();
                    reads++;
                }
            }
            assertThat(reads).as("reads of 200 entries, each filter call taking a quarter of the budget").isGreaterThanOrEqualTo(10);
            List<String> even = new ArrayList<>();
            for (int i = 0; i < 200; i += 2) {
                even.add("m" + i);
            }
            assertThat(read).containsExactlyElementsOf(even);
        }
    }

    /** Store times stay monotonic across a restart after a kill with the clock stepped back, so a time lookup stays right. */
    @Test
    void storeTimesStayMonotonicAcrossARestartWithTheClockSteppedBack() throws IOException {
        clock.set(T0 + 10_000);
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 0; i < 3; i++) {
                store.append(StoreTestSupport.message("t", 0, "a" + i));
            }
        }
        Files.createFile(dir.resolve("abort"));
        clock.set(T0);
        try (MessageStore store = MessageStore.open(config())) {
            store.append(StoreTestSupport.message("t", 0, "b"));
            assertThat(store.readMessages("t", 0, 3, 1).get(0).storeTimestamp()).isEqualTo(T0 + 10_000);
            assertThat(store.offsetForTimestamp("t", 0, T0 + 10_000)).isZero();
            assertThat(store.offsetForTimestamp("t", 0, T0 + 10_001)).isEqualTo(4);
        }
    }

    /**
     * Lookups on a closed store fail as a read does: the time lookup answered the queue's end
     * (every store time read as Long.MIN_VALUE), so a group reset by time racing a shutdown could
     * skip messages, and the key and id lookups answered "nothing" (found by a reviewer).
     */
    @Test
    void lookupsOnAClosedStoreFailInsteadOfAnsweringTheEnd() {
        MessageStore store = MessageStore.open(config());
        String id = null;
        for (int i = 0; i < 3; i++) {
            clock.set(T0 + i * 1_000L);
            AppendResult r = store.append(keyedMessage("m" + i, "k"));
            id = id == null ? r.messageId() : id;
        }
        store.close();
        String firstId = id;
        assertThat(safe(() -> store.offsetForTimestamp("t", 0, T0))).as("time lookup").contains("closed");
        assertThat(safe(() -> store.lookupByKey("t", "k", 10))).as("key lookup").contains("closed");
        assertThat(safe(() -> store.readById(firstId))).as("id lookup").contains("closed");
    }

    /** lookupByKey with a large max ("all of them"): max * 2 + 8 overflowed (1.5e9: negative, nothing found; MAX_VALUE: 6). */
    @Test
    void lookupByKeyWithALargeMaxFindsTheMessages() {
        try (MessageStore store = MessageStore.open(config())) {
            for (int i = 0; i < 10; i++) {
                store.append(keyedMessage("m" + i, "k"));
            }
            assertThat(store.lookupByKey("t", "k", 100)).hasSize(10);
            assertThat(store.lookupByKey("t", "k", 1_500_000_000)).as("max = 1.5e9").hasSize(10);
            assertThat(store.lookupByKey("t", "k", Integer.MAX_VALUE)).as("max = Integer.MAX_VALUE").hasSize(10);
        }
    }

    private static String safe(java.util.concurrent.Callable<?> c) {
        try {
            return String.valueOf(c.call());
        } catch (Exception e) {
            return e.toString();
        }
    }

    private static LogMessage keyedMessage(String body, String key) {
        return LogMessage.builder("t", 0, body.getBytes(java.nio.charset.StandardCharsets.UTF_8)).key(key).build();
    }
}
