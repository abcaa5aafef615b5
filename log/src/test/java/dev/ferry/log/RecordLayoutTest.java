package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the on-disk formats: every offset and size of {@link RecordLayout}, {@link OffsetIndex},
 * {@link Checkpoint} and {@link KeyIndex} against a literal copy of the tables in their javadoc
 * (and docs/STORAGE.md), plus golden files under {@code src/test/resources/golden/} that a freshly
 * written store must reproduce byte for byte.
 *
 * <p>The golden files are a store's files after two appends with a fixed clock, fixed hosts and
 * fixed messages ({@link #writeGoldenStore}). If the format changes on purpose, bump the version,
 * keep a reader for the old one, and regenerate with
 * {@code mvn -pl log test -Dtest=RecordLayoutTest -Dferry.golden.write=log/src/test/resources/golden}.
 */
class RecordLayoutTest {
    private static final long NOW = 1_700_000_000_000L;

    @TempDir
    Path dir;

    @Test
    void recordLayoutMatchesTheTable() {
        int[][] table = {
                // offset, constant
                {0, RecordLayout.LENGTH_OFFSET},
                {4, RecordLayout.MAGIC_OFFSET},
                {6, RecordLayout.VERSION_OFFSET},
                {7, RecordLayout.RESERVED_OFFSET},
                {8, RecordLayout.CRC_OFFSET},
                {12, RecordLayout.CRC_START},
                {12, RecordLayout.FLAGS_OFFSET},
                {16, RecordLayout.QUEUE_ID_OFFSET},
                {20, RecordLayout.QUEUE_OFFSET_OFFSET},
                {28, RecordLayout.PHYSICAL_OFFSET_OFFSET},
                {36, RecordLayout.BORN_TIMESTAMP_OFFSET},
                {44, RecordLayout.STORE_TIMESTAMP_OFFSET},
                {52, RecordLayout.TAG_HASH_OFFSET},
                {60, RecordLayout.RECONSUME_TIMES_OFFSET},
                {64, RecordLayout.PREPARED_TX_OFFSET_OFFSET},
                {72, RecordLayout.BORN_HOST_OFFSET},
                {8, RecordLayout.IPV4_HOST_SIZE},
                {20, RecordLayout.IPV6_HOST_SIZE},
                {80, RecordLayout.storeHostOffset(0)},
                {92, RecordLayout.storeHostOffset(RecordLayout.FLAG_IPV6_HOSTS)},
                {88, RecordLayout.topicLengthOffset(0)},
                {112, RecordLayout.topicLengthOffset(RecordLayout.FLAG_IPV6_HOSTS)},
                {96, RecordLayout.MIN_RECORD_SIZE},
                {6, RecordLayout.END_MARKER_SIZE},
                {200, RecordLayout.MAX_TOPIC_BYTES},
                {1, RecordLayout.FLAG_IPV6_HOSTS},
                {1, RecordLayout.VERSION},
                {0xFE11, RecordLayout.MAGIC & 0xFFFF},
                {0xFE1E, RecordLayout.END_OF_SEGMENT_MAGIC & 0xFFFF},
                // fixed 88 + topic length 1 + topic + properties length 2 + properties + body length 4 + body
                {96, RecordLayout.recordSize(0, 1, 0, 0)},
                {88 + 1 + 5 + 2 + 10 + 4 + 100, RecordLayout.recordSize(0, 5, 10, 100)},
                {112 + 1 + 5 + 2 + 10 + 4 + 100, RecordLayout.recordSize(RecordLayout.FLAG_IPV6_HOSTS, 5, 10, 100)},
        };
        assertTable("RecordLayout", table);
    }

    @Test
    void indexAndCheckpointLayoutsMatchTheirTables() {
        assertTable("OffsetIndex", new int[][] {
                {0x46494458, OffsetIndex.MAGIC},
                {1, OffsetIndex.VERSION},
                {16, OffsetIndex.HEADER_SIZE},
                {20, OffsetIndex.ENTRY_SIZE},
                {0, OffsetIndex.ENTRY_PHYSICAL_OFFSET},
                {8, OffsetIndex.ENTRY_SIZE_OFFSET},
                {12, OffsetIndex.ENTRY_TAG_HASH_OFFSET},
        });
        assertTable("Checkpoint", new int[][] {
                {0x46434B50, Checkpoint.MAGIC},
                {2, Checkpoint.VERSION},
                {36, Checkpoint.SIZE_V1},
                {44, Checkpoint.HEADER_V2},
        });
        assertTable("KeyIndex", new int[][] {
                {0x464B4559, KeyIndex.MAGIC},
                {1, KeyIndex.VERSION},
                {64, KeyIndex.HEADER_SIZE},
                {4, KeyIndex.SLOT_SIZE},
                {28, KeyIndex.ENTRY_SIZE},
        });
    }

    /** The key index's header fields are private: check where they land in a written file. */
    @Test
    void keyIndexFileHasItsFieldsWhereTheTableSays() throws IOException {
        KeyIndex keys = new KeyIndex(dir, 8, 16);
        keys.add("t", List.of("k1", "k2"), 4096, 300, NOW);
        keys.force();
        keys.close();
        ByteBuffer f = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(FileNames.name(4096))));
        assertThat(f.capacity()).as("file size: header + 8 slots x 4 + 16 entries x 28").isEqualTo(64 + 8 * 4 + 16 * 28);
        assertThat(f.getInt(0)).as("magic @0").isEqualTo(0x464B4559);
        assertThat(f.getShort(4)).as("version @4").isEqualTo((short) 1);
        assertThat(f.getInt(8)).as("slotCount @8").isEqualTo(8);
        assertThat(f.getInt(12)).as("entryCapacity @12").isEqualTo(16);
        assertThat(f.getInt(16)).as("entryCount @16").isEqualTo(2);
        assertThat(f.getLong(24)).as("beginPhysical @24").isEqualTo(4096);
        assertThat(f.getLong(32)).as("endPhysical @32").isEqualTo(4096 + 300);
        assertThat(f.getLong(40)).as("beginTimestamp @40").isEqualTo(NOW);
        assertThat(f.getLong(48)).as("endTimestamp @48").isEqualTo(NOW);
        int entries = 64 + 8 * 4;
        long h2 = KeyIndex.hash("t", "k2");
        assertThat(f.getInt(64 + (int) Math.floorMod(h2, 8L) * 4)).as("slot of k2 holds entry number 2").isEqualTo(2);
        int e2 = entries + 28;
        assertThat(f.getLong(e2)).as("entry 2 keyHash @0").isEqualTo(h2);
        assertThat(f.getLong(e2 + 8)).as("entry 2 physicalOffset @8").isEqualTo(4096);
        assertThat(f.getLong(e2 + 16)).as("entry 2 storeTimestamp @16").isEqualTo(NOW);
        long h1 = KeyIndex.hash("t", "k1");
        int expectedPrevious = Math.floorMod(h1, 8L) == Math.floorMod(h2, 8L) ? 1 : 0;
        assertThat(f.getInt(e2 + 24)).as("entry 2 previous @24").isEqualTo(expectedPrevious);
    }

    /** The first golden record checked field by field at literal offsets, CRC recomputed independently. */
    @Test
    void goldenRecordFieldsAreWhereTheTableSays() throws IOException {
        ByteBuffer r = ByteBuffer.wrap(golden("records-v1.bin"));
        int length = r.getInt(0);
        assertThat(r.getShort(4)).as("magic @4").isEqualTo((short) 0xFE11);
        assertThat(r.get(6)).as("version @6").isEqualTo((byte) 1);
        assertThat(r.get(7)).as("reserved @7").isZero();
        CRC32C crc = new CRC32C();
        crc.update(r.array(), 12, length - 12);
        assertThat(r.getInt(8)).as("crc @8 = CRC32C of [12, length)").isEqualTo((int) crc.getValue());
        assertThat(r.getInt(12)).as("flags @12").isEqualTo(MessageFlags.DELAYED);
        assertThat(r.getInt(16)).as("queueId @16").isEqualTo(3);
        assertThat(r.getLong(20)).as("queueOffset @20").isZero();
        assertThat(r.getLong(28)).as("physicalOffset @28").isZero();
        assertThat(r.getLong(36)).as("bornTimestamp @36").isEqualTo(1_600_000_000_000L);
        assertThat(r.getLong(44)).as("storeTimestamp @44").isEqualTo(NOW);
        assertThat(r.getLong(52)).as("tagHash @52").isEqualTo(TagHash.of("tagA"));
        assertThat(r.getInt(60)).as("reconsumeTimes @60").isEqualTo(2);
        assertThat(r.getLong(64)).as("preparedTxOffset @64").isEqualTo(77);
        assertThat(new byte[] {r.get(72), r.get(73), r.get(74), r.get(75)}).as("bornHost @72").containsExactly(10, 0, 0, 1);
        assertThat(r.getInt(76)).as("bornHost port @76").isEqualTo(4242);
        assertThat(new byte[] {r.get(80), r.get(81), r.get(82), r.get(83)}).as("storeHost @80")
                .containsExactly(192 - 256, 168 - 256, 1, 2);
        assertThat(r.getInt(84)).as("storeHost port @84").isEqualTo(10911);
        assertThat(r.get(88)).as("topicLength @88").isEqualTo((byte) 6);
        assertThat(new String(r.array(), 89, 6, java.nio.charset.StandardCharsets.UTF_8)).as("topic @89").isEqualTo("golden");
        int propertiesLength = Short.toUnsignedInt(r.getShort(95));
        assertThat(PropertiesCodec.decode(r, 97, propertiesLength)).as("properties @97")
                .containsExactly(java.util.Map.entry("TAGS", "tagA"), java.util.Map.entry("KEYS", "k1"), java.util.Map.entry("p", "v"));
        int bodyAt = 97 + propertiesLength;
        assertThat(r.getInt(bodyAt)).as("bodyLength").isEqualTo(12);
        assertThat(new String(r.array(), bodyAt + 4, 12, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hello, ferry");
        assertThat(length).as("length = end of body").isEqualTo(bodyAt + 4 + 12);
    }

    @Test
    void freshlyWrittenStoreMatchesTheGoldenFiles() throws IOException {
        Path store = dir.resolve("store");
        long end = writeGoldenStore(store);
        byte[] records = new byte[(int) end];
        ByteBuffer.wrap(Files.readAllBytes(store.resolve("commitlog").resolve(FileNames.name(0)))).get(0, records);
        byte[] index = Files.readAllBytes(store.resolve("index/golden/3").resolve(FileNames.name(0)));
        byte[] checkpoint = Files.readAllBytes(store.resolve(Checkpoint.FILE));

        String out = System.getProperty("ferry.golden.write");
        if (out != null) {
            Files.createDirectories(Path.of(out));
            Files.write(Path.of(out, "records-v1.bin"), records);
            Files.write(Path.of(out, "offset-index-v1.bin"), index);
            Files.write(Path.of(out, "checkpoint-v2.bin"), checkpoint);
        }
        assertSameBytes("records-v1.bin", records);
        assertSameBytes("offset-index-v1.bin", index);
        assertSameBytes("checkpoint-v2.bin", checkpoint);
    }

    /**
     * A checkpoint whose counts do not fit its file (a queue count of 2^30 for one topic, in a
     * file of 58 bytes), with a correct CRC, is no checkpoint: recovery then starts at the first
     * segment; nothing is allocated for the count.
     */
    @Test
    void aCheckpointWhoseCountsDoNotFitIsIgnored() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Checkpoint.HEADER_V2 + 1 + 1 + 4 + 4);
        b.putInt(Checkpoint.MAGIC).putShort((short) 2).putShort((short) 0).putLong(10).putLong(10).putLong(NOW).putLong(0)
                .putInt(1).put((byte) 1).put((byte) 't').putInt(1 << 30);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        Files.write(dir.resolve(Checkpoint.FILE), b.array());
        assertThat(Checkpoint.read(dir)).isEmpty();
    }

    /**
     * Both checkpoint versions read back: version 1 (written by earlier builds: the golden file of
     * the same store) without index ends, version 2 with the golden store's queue golden/3 ending
     * at offset 2 and its key index at the log's end.
     */
    @Test
    void checkpointsOfBothVersionsAreRead() throws IOException {
        for (String golden : new String[] {"checkpoint-v1.bin", "checkpoint-v2.bin"}) {
            Path d = Files.createDirectories(dir.resolve(golden));
            try (InputStream in = getClass().getResourceAsStream("/golden/" + golden)) {
                Files.write(d.resolve(Checkpoint.FILE), in.readAllBytes());
            }
            Checkpoint c = Checkpoint.read(d).orElseThrow(() -> new AssertionError(golden + " not read"));
            long end = writeGoldenStore(dir.resolve("store-" + golden));
            assertThat(c.logFlushedOffset()).as(golden).isEqualTo(end);
            assertThat(c.timestamp()).isEqualTo(NOW);
            if (golden.contains("v1")) {
                assertThat(c.keyIndexEnd()).isEqualTo(-1);
                assertThat(c.queueEnds()).isEmpty();
            } else {
                int firstLength = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("store-" + golden).resolve("commitlog")
                        .resolve(FileNames.name(0)))).getInt(0);
                assertThat(c.keyIndexEnd()).as("the end of the first record, the only keyed one").isEqualTo(firstLength);
                assertThat(c.queueEnds()).containsOnlyKeys("golden");
                assertThat(c.queueEnds().get("golden")).containsExactly(java.util.Map.entry(3, 2L));
            }
        }
    }

    /** Two records of golden/3 (the second IPv6-born) with everything fixed; returns the commit log end. */
    static long writeGoldenStore(Path dir) {
        Clock clock = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);
        LogConfig config = StoreTestSupport.smallConfig(dir).segmentBytes(4096).indexEntriesPerFile(2).clock(clock)
                .storeHost(new InetSocketAddress("192.168.1.2", 10911)).build();
        try (MessageStore store = MessageStore.open(config)) {
            store.append(LogMessage.builder("golden", 3, "hello, ferry".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    .flags(MessageFlags.DELAYED).bornTimestamp(1_600_000_000_000L)
                    .bornHost(new InetSocketAddress("10.0.0.1", 4242)).reconsumeTimes(2).preparedTxOffset(77)
                    .tags("tagA").key("k1").property("p", "v").build());
            store.append(LogMessage.builder("golden", 3, new byte[] {0, 1, 2, (byte) 0xFF})
                    .bornTimestamp(1_600_000_000_001L).bornHost(new InetSocketAddress("2001:db8::1", 1)).build());
            return store.writtenOffset();
        }
    }

    private static void assertSameBytes(String name, byte[] actual) throws IOException {
        byte[] expected = golden(name);
        int n = Math.min(expected.length, actual.length);
        for (int i = 0; i < n; i++) {
            if (expected[i] != actual[i]) {
                fail("%s differs from the golden file at byte %d: 0x%02x (expected: 0x%02x); the format changed: see the"
                        + " class comment", name, i, actual[i] & 0xFF, expected[i] & 0xFF);
            }
        }
        assertThat(actual.length).as("%s: length (expected: the golden file's)", name).isEqualTo(expected.length);
    }

    private static byte[] golden(String name) throws IOException {
        try (InputStream in = RecordLayoutTest.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new AssertionError("golden file /golden/" + name + " missing from the test resources");
            }
            return in.readAllBytes();
        }
    }

    private static void assertTable(String format, int[][] table) {
        for (int[] row : table) {
            assertThat(row[1]).as("%s: constant (expected: %d, per the table)", format, row[0]).isEqualTo(row[0]);
        }
    }
}
