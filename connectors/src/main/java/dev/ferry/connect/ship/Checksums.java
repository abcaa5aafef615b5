package dev.ferry.connect.ship;

import java.io.EOFException;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * CRC32C of file contents, read through read-only mappings of up to 64 MiB at a time:
 * {@link CRC32C#update(java.nio.ByteBuffer)} runs the hardware-accelerated intrinsic straight
 * on the page-cache pages, with no copy at all and no byte through a Java heap array. Each
 * window is unmapped as soon as it is summed ({@link dev.ferry.log.Unmapper}), so a segment that retention
 * deletes afterwards gets its disk space back at once.
 *
 * <p>Cost: verifying a shipped file reads it twice more (source and copy), both normally from
 * the page cache. Measured on the 2-core build VM: 1.2-5.6 GB/s through mappings, 0.6-1.6 GB/s
 * through {@code read()} into a direct buffer (an extra memory copy, which is slow there).
 * Shipping hides both reads behind the transfer on helper threads ({@link Overlap}): the
 * source's sum trails {@code sendfile} ({@link #crc32c(FileChannel, long, Overlap.Watermark)}),
 * the copy's runs while the part is forced. {@link ShipBenchmark} measures shipping with and
 * without verification next to {@code cp}.
 *
 * <p><b>Thread safety.</b> Stateless; safe for any number of threads.
 */
final class Checksums {
    private static final long WINDOW_BYTES = 64L << 20;

    /** CRC32C of bytes {@code [0, length)} of {@code channel}; fails if the file is shorter. */
    int crc32c(FileChannel channel, long length) throws IOException {
        try {
            return crc32c(channel, length, new Overlap.Watermark(length));
        } catch (InterruptedException e) {
            throw new AssertionError("never waits: everything is readable", e);
        }
    }

    /**
     * CRC32C of bytes {@code [0, length)} of {@code channel}, reading only below
     * {@code readable} and waiting for it to advance: a checksum that trails a transfer into
     * or out of the same file, one window behind at most. Fails if the file is shorter than
     * {@code length} — at once, or, for a file still being written (a part whose copy this
     * trails), when a readable window is not in it yet; it never maps beyond the file's end.
     *
     * @throws java.util.concurrent.CancellationException {@code readable} was cancelled (checked between windows)
     */
    int crc32c(FileChannel channel, long length, Overlap.Watermark readable) throws IOException, InterruptedException {
        // the watermark first, then the size: every byte below a watermark read first is in the file when its size is read
        // (read the other way round, a copy that moved on in between made a growing part look short)
        long readableNow = readable.awaitBeyond(-1);
        long size = channel.size();
        if (size < length && size < readableNow) {
            throw new EOFException("file has " + size + " bytes (expected: at least " + length + ")");
        }
        CRC32C crc = new CRC32C();
        long position = 0;
        while (position < length) {
            long end = Math.min(length, Math.min(readable.awaitBeyond(position), position + WINDOW_BYTES));
            if (end > size && (size = channel.size()) < end) {
                throw new EOFException("file has " + size + " bytes (expected: at least " + length + ")");
            }
            MappedByteBuffer window = channel.map(FileChannel.MapMode.READ_ONLY, position, end - position);
            try {
                crc.update(window);
            } finally {
                dev.ferry.log.Unmapper.unmap(window);
            }
            position = end;
        }
        return (int) crc.getValue();
    }

    /** A CRC as the 8 lower-case hex digits the manifest and the logs use. */
    static String hex(int crc) {
        return String.format("%08x", crc);
    }
}
