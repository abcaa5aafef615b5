package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * Messages of one queue, as commit-log file regions that can go to a socket without passing
 * through the Java heap ({@link Region#transferTo}, or {@link Region#channel()} with
 * {@link Region#filePosition()} for a Netty {@code FileRegion}). Adjacent records are coalesced
 * into one region.
 *
 * <p>The regions stay readable until {@link #close()}: each region holds a reference on its
 * segment, so retention cannot unmap one under it. Close it once the bytes are
 * written. Not thread-safe.
 *
 * <p>Per message it also gives the queue offset, position, size and tag hash (from the offset
 * index), for callers that filter or account.
 */
public final class ReadResult implements AutoCloseable {
    private final long nextOffset;
    private final long minOffset;
    private final long maxOffset;
    private final long[] queueOffsets;
    private final long[] physicalOffsets;
    private final int[] sizes;
    private final int count;
    private final List<Region> regions;
    private boolean closed;
    private RecordCodec.DecodeCache decodeCache;

    ReadResult(long nextOffset, long minOffset, long maxOffset, long[] queueOffsets, long[] physicalOffsets, int[] sizes,
               int count, List<Region> regions) {
        this.nextOffset = nextOffset;
        this.minOffset = minOffset;
        this.maxOffset = maxOffset;
        this.queueOffsets = queueOffsets;
        this.physicalOffsets = physicalOffsets;
        this.sizes = sizes;
        this.count = count;
        this.regions = regions;
    }

    /** Offset to read from next time (past the messages returned and past those filtered out). */
    public long nextOffset() { return nextOffset; }
    /** Earliest offset the queue still holds. */
    public long minOffset() { return minOffset; }
    /** Offset the queue's next message will get (its end). */
    public long maxOffset() { return maxOffset; }
    public int messageCount() { return count; }
    public long queueOffset(int i) { return queueOffsets[i]; }
    public long physicalOffset(int i) { return physicalOffsets[i]; }
    public int size(int i) { return sizes[i]; }
    public List<Region> regions() { return regions; }

    public long totalBytes() {
        long n = 0;
        for (Region r : regions) {
            n += r.length;
        }
        return n;
    }

    /** Decodes message {@code i} into a heap copy (tests, tools, non-binary codecs), without checking its CRC32C. */
    public StoredMessage message(int i) {
        long phys = physicalOffsets[i];
        for (Region r : regions) {
            if (phys >= r.physicalOffset && phys < r.physicalOffset + r.length) {
                if (decodeCache == null) {
                    decodeCache = new RecordCodec.DecodeCache();
                }
                int pos = (int) (phys - r.segment.baseOffset);
                int length = r.segment.map.getInt(pos + RecordLayout.LENGTH_OFFSET);
                if (length != sizes[i]) {
                    // the index entry does not point at the start of its record: decoding there would trust any bytes
                    throw new CorruptRecordException(r.segment.path, phys, "record length " + length + " (expected: " + sizes[i]
                            + ", the size its index entry gives)");
                }
                return RecordCodec.decode(r.segment.map, pos, decodeCache);
            }
        }
        throw new IllegalArgumentException("message " + i + " (expected: 0.." + (count - 1) + ")");
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Region r : regions) {
                r.segment.release();
            }
        }
    }

    /** A run of whole records in one segment file. Valid until its {@link ReadResult} is closed. */
    public static final class Region {
        final Segment segment;
        final long physicalOffset;
        final int length;

        Region(Segment segment, long physicalOffset, int length) {
            this.segment = segment;
            this.physicalOffset = physicalOffset;
            this.length = length;
        }

        public long physicalOffset() { return physicalOffset; }
        public int length() { return length; }
        /** The segment file's path (for logs and tools; it may be deleted by retention while the read holds the segment). */
        public java.nio.file.Path file() { return segment.path; }

        /** The segment file's channel; do not close it (the store owns it). */
        public FileChannel channel() { return segment.channel; }
        public long filePosition() { return physicalOffset - segment.baseOffset; }

        /** A read-only view of the region's bytes in the mapped segment. */
        public ByteBuffer buffer() {
            int p = (int) filePosition();
            return segment.map.slice(p, length).asReadOnlyBuffer();
        }

        /**
         * Writes the whole region to {@code target} with {@code FileChannel.transferTo} (sendfile).
         * The calling thread's interrupt flag is held back meanwhile (and set again after): a
         * transfer on an interrupted thread would close the channel every reader of the segment shares.
         */
        public void transferTo(WritableByteChannel target) {
            boolean interrupted = Thread.interrupted();
            try {
                long pos = filePosition();
                long end = pos + length;
                while (pos < end) {
                    pos += segment.channel.transferTo(pos, end - pos, target);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
