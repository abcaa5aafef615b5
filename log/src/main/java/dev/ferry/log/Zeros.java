package dev.ferry.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Writes zeros into files with {@code write()}: how the engine makes the kernel allocate pages and
 * ext4 reserve blocks before anything is written through a mapping (a store into a hole of a
 * mapping on a full disk faults, and the JVM reports that late and elsewhere; a {@code write()}
 * fails at once with ENOSPC). One shared 1 MiB source, small enough to stay in cache; positional
 * writes, so no channel's position is used. Thread-safe.
 */
final class Zeros {
    private static final ByteBuffer SOURCE = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private Zeros() {}

    /** Writes zeros over bytes [{@code from}, {@code to}) of {@code channel}. */
    static void write(FileChannel channel, long from, long to) throws IOException {
        ByteBuffer zeros = SOURCE.duplicate();
        for (long pos = from; pos < to; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), to - pos));
            pos += channel.write(zeros, pos);
        }
    }
}
