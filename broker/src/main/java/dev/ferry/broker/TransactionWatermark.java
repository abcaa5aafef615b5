package dev.ferry.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Where a restart starts rebuilding the undecided transactions ({@link Transactions}): every half
 * message below {@code halfDone} is decided, and no op record below {@code opFrom} concerns a half
 * message at or above {@code halfDone}. So a restart reads the op topic's index from
 * {@code opFrom} and the half topic from {@code halfDone}, not from the beginning.
 *
 * <pre>
 * DATA/transactions/state (32 bytes, updated in place through a mapping)
 * offset size field
 *   0     4   magic 0x46545853 ("FTXS")
 *   4     2   version 1
 *   6     2   reserved
 *   8     8   halfDone: every half-topic offset below it is decided
 *  16     8   opFrom: op-topic offset where a restart starts reading decisions
 *  24     8   reserved
 * </pre>
 *
 * <p><b>Commit rule.</b> The pair may only be written once the op records it skips are on disk
 * (the caller checks the store's flushed offset). {@link #write} stores {@code halfDone} before
 * {@code opFrom}: a write cut between the two leaves a new {@code halfDone} with an older
 * {@code opFrom}, which only makes the next start read more. Being a lower bound, a stale value is
 * always safe; the file is created under a temporary name and renamed.
 *
 * <p><b>Thread safety.</b> Not thread-safe: the transaction-check thread (and start-up) use it.
 */
final class TransactionWatermark implements AutoCloseable {
    static final int MAGIC = 0x46545853;
    static final short VERSION = 1;
    static final int SIZE = 32;
    static final int VERSION_OFFSET = 4;
    static final int HALF_DONE_OFFSET = 8;
    static final int OP_FROM_OFFSET = HALF_DONE_OFFSET + 8;

    private final Path path;
    private final FileChannel channel;
    private final MappedByteBuffer map;

    TransactionWatermark(Path dir) {
        this.path = dir.resolve("state");
        try {
            Directories.create(dir);
            if (!Files.exists(path)) {
                ByteBuffer b = ByteBuffer.allocate(SIZE);
                b.putInt(0, MAGIC).putShort(VERSION_OFFSET, VERSION);
                Path tmp = path.resolveSibling("state.tmp");
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
                    ch.write(b, 0);
                    ch.force(true);
                }
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
                Directories.force(dir);
            }
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long size = channel.size(); // read before the close: after it, size() threw, and the reason was lost
            if (size != SIZE) {
                channel.close();
                throw new BrokerException(path + ": " + size + " bytes (expected: " + SIZE + ")");
            }
            map = channel.map(FileChannel.MapMode.READ_WRITE, 0, SIZE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open transaction state " + path, e);
        }
        if (map.getInt(0) != MAGIC || map.getShort(VERSION_OFFSET) != VERSION) {
            close();
            throw new BrokerException(path + ": magic 0x" + Integer.toHexString(map.getInt(0)) + " version " + map.getShort(VERSION_OFFSET)
                    + " (expected: 0x" + Integer.toHexString(MAGIC) + " version " + VERSION + ")");
        }
    }

    long halfDone() {
        return map.getLong(HALF_DONE_OFFSET);
    }

    long opFrom() {
        return map.getLong(OP_FROM_OFFSET);
    }

    /** Stores the pair (halfDone first, see the class comment) and forces it to disk. */
    void write(long halfDone, long opFrom) {
        if (halfDone == halfDone() && opFrom == opFrom()) {
            return;
        }
        map.putLong(HALF_DONE_OFFSET, halfDone);
        map.putLong(OP_FROM_OFFSET, opFrom);
        map.force();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + path, e);
        }
    }
}
