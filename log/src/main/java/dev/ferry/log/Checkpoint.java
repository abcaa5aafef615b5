package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * What is known to be on disk: recovery verifies the commit log from here on and rebuilds the
 * indexes past here. Written as a whole through a temp file, fsync and an atomic rename, so
 * the file is always either the old or the new checkpoint.
 *
 * <p>Version 2 adds what the indexes held when it was written (each queue's end, the key index's
 * end): an index found at open with less than that lost files (deleted by hand), and recovery then
 * rebuilds it from the whole commit log. Version 1 files are still read (without that part).
 *
 * <pre>
 * offset size field
 *   0     4   magic               0x46434B50 ("FCKP")
 *   4     2   version             2 (1: the file ends with the crc at 32)
 *   6     2   flags               bit 0: an index rebuild is under way (reserved, 0, in version 1)
 *   8     8   logFlushedOffset    commit-log bytes forced to disk (a record boundary)
 *  16     8   indexFlushedOffset  every record below this has its index entries forced to disk
 *  24     8   timestamp           ms since the epoch when written
 *  32     8   keyIndexEnd         end of the last record whose keys are in the key index, forced (0: none)
 *  40     4   topicCount          T
 *  44     .   T topics, each:
 *               1   topicLength   L (1..255)
 *               L   topic         UTF-8
 *               4   queueCount    Q: queues of the topic with entries (an end above 0)
 *               12*Q queues       each: queueId (4), its offset index's end, the next offset (8)
 *  end-4  4   crc                 CRC32C of all bytes before it
 * </pre>
 *
 * @param logFlushedOffset   see table
 * @param indexFlushedOffset see table
 * @param timestamp          see table
 * @param keyIndexEnd        see table; -1 if not recorded (version 1)
 * @param queueEnds          see table: topic to queue id to its end; empty if not recorded (version 1)
 * @param rebuilding         flags bit 0: the open that wrote it was rebuilding the indexes from the whole log; a crash
 *                           cut it short if the next open finds it set
 */
record Checkpoint(long logFlushedOffset, long indexFlushedOffset, long timestamp, long keyIndexEnd,
                  Map<String, Map<Integer, Long>> queueEnds, boolean rebuilding) {
    static final int FLAG_REBUILDING = 1;
    static final int MAGIC = 0x46434B50;
    static final short VERSION = 2;
    /** Bytes of a version 1 checkpoint (the whole file). */
    static final int SIZE_V1 = 36;
    /** Bytes of a version 2 checkpoint before its topics. */
    static final int HEADER_V2 = 44;
    /** A checkpoint larger than this is not one (22 million queues would be). */
    static final int MAX_SIZE = 256 << 20;
    static final String FILE = "checkpoint";

    /** Reads the checkpoint of {@code dir}; empty if there is none, it fails its CRC or is not of a known version. */
    static Optional<Checkpoint> read(Path dir) {
        Path path = dir.resolve(FILE);
        try {
            long fileSize = Files.size(path);
            if (fileSize > MAX_SIZE || fileSize < SIZE_V1) {
                return Optional.empty();
            }
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path));
            int size = b.remaining();
            short version = b.getShort(4);
            if (b.getInt(0) != MAGIC || (version != 1 || size != SIZE_V1) && (version != 2 || size < HEADER_V2 + 4)) {
                return Optional.empty();
            }
            CRC32C crc = new CRC32C();
            crc.update(b.array(), 0, size - 4);
            if ((int) crc.getValue() != b.getInt(size - 4)) {
                return Optional.empty();
            }
            if (version == 1) {
                return Optional.of(new Checkpoint(b.getLong(8), b.getLong(16), b.getLong(24), -1, Map.of(), false));
            }
            return Optional.of(new Checkpoint(b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32), topics(b.limit(size - 4)),
                    (b.getShort(6) & FLAG_REBUILDING) != 0));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            return Optional.empty(); // counts that do not fit the file: not a checkpoint this code wrote
        }
    }

    /** The topics part of a version 2 checkpoint ({@code b}'s limit: its crc). */
    private static Map<String, Map<Integer, Long>> topics(ByteBuffer b) {
        b.position(40);
        int topicCount = b.getInt();
        if (topicCount < 0 || (long) topicCount * 6 > b.remaining()) {
            throw new IllegalArgumentException("topic count " + topicCount);
        }
        Map<String, Map<Integer, Long>> out = new HashMap<>();
        for (int t = 0; t < topicCount; t++) {
            byte[] name = new byte[Byte.toUnsignedInt(b.get())];
            b.get(name);
            int queues = b.getInt();
            if (queues < 0 || (long) queues * 12 > b.remaining()) {
                throw new IllegalArgumentException("queue count " + queues);
            }
            Map<Integer, Long> ends = new HashMap<>();
            for (int q = 0; q < queues; q++) {
                ends.put(b.getInt(), b.getLong());
            }
            out.put(new String(name, StandardCharsets.UTF_8), ends);
        }
        if (b.hasRemaining()) {
            throw new IllegalArgumentException(b.remaining() + " bytes after the topics");
        }
        return out;
    }

    /**
     * What index data is missing at open (files deleted by hand): a queue this checkpoint lists with
     * an end whose index now ends below it or is gone, a key index that ends below
     * {@link #keyIndexEnd}, or a queue's index with a file missing between two others or not full
     * before a later one ({@link OffsetIndex#damageAtOpen}). Null if nothing is missing. Called before recovery, on
     * the indexes as found on disk (trimmed for retention): entries below the ends listed were forced
     * before this checkpoint was written.
     */
    String missingIndexData(QueueTable queues, KeyIndex keys) {
        if (keyIndexEnd > 0 && keys.indexedEnd() < keyIndexEnd) {
            return "the key index ends at " + keys.indexedEnd() + ", the checkpoint recorded " + keyIndexEnd
                    + " (index files deleted?)";
        }
        String damage = queues.damageAtOpen();
        if (damage != null) {
            return damage;
        }
        List<ShortQueue> shortQueues = shortQueues(queues);
        return shortQueues.isEmpty() ? null : "queue " + shortQueues.get(0) + " (index files deleted?)";
    }

    /**
     * The index end this checkpoint recorded for a queue: the end it lists, 0 for a queue it does not
     * list (version 2 lists every queue whose end was above 0: one not listed had no entry then, or
     * was made since, and its entries start at offset 0), -1 if it records no ends (version 1).
     */
    long recordedEnd(String topic, int queueId) {
        if (keyIndexEnd < 0) {
            return -1;
        }
        return queueEnds.getOrDefault(topic, Map.of()).getOrDefault(queueId, 0L);
    }

    /** The queues whose index ends below what this checkpoint recorded, topics and queue ids in order. */
    List<ShortQueue> shortQueues(QueueTable queues) {
        List<ShortQueue> out = new ArrayList<>();
        for (Map.Entry<String, Map<Integer, Long>> topic : new TreeMap<>(queueEnds).entrySet()) {
            for (Map.Entry<Integer, Long> e : new TreeMap<>(topic.getValue()).entrySet()) {
                OffsetIndex q = queues.get(topic.getKey(), e.getKey());
                if (q == null || q.indexedOffset() < e.getValue()) {
                    out.add(new ShortQueue(topic.getKey(), e.getKey(), q == null ? -1 : q.indexedOffset(), e.getValue()));
                }
            }
        }
        return out;
    }

    /**
     * A queue whose offset index ends below what the checkpoint recorded.
     *
     * @param indexEnd    the end of its index entries; -1 if it has no index
     * @param recordedEnd the end the checkpoint recorded
     */
    record ShortQueue(String topic, int queueId, long indexEnd, long recordedEnd) {
        @Override
        public String toString() {
            return topic + "/" + queueId + " has index entries up to offset " + (indexEnd < 0 ? "0 (no index)" : Long.toString(indexEnd))
                    + ", the checkpoint recorded " + recordedEnd;
        }
    }

    /** This checkpoint with its rebuilding flag set: written before a rebuild, so that a crash during it makes the next open rebuild again. */
    Checkpoint rebuildingOne() {
        return new Checkpoint(logFlushedOffset, indexFlushedOffset, timestamp, keyIndexEnd, queueEnds, true);
    }

    void write(Path dir) {
        int size = HEADER_V2 + 4;
        for (Map.Entry<String, Map<Integer, Long>> e : queueEnds.entrySet()) {
            size += 1 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 4 + 12 * e.getValue().size();
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(MAGIC).putShort(VERSION).putShort((short) (rebuilding ? FLAG_REBUILDING : 0)).putLong(logFlushedOffset).putLong(indexFlushedOffset)
                .putLong(timestamp).putLong(keyIndexEnd).putInt(queueEnds.size());
        for (Map.Entry<String, Map<Integer, Long>> e : new TreeMap<>(queueEnds).entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            b.put((byte) name.length).put(name).putInt(e.getValue().size());
            new TreeMap<>(e.getValue()).forEach((id, end) -> b.putInt(id).putLong(end));
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, size - 4);
        b.putInt((int) crc.getValue()).flip();
        FileNames.replaceAtomically(dir, FILE, b);
    }
}
