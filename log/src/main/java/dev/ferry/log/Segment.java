package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * One commit-log segment file: fixed size, memory-mapped, named by the 20-digit physical offset
 * of its first byte (see {@link RecordLayout} for what it holds).
 *
 * <p><b>Thread safety.</b> One writer (the store's append lock holder) writes at
 * {@link #writePosition}; any number of readers read below the store's published end with
 * absolute gets. The mapping is released only when the last reference goes:
 * {@link #retain()}/{@link #release()} count readers, the commit log holds one reference until
 * it deletes the segment, so no reader ever touches an unmapped buffer.
 */
final class Segment {
    final Path path;
    final long baseOffset;
    final int size;
    final FileChannel channel;
    final MappedByteBuffer map;
    /** Bytes written; written by the single appender, read by others only through the store's published end. */
    int writePosition;
    /** Created zero-filled through its whole size (its file has no holes). */
    final boolean prefilled;
    /** Bytes known forced to disk; written and read by the flusher thread only. */
    int flushedPosition;
    /**
     * Staged writes: the channel commits write through, apart from {@link #channel}, which readers
     * share: a write on a thread that is interrupted closes the channel it uses. Opened on first use,
     * closed once commits have passed the segment's end (so a store holds one more descriptor, not
     * one more per segment).
     */
    private volatile FileChannel commitChannel;
    /** Readers' references to {@link #map} + 1 for the owning commit log; unmapped (channel closed) at 0. */
    private final SharedMapping mapping;
    /** Set when the owner releases its reference; volatile so the page warmer sees it. */
    private volatile boolean closing;

    private Segment(Path path, long baseOffset, int size, FileChannel channel, MappedByteBuffer map, boolean prefilled) {
        this.path = path;
        this.prefilled = prefilled;
        this.baseOffset = baseOffset;
        this.size = size;
        this.channel = channel;
        this.map = map;
        this.mapping = new SharedMapping(channel, map);
    }

    /**
     * Creates a segment through a temp file and an atomic rename, so a crash never leaves a
     * half-created file under a segment name, and makes the directory entry durable. With
     * {@code zeroFill} every byte is written with zeros by {@code FileChannel.write} (SYNC flush:
     * see {@link SegmentFiller}); without, the file is left sparse and {@link SegmentFiller} fills
     * it a window ahead of the appender.
     */
    static Segment create(Path dir, long baseOffset, int size, boolean zeroFill) {
        Path tmp = dir.resolve(FileNames.name(baseOffset) + ".tmp");
        Path path = dir.resolve(FileNames.name(baseOffset));
        try {
            Files.createDirectories(dir);
            FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            try {
                // the size first, forced: with delayed allocation it reaches the disk with the blocks, and without this a
                // power loss soon after left a file of 0 bytes under the segment's name. Then, with zeroFill, the zeros,
                // not forced (the kernel writes them back; a force would hold the filler for a whole segment's writes)
                Zeros.write(ch, size - 1L, size);
                ch.force(true);
                if (zeroFill) {
                    Zeros.write(ch, 0, size - 1L);
                }
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
                FileNames.fsyncDirectory(dir);
                return new Segment(path, baseOffset, size, ch, map, zeroFill);
            } catch (IOException | RuntimeException e) {
                ch.close();
                Files.deleteIfExists(tmp);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create segment " + path + ": " + e.getMessage(), e);
        }
    }

    static Segment open(Path path) {
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long len = ch.size();
            if (len <= 0 || len > Integer.MAX_VALUE) {
                ch.close();
                throw new LogException(path + ": size " + len + " (expected: 1.." + Integer.MAX_VALUE + ")");
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, len);
            return new Segment(path, Long.parseLong(path.getFileName().toString()), (int) len, ch, map, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open segment " + path, e);
        }
    }

    long endOffset() {
        return baseOffset + size;
    }

    int remaining() {
        return size - writePosition;
    }

    /** True once the owner let go (deleted or closed): background work on it should stop. */
    boolean isClosing() {
        return closing;
    }

    /** Takes a reader reference; false if the segment was already deleted and unmapped. */
    boolean retain() {
        return mapping.retain();
    }

    void release() {
        if (mapping.release()) {
            closeCommitChannel();
        }
    }

    /** Staged writes, once commits have passed this segment's end: its commit channel is not needed again. */
    void closeCommitChannel() {
        FileChannel c = commitChannel;
        commitChannel = null;
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // nothing was written through it since the last commit returned
            }
        }
    }

    /**
     * The channel staged writes commit through (the staging ring's commit lock serializes its
     * users); a new one if the last was closed (by an interrupt during a write).
     */
    FileChannel commitChannel() throws IOException {
        FileChannel c = commitChannel;
        if (c == null || !c.isOpen()) {
            c = FileChannel.open(path, StandardOpenOption.WRITE);
            commitChannel = c;
        }
        return c;
    }

    /**
     * Recovery, after a crash: gives back every block of the file from {@code pos} on and makes
     * the file whole again (truncate, then the last byte), so the bytes after the log's end read
     * as zeros on disk too. A power loss can lose a page of the last run's records and keep later
     * ones; without this, appends that came to end exactly at one of those stale records made
     * the next open scan on into them and index them again. Nothing else may use the segment
     * meanwhile (its mapping past {@code pos} faults while the file is short).
     */
    void discardAfter(int pos) {
        try {
            channel.truncate(pos);
            Zeros.write(channel, size - 1L, size);
            channel.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot discard the bytes of " + path + " from " + pos + ": " + e.getMessage(), e);
        }
    }

    /** Forces bytes [from, to) of this segment to disk. */
    void force(int from, int to) {
        if (to > from) {
            map.force(from, to - from);
        }
    }

    /** Unlinks the file now; the mapping goes when the last reader releases it. */
    void delete() {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + path, e);
        } finally {
            close(); // the log has already let go of it
        }
    }

    /** Closes without deleting (store shutdown); the owner's reference is dropped once, however often this runs. */
    void close() {
        closing = true;
        if (mapping.releaseOwner()) {
            closeCommitChannel();
        }
    }

    @Override
    public String toString() {
        return path.getFileName() + "[write=" + writePosition + "/" + size + "]";
    }
}
