package dev.ferry.connect.ship;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.time.Clock;
import java.time.Duration;

/**
 * The zero-copy copy loop: {@link FileChannel#transferTo} from a source file into a file or a
 * socket, in chunks. On Linux both are {@code sendfile(2)}: the bytes go from the page cache
 * to the target file's page cache or the socket buffer without passing through user space.
 * {@code transferTo} may move fewer bytes than asked, so it loops until all are moved.
 *
 * <p>Between chunks it checks the stop signal (so a task stops within one chunk), reports
 * progress, and, if a rate limit is set, waits until the bytes moved so far are within it
 * (waiting on the stop signal, never sleeping blindly). Into a blocking socket one
 * {@code transferTo} call returns only once its whole count is in the socket's send buffer, so
 * the chunk size is also how often a socket target sees progress
 * ({@link #withMaxChunkBytes}, {@link SocketTarget}).
 *
 * <p><b>Thread safety.</b> Immutable settings; {@link #copy} may run on several threads.
 */
final class Transfer {
    /** Default bytes per {@code transferTo} call: large enough that the call overhead is noise. */
    static final long DEFAULT_CHUNK_BYTES = 16L << 20;
    /**
     * How many {@code transferTo} calls in a row may move nothing before the copy fails. Into a
     * blocking target a call moves at least a byte or throws; one that keeps returning 0 (a
     * non-blocking or otherwise stuck target) would spin forever, a core at 100%, with no error.
     */
    static final int MAX_EMPTY_CALLS = 100;

    private final long chunkBytes;
    private final long maxBytesPerSecond;
    private final Clock clock;
    private final StopSignal stop;

    /** @param maxBytesPerSecond 0 = no limit */
    Transfer(long chunkBytes, long maxBytesPerSecond, Clock clock, StopSignal stop) {
        this.maxBytesPerSecond = maxBytesPerSecond;
        this.chunkBytes = maxBytesPerSecond > 0 ? Math.max(4096, Math.min(chunkBytes, maxBytesPerSecond / 10)) : chunkBytes;
        this.clock = clock;
        this.stop = stop;
    }

    /** This transfer with chunks of at most {@code maxChunkBytes} (the same limit, clock and stop signal). */
    Transfer withMaxChunkBytes(long maxChunkBytes) {
        return new Transfer(Math.min(chunkBytes, maxChunkBytes), maxBytesPerSecond, clock, stop);
    }

    /** What a copy reports as it goes; a lambda is enough when only {@link #moved} matters. */
    @FunctionalInterface
    interface Progress {
        /** {@code n} more bytes moved: called after every {@code transferTo} call. */
        void moved(long n);

        /**
         * The copy waits for the rate limit ({@code true}, before the wait) or goes on
         * ({@code false}, after it); no byte moves in between, and none is asked to.
         */
        default void throttled(boolean waiting) {
        }
    }

    /**
     * Copies bytes {@code [from, to)} of {@code source} to {@code target}, which writes
     * sequentially (a file channel positioned at {@code from}, or a socket).
     *
     * @param progress told the byte count after every {@code transferTo} call, and each wait for the rate limit
     * @return the position reached: {@code to}, or less when stopped
     * @throws IOException from either channel; also when the source is shorter than {@code to}, or
     *                     when {@value #MAX_EMPTY_CALLS} calls in a row moved nothing
     */
    long copy(FileChannel source, long from, long to, WritableByteChannel target, Progress progress)
            throws IOException, InterruptedException {
        long start = clock.millis();
        long position = from;
        while (position < to) {
            if (stop.isStopped()) {
                return position;
            }
            long chunkEnd = Math.min(to, position + chunkBytes);
            int emptyCalls = 0;
            while (position < chunkEnd) {
                long n = source.transferTo(position, chunkEnd - position, target);
                if (n <= 0 && source.size() < to) {
                    throw new IOException("source shrank to " + source.size() + " bytes while shipping (expected: " + to + ")");
                }
                if (n <= 0 && ++emptyCalls >= MAX_EMPTY_CALLS) {
                    throw new IOException("transferTo moved no byte " + emptyCalls + " times in a row at byte " + position + " of "
                            + to + " (expected: a target that takes bytes or fails)");
                }
                if (n > 0) {
                    emptyCalls = 0;
                }
                position += n;
                progress.moved(n);
            }
            if (maxBytesPerSecond > 0) {
                long due = start + (position - from) * 1000 / maxBytesPerSecond;
                long now = clock.millis();
                if (due > now) {
                    progress.throttled(true);
                    boolean stopped = stop.await(Duration.ofMillis(due - now));
                    progress.throttled(false);
                    if (stopped) {
                        return position;
                    }
                }
            }
        }
        return position;
    }
}
