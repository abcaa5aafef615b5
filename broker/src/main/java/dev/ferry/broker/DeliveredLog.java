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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Which delayed messages were already delivered, on disk: one bit per message of the schedule
 * topic (by its queue offset), plus a low watermark and the offset being delivered right now.
 * Together with the schedule topic's offset index (which holds each message's delivery time, see
 * {@link DelayedDelivery}) this is the whole persistent timer: a restart reloads the pending
 * messages as "entries from the watermark on whose bit is clear".
 *
 * <pre>
 * DATA/schedule/state (32 bytes, updated in place through a mapping)
 * offset size field
 *   0     4   magic 0x46534348 ("FSCH")
 *   4     2   version 1
 *   6     2   reserved
 *   8     8   lowWatermark: every schedule offset below it is delivered
 *  16     8   inFlight: the schedule offset being re-appended now, -1 if none
 *  24     8   reserved
 *
 * DATA/schedule/delivered/NNNNNNNNNNNNNNNNNNNN (named by the 20-digit offset of its first bit)
 *   0     4   magic 0x46444C56 ("FDLV")
 *   4     2   version 1
 *   6     2   reserved
 *   8     8   baseOffset
 *  16   B/8   bitmap: offset base+i is delivered when bit (i &amp; 7) of byte i &gt;&gt; 3 is set
 * </pre>
 *
 * <p><b>Durability.</b> Bits and fields are written through shared mappings, so they survive a
 * process crash as soon as they are written; {@link #force()} makes them survive a machine crash
 * (called every second by a background thread of {@link DelayedDelivery}, and at close: a
 * machine crash can thus deliver the last second's messages again, never lose one). A chunk file is created under a
 * temporary name and renamed; chunks wholly below the watermark are deleted.
 *
 * <p><b>Commit rule.</b> The delivery thread sets {@code inFlight}, re-appends the message, sets
 * its bit, then clears {@code inFlight}: a crash between re-append and bit leaves {@code inFlight}
 * set, and the next start looks for the copy among the target queue's last messages before
 * delivering again.
 *
 * <p><b>Thread safety.</b> The delivery thread (and start-up, before it runs) reads and writes
 * it; {@link #force()} may run on another thread (DelayedDelivery's forcer): the chunk table's
 * changes and force's snapshot of it are guarded by this object's monitor. {@link #lowWatermark()}
 * may be read by any thread (the store's retention, through DelayedDelivery's retention floor).
 */
final class DeliveredLog implements AutoCloseable {
    static final int STATE_MAGIC = 0x46534348;
    static final int CHUNK_MAGIC = 0x46444C56;
    static final short VERSION = 1;
    static final int STATE_SIZE = 32;
    static final int LOW_WATERMARK_OFFSET = 8;
    static final int IN_FLIGHT_OFFSET = LOW_WATERMARK_OFFSET + 8;
    static final int CHUNK_HEADER_SIZE = 16;
    static final int CHUNK_BASE_OFFSET = 8;

    private final Path dir;
    private final Path chunkDir;
    private final long bitsPerChunk;
    private final FileChannel stateChannel;
    private final MappedByteBuffer state;
    private final TreeMap<Long, Chunk> chunks = new TreeMap<>();
    /**
     * The state's lowWatermark, also readable by other threads (the store's retention asks for the
     * lowest undelivered offset): the mapping's field gives them no ordering. It only grows, so a
     * stale read is lower and errs on the side of keeping.
     */
    private volatile long lowWatermark;

    private record Chunk(long base, Path path, FileChannel channel, MappedByteBuffer map) {
    }

    DeliveredLog(Path dir, long bitsPerChunk) {
        if (bitsPerChunk < 8 || bitsPerChunk % 8 != 0 || bitsPerChunk > (1L << 31)) {
            throw new IllegalArgumentException("bitsPerChunk: " + bitsPerChunk + " (expected: a multiple of 8 up to 2^31)");
        }
        this.dir = dir;
        this.chunkDir = dir.resolve("delivered");
        this.bitsPerChunk = bitsPerChunk;
        try {
            Directories.create(chunkDir);
            try (Stream<Path> tmp = Files.list(chunkDir)) {
                for (Path p : tmp.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList()) {
                    Files.delete(p);
                }
            }
            Path statePath = dir.resolve("state");
            if (!Files.exists(statePath)) {
                ByteBuffer b = ByteBuffer.allocate(STATE_SIZE);
                b.putInt(0, STATE_MAGIC).putShort(4, VERSION).putLong(LOW_WATERMARK_OFFSET, 0).putLong(IN_FLIGHT_OFFSET, -1);
                createAtomically(statePath, b);
            }
            stateChannel = FileChannel.open(statePath, StandardOpenOption.READ, StandardOpenOption.WRITE);
            state = stateChannel.map(FileChannel.MapMode.READ_WRITE, 0, STATE_SIZE);
            if (state.getInt(0) != STATE_MAGIC || state.getShort(4) != VERSION) {
                throw new BrokerException(statePath + ": magic 0x" + Integer.toHexString(state.getInt(0)) + " version "
                        + state.getShort(4) + " (expected: 0x" + Integer.toHexString(STATE_MAGIC) + " version " + VERSION + ")");
            }
            lowWatermark = state.getLong(LOW_WATERMARK_OFFSET);
            try (Stream<Path> files = Files.list(chunkDir)) {
                for (Path p : files.sorted().toList()) {
                    long base = Long.parseLong(p.getFileName().toString());
                    chunks.put(base, map(p, base));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open schedule state in " + dir, e);
        }
    }

    /** Every offset below it is delivered; the offset at it is not (or is the schedule topic's end). Any thread. */
    long lowWatermark() {
        return lowWatermark;
    }

    private void setLowWatermark(long low) {
        state.putLong(LOW_WATERMARK_OFFSET, low);
        lowWatermark = low;
    }

    long inFlight() {
        return state.getLong(IN_FLIGHT_OFFSET);
    }

    void setInFlight(long offset) {
        state.putLong(IN_FLIGHT_OFFSET, offset);
    }

    boolean isDelivered(long offset) {
        if (offset < lowWatermark()) {
            return true;
        }
        Map.Entry<Long, Chunk> e = chunks.floorEntry(offset);
        if (e == null || offset - e.getKey() >= bitsPerChunk) {
            return false;
        }
        long i = offset - e.getKey();
        return (e.getValue().map.get(CHUNK_HEADER_SIZE + (int) (i >>> 3)) & (1 << (i & 7))) != 0;
    }

    /** Marks {@code offset} delivered, moves the watermark past every delivered offset, and deletes chunks below it. */
    void markDelivered(long offset) {
        if (offset < lowWatermark()) {
            return;
        }
        long base = offset - Math.floorMod(offset, bitsPerChunk);
        Chunk c = chunks.get(base);
        if (c == null) {
            c = create(base);
            synchronized (this) {
                chunks.put(base, c);
            }
        }
        long i = offset - base;
        int p = CHUNK_HEADER_SIZE + (int) (i >>> 3);
        c.map.put(p, (byte) (c.map.get(p) | (1 << (i & 7))));
        moveWatermark();
    }

    /**
     * Retention deleted every schedule offset below {@code min}: none of them will be delivered,
     * so the watermark moves there (and on past what is delivered after it), and chunks below it go.
     */
    void forgetBelow(long min) {
        if (min > lowWatermark()) {
            setLowWatermark(min);
            moveWatermark();
        }
    }

    /** Moves the watermark past every delivered offset and deletes the chunks below it. */
    private void moveWatermark() {
        long low = lowWatermark();
        while (isDelivered(low)) {
            low++;
            setLowWatermark(low);
        }
        if (!chunks.isEmpty() && chunks.firstKey() + bitsPerChunk <= low) {
            // the watermark that makes the chunk unnecessary must be on disk before the chunk is
            // gone: else a machine crash could bring back the old watermark without the chunk's
            // bits, and deliver the chunk's messages again
            state.force();
        }
        while (!chunks.isEmpty() && chunks.firstKey() + bitsPerChunk <= low) {
            Chunk old;
            synchronized (this) {
                old = chunks.pollFirstEntry().getValue();
            }
            close(old);
            try {
                Files.deleteIfExists(old.path);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete " + old.path, e);
            }
        }
    }

    /**
     * Forces the state and the bitmaps to disk. May run on another thread than the delivery
     * thread: it forces a snapshot of the chunk table, taken under this object's monitor, which
     * also guards the table's changes; forcing a chunk the delivery thread dropped meanwhile is
     * harmless (its mapping stays valid until collected).
     */
    void force() {
        List<MappedByteBuffer> maps;
        synchronized (this) {
            maps = new ArrayList<>(chunks.size());
            for (Chunk c : chunks.values()) {
                maps.add(c.map);
            }
        }
        state.force();
        for (MappedByteBuffer m : maps) {
            m.force();
        }
    }

    private Chunk create(long base) {
        Path path = chunkDir.resolve(String.format("%020d", base));
        ByteBuffer header = ByteBuffer.allocate(CHUNK_HEADER_SIZE);
        header.putInt(0, CHUNK_MAGIC).putShort(4, VERSION).putLong(CHUNK_BASE_OFFSET, base);
        try {
            Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
            Files.deleteIfExists(tmp); // left by a create that failed (a full disk) or a crash: this one starts afresh
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(header, 0);
                // zeros written, not a sparse file: its blocks are reserved now, so a full disk fails
                // this create with an IOException, never a later store through the mapping (SIGBUS)
                ByteBuffer zeros = ByteBuffer.allocate(64 << 10);
                for (long at = CHUNK_HEADER_SIZE, end = CHUNK_HEADER_SIZE + bitsPerChunk / 8; at < end; ) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), end - at));
                    at += ch.write(zeros, at);
                }
                ch.force(true);
            }
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
            Directories.force(path.getParent()); // else a power loss may take the chunk, and the bits set in it, away
            return map(path, base);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + path, e);
        }
    }

    private Chunk map(Path path, long base) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        long size = CHUNK_HEADER_SIZE + bitsPerChunk / 8;
        if (ch.size() != size) {
            ch.close();
            throw new BrokerException(path + ": " + ch.size() + " bytes (expected: " + size + ")");
        }
        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
        if (map.getInt(0) != CHUNK_MAGIC || map.getLong(CHUNK_BASE_OFFSET) != base) {
            ch.close();
            throw new BrokerException(path + ": magic 0x" + Integer.toHexString(map.getInt(0)) + " base " + map.getLong(CHUNK_BASE_OFFSET)
                    + " (expected: 0x" + Integer.toHexString(CHUNK_MAGIC) + " base " + base + ")");
        }
        return new Chunk(base, path, ch, map);
    }

    private void createAtomically(Path path, ByteBuffer content) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ch.write(content, 0);
            ch.force(true);
        }
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
        Directories.force(path.getParent());
    }

    private static void close(Chunk c) {
        try {
            c.channel.close();
        } catch (IOException e) {
            // closing a read-write channel after force: nothing to recover
        }
    }

    @Override
    public void close() {
        force();
        synchronized (this) {
            for (Chunk c : chunks.values()) {
                close(c);
            }
            chunks.clear();
        }
        try {
            stateChannel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + dir.resolve("state"), e);
        }
    }
}
