package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

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

    /**
     * Moves a file's zero-filled watermark: if {@code end} lies past {@code filled}, writes zeros
     * from {@code filled} up to at least {@code end}, a whole {@code step} at least, capped at
     * {@code capacity}. Returns the new watermark ({@code filled} if nothing was due). The index
     * files fill their entries ahead this way; {@code what} and {@code path} name the file in the
     * error (a full disk: "cannot extend index file …: No space left on device").
     */
    static long fillAhead(FileChannel channel, long filled, long end, long step, long capacity, String what, Path path) {
        if (end <= filled || filled >= capacity) {
            return filled;
        }
        long target = Math.min(capacity, Math.max(end, filled + step));
        try {
            write(channel, filled, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extend " + what + " " + path + ": " + e.getMessage(), e);
        }
        return target;
    }
}
