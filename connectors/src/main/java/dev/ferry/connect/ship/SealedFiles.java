package dev.ferry.connect.ship;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Finds the sealed files of a broker's data directory: the files whose bytes will not change
 * again, so a copy made now stays a true copy. It reads the directory as docs/STORAGE.md
 * describes it and never opens the store (a running broker holds its lock).
 *
 * <p><b>What "sealed" means.</b> Everything hangs on the checkpoint ({@code DIR/checkpoint}),
 * the one file that says what is on disk for good. Let {@code log} be its
 * {@code logFlushedOffset} and {@code durable = min(logFlushedOffset, indexFlushedOffset)}.
 * <ul>
 *   <li>a <b>commit-log segment</b> {@code commitlog/B} of length L is sealed when a segment
 *       after it exists and {@code B + L <= log}: the appender has moved on to a later segment
 *       and every byte of this one was forced to disk before the checkpoint was written. The
 *       active segment, and the empty next segment the broker allocates ahead of time, never
 *       qualify. Because checkpoint offsets are append-batch boundaries, crash recovery never
 *       truncates below them, so a sealed segment never changes again (retention may delete it);
 *   <li>an <b>offset-index file</b> {@code index/TOPIC/QUEUE/N} is sealed when a later file of
 *       the same queue exists whose first entry points at a record ending at or below
 *       {@code durable}: index files are created when their first offset is written, so every
 *       file but a queue's last is full, and that entry proves the whole file was written and
 *       forced before the checkpoint;
 *   <li>a <b>key-index file</b> {@code keyindex/B} is sealed when a later key-index file exists
 *       and its header's {@code endPhysical} is at or below {@code durable}.
 * </ul>
 * Without a valid checkpoint nothing is sealed. The price of this rule: a segment is shipped
 * at the first checkpoint (every {@code checkpointIntervalMs}, 10 s by default) after the
 * broker rolled over to the next one, not at the roll-over itself.
 *
 * <p>The few layout facts read here (checkpoint fields, index header and entry offsets) are
 * repeated from the {@code log} module, whose classes are package-private; the tests pin them
 * against a real store.
 *
 * <p><b>Thread safety.</b> Stateless; safe for any number of threads.
 */
final class SealedFiles {
    static final String COMMITLOG_DIR = "commitlog";
    static final String INDEX_DIR = "index";
    static final String KEYINDEX_DIR = "keyindex";
    static final String CHECKPOINT_FILE = "checkpoint";

    // checkpoint (docs/STORAGE.md "Checkpoint")
    static final int CHECKPOINT_MAGIC = 0x46434B50; // "FCKP"
    /** Versions 1 (36 bytes, CRC at 32) and 2 (index ends after the fields read here, CRC in the last 4 bytes). */
    static final short CHECKPOINT_VERSION = 2;
    /** Version 2: the fields, key-index end and topic count (44 bytes), the CRC. */
    static final int CHECKPOINT_V2_MIN_SIZE = 48;
    /** The store ignores a larger checkpoint. */
    static final long CHECKPOINT_MAX_SIZE = 256L << 20;
    static final int CHECKPOINT_MAGIC_OFFSET = 0;
    static final int CHECKPOINT_VERSION_OFFSET = CHECKPOINT_MAGIC_OFFSET + 4;
    static final int CHECKPOINT_LOG_FLUSHED_OFFSET = CHECKPOINT_VERSION_OFFSET + 2 + 2;
    static final int CHECKPOINT_INDEX_FLUSHED_OFFSET = CHECKPOINT_LOG_FLUSHED_OFFSET + 8;
    static final int CHECKPOINT_CRC_OFFSET = CHECKPOINT_INDEX_FLUSHED_OFFSET + 8 + 8;
    static final int CHECKPOINT_SIZE = CHECKPOINT_CRC_OFFSET + 4;

    // offset index (docs/STORAGE.md "Offset index")
    static final int INDEX_HEADER_SIZE = 16;
    static final int INDEX_ENTRY_PHYSICAL_OFFSET = 0;
    static final int INDEX_ENTRY_SIZE_OFFSET = INDEX_ENTRY_PHYSICAL_OFFSET + 8;

    // key index (docs/STORAGE.md "Key index")
    static final int KEYINDEX_END_PHYSICAL_OFFSET = 32;

    private SealedFiles() {
    }

    /** What the checkpoint says is on disk for good. */
    record Durable(long logFlushedOffset, long indexFlushedOffset) {
        long indexes() {
            return Math.min(logFlushedOffset, indexFlushedOffset);
        }
    }

    /**
     * The sealed files of {@code logDir}: segments by base offset, then offset-index files by
     * topic, queue and base, then key-index files; empty without a valid checkpoint.
     */
    static List<ShipFile> scan(Path logDir, boolean includeIndexes) {
        Optional<Durable> checkpoint = readCheckpoint(logDir);
        if (checkpoint.isEmpty()) {
            return List.of();
        }
        Durable durable = checkpoint.get();
        List<ShipFile> out = new ArrayList<>();
        TreeMap<Long, Path> segments = numberedFiles(logDir.resolve(COMMITLOG_DIR));
        Long last = segments.isEmpty() ? null : segments.lastKey();
        for (var e : segments.entrySet()) {
            long length = size(e.getValue());
            if (!e.getKey().equals(last) && length >= 0 && e.getKey() + length <= durable.logFlushedOffset()) {
                out.add(new ShipFile(COMMITLOG_DIR + "/" + e.getValue().getFileName(), e.getValue(), length,
                        ShipFile.Kind.SEGMENT));
            }
        }
        if (!includeIndexes) {
            return out;
        }
        for (Path topic : subdirectories(logDir.resolve(INDEX_DIR))) {
            for (Path queue : subdirectories(topic)) {
                if (!queue.getFileName().toString().matches("[0-9]{1,5}")) {
                    continue;
                }
                Path[] files = numberedFiles(queue).values().toArray(Path[]::new);
                for (int i = 0; i + 1 < files.length; i++) {
                    long length = size(files[i]);
                    if (length >= 0 && firstEntryEnd(files[i + 1]) <= durable.indexes()) {
                        out.add(new ShipFile(INDEX_DIR + "/" + topic.getFileName() + "/" + queue.getFileName() + "/"
                                + files[i].getFileName(), files[i], length, ShipFile.Kind.OFFSET_INDEX));
                    }
                }
            }
        }
        Path[] keyFiles = numberedFiles(logDir.resolve(KEYINDEX_DIR)).values().toArray(Path[]::new);
        for (int i = 0; i + 1 < keyFiles.length; i++) {
            long length = size(keyFiles[i]);
            if (length >= 0 && readLong(keyFiles[i], KEYINDEX_END_PHYSICAL_OFFSET) <= durable.indexes()) {
                out.add(new ShipFile(KEYINDEX_DIR + "/" + keyFiles[i].getFileName(), keyFiles[i], length,
                        ShipFile.Kind.KEY_INDEX));
            }
        }
        return out;
    }

    /** The checkpoint of {@code logDir}, or empty when it is missing, short, of another version or fails its CRC. */
    static Optional<Durable> readCheckpoint(Path logDir) {
        byte[] bytes;
        try {
            if (Files.size(logDir.resolve(CHECKPOINT_FILE)) > CHECKPOINT_MAX_SIZE) {
                return Optional.empty();
            }
            bytes = Files.readAllBytes(logDir.resolve(CHECKPOINT_FILE));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + logDir.resolve(CHECKPOINT_FILE), e);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < CHECKPOINT_SIZE || b.getInt(CHECKPOINT_MAGIC_OFFSET) != CHECKPOINT_MAGIC) {
            return Optional.empty();
        }
        short version = b.getShort(CHECKPOINT_VERSION_OFFSET);
        if (version == 1 ? bytes.length != CHECKPOINT_SIZE : version != CHECKPOINT_VERSION || bytes.length < CHECKPOINT_V2_MIN_SIZE) {
            return Optional.empty();
        }
        int crcAt = bytes.length - 4; // version 1: CHECKPOINT_CRC_OFFSET
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, crcAt);
        if ((int) crc.getValue() != b.getInt(crcAt)) {
            return Optional.empty();
        }
        return Optional.of(new Durable(b.getLong(CHECKPOINT_LOG_FLUSHED_OFFSET), b.getLong(CHECKPOINT_INDEX_FLUSHED_OFFSET)));
    }

    /** End (physical offset + size) of the record the first entry of an index file points at; MAX_VALUE if none. */
    private static long firstEntryEnd(Path indexFile) {
        long physical = readLong(indexFile, INDEX_HEADER_SIZE + INDEX_ENTRY_PHYSICAL_OFFSET);
        ByteBuffer size = read(indexFile, INDEX_HEADER_SIZE + INDEX_ENTRY_SIZE_OFFSET, 4);
        if (physical == Long.MAX_VALUE || size == null || size.getInt(0) <= 0) {
            return Long.MAX_VALUE;
        }
        return physical + size.getInt(0);
    }

    /** A big-endian long at {@code position}, or MAX_VALUE when the file is gone or too short. */
    private static long readLong(Path file, long position) {
        ByteBuffer b = read(file, position, 8);
        return b == null ? Long.MAX_VALUE : b.getLong(0);
    }

    private static ByteBuffer read(Path file, long position, int length) {
        ByteBuffer b = ByteBuffer.allocate(length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) {
                    return null;
                }
            }
            return b;
        } catch (NoSuchFileException e) {
            return null; // deleted by retention meanwhile
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Size of a file, or -1 when retention deleted it meanwhile. */
    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stat " + file, e);
        }
    }

    /** Files named by a 20-digit number in {@code dir}, by that number. */
    static TreeMap<Long, Path> numberedFiles(Path dir) {
        TreeMap<Long, Path> out = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (n.length() == 20 && n.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    out.put(Long.parseLong(n), p);
                }
            });
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return out;
    }

    private static List<Path> subdirectories(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }
}
