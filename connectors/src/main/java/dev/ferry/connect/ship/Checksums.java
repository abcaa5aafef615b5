package dev.ferry.connect.ship;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * CRC32C of file contents, read through one reused direct buffer: {@code FileChannel.read}
 * copies from the page cache into native memory and {@link CRC32C#update(ByteBuffer)} runs the
 * hardware-accelerated intrinsic on it, so no byte goes through a Java heap array. A mapping
 * would spare that one copy but keeps a deleted segment's disk space until the GC unmaps it,
 * which a long-running task must not do.
 *
 * <p>Cost: verifying a shipped file reads it twice (source and copy), both normally from the
 * page cache, at the speed of a memory copy plus CRC32C (several GB/s per core; the benchmark
 * in {@link ShipBenchmark} measures it next to the copy).
 *
 * <p><b>Thread safety.</b> Not thread-safe (one buffer); one instance per thread.
 */
final class Checksums {
    private static final int BUFFER_BYTES = 1 << 20;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);

    /** CRC32C of bytes {@code [0, length)} of {@code channel}; fails if the file is shorter. */
    int crc32c(FileChannel channel, long length) throws IOException {
        CRC32C crc = new CRC32C();
        long position = 0;
        while (position < length) {
            buffer.clear().limit((int) Math.min(BUFFER_BYTES, length - position));
            int n = channel.read(buffer, position);
            if (n < 0) {
                throw new EOFException("file ends at " + position + " (expected: " + length + " bytes)");
            }
            buffer.flip();
            crc.update(buffer);
            position += n;
        }
        return (int) crc.getValue();
    }

    /** A CRC as the 8 lower-case hex digits the manifest and the logs use. */
    static String hex(int crc) {
        return String.format("%08x", crc);
    }
}
