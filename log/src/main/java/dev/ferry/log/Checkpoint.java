package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * What is known to be on disk: recovery verifies the commit log from here on and rebuilds the
 * indexes past here. Written as a whole through a temp file, fsync and an atomic rename, so
 * the file is always either the old or the new checkpoint.
 *
 * <pre>
 * offset size field
 *   0     4   magic               0x46434B50 ("FCKP")
 *   4     2   version             1
 *   6     2   reserved
 *   8     8   logFlushedOffset    commit-log bytes forced to disk (a record boundary)
 *  16     8   indexFlushedOffset  every record below this has its index entries forced to disk
 *  24     8   timestamp           ms since the epoch when written
 *  32     4   crc                 CRC32C of bytes [0, 32)
 * </pre>
 *
 * @param logFlushedOffset   see table
 * @param indexFlushedOffset see table
 * @param timestamp          see table
 */
record Checkpoint(long logFlushedOffset, long indexFlushedOffset, long timestamp) {
    static final int MAGIC = 0x46434B50;
    static final short VERSION = 1;
    static final int SIZE = 36;
    static final String FILE = "checkpoint";

    /** Reads the checkpoint of {@code dir}; empty if there is none or it fails its CRC. */
    static Optional<Checkpoint> read(Path dir) {
        Path path = dir.resolve(FILE);
        if (!Files.exists(path)) {
            return Optional.empty();
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path));
            if (b.remaining() != SIZE || b.getInt(0) != MAGIC || b.getShort(4) != VERSION) {
                return Optional.empty();
            }
            CRC32C crc = new CRC32C();
            crc.update(b.array(), 0, 32);
            if ((int) crc.getValue() != b.getInt(32)) {
                return Optional.empty();
            }
            return Optional.of(new Checkpoint(b.getLong(8), b.getLong(16), b.getLong(24)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    void write(Path dir) {
        ByteBuffer b = ByteBuffer.allocate(SIZE);
        b.putInt(MAGIC).putShort(VERSION).putShort((short) 0).putLong(logFlushedOffset).putLong(indexFlushedOffset)
                .putLong(timestamp);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 32);
        b.putInt((int) crc.getValue()).flip();
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + tmp + ": " + e, e);
        }
        try {
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rename " + tmp + ": " + e, e);
        }
        FileNames.fsyncDirectory(dir);
    }
}
