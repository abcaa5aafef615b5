package dev.ferry.connect.ship;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Helper threads that run a file's checksums and forces next to its transfer, so that on a
 * multi-core host the kernel copy ({@code sendfile}), the CRC32C of the source, the read-back
 * of the copy and the disk's write-back do not queue behind each other:
 * <ul>
 *   <li>{@link #crc32c(FileChannel, long, Watermark) crc32c} with a {@link Watermark}: the
 *       source's checksum <em>trails</em> the transfer, summing each range right after
 *       {@code sendfile} moved it (a page-cache hit, and no faster than a rate-limited
 *       transfer); the sender has it as soon as the last byte left;
 *   <li>{@link #flusher}: forces a {@code .part} repeatedly while bytes are still arriving,
 *       so the disk writes the copy back during the transfer instead of all at the end;
 *   <li>{@link #crc32c(FileChannel, long)}: the copy's checksum, read back on a helper thread
 *       while the committing thread forces the part ({@link ArchiveDir#complete}).
 * </ul>
 * None of this changes the commit rule: a part is renamed only after the committing thread
 * has both its final force and both checksums, and they matched.
 *
 * <p>Every pending job can be cancelled ({@link Sum#cancel}, {@link Flusher#cancel}), which
 * also waits until the helper let go of the channel: a stopped task is never left with a
 * helper reading a file it closed. A checksum notices a cancel within one window (at most
 * 64 MiB, tens of milliseconds), a flusher after its current force.
 *
 * <p>Threads are daemons, started on demand and ended after 30 s idle, so an {@code Overlap}
 * that is never closed (a test that drives a target directly) leaks nothing for long.
 *
 * <p><b>Thread safety.</b> Thread-safe; each {@link Sum}, {@link Flusher} and {@link Watermark}
 * is owned by the thread that started it (the helper's side is internal).
 */
final class Overlap implements Closeable {
    /** Enough for the worst case: a source checksum, a flusher and a copy checksum at once. */
    private static final int THREADS = 3;

    private final ThreadPoolExecutor pool;
    private final Checksums checksums = new Checksums();

    Overlap(String name) {
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "ferry-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * How far a file may be read: advanced by the thread that moves the bytes, awaited by a
     * checksum trailing it. Thread-safe.
     */
    static final class Watermark {
        private long readable;
        private boolean cancelled;

        /** @param readable bytes {@code [0, readable)} may be read at once (a resume's kept prefix, or all) */
        Watermark(long readable) {
            this.readable = readable;
        }

        synchronized void advance(long to) {
            if (to > readable) {
                readable = to;
                notifyAll();
            }
        }

        synchronized void cancel() {
            cancelled = true;
            notifyAll();
        }

        synchronized boolean isCancelled() {
            return cancelled;
        }

        /**
         * Waits until more than {@code position} bytes are readable.
         *
         * @return the readable length, greater than {@code position}
         * @throws CancellationException when cancelled first
         */
        synchronized long awaitBeyond(long position) throws InterruptedException {
            while (readable <= position && !cancelled) {
                wait();
            }
            if (cancelled) {
                throw new CancellationException("checksum cancelled");
            }
            return readable;
        }
    }

    /** A checksum being computed on a helper thread. */
    static final class Sum {
        private final Future<Integer> future;
        private final Watermark watermark;

        private Sum(Future<Integer> future, Watermark watermark) {
            this.future = future;
            this.watermark = watermark;
        }

        /**
         * Waits for the checksum.
         *
         * @throws IOException the helper's (the file is shorter than asked, unreadable...)
         */
        int await() throws IOException, InterruptedException {
            try {
                return future.get();
            } catch (ExecutionException e) {
                throw rethrow(e.getCause());
            } catch (CancellationException e) {
                throw new InterruptedIOException("checksum cancelled");
            }
        }

        /** Stops the checksum (within one window) and waits until the helper let go of the channel; idempotent. */
        void cancel() {
            watermark.cancel();
            awaitQuietly(future);
        }
    }

    /**
     * CRC32C of {@code [0, length)} of {@code channel}, on a helper thread, reading only what
     * {@code readable} allows as it advances (see {@link Checksums#crc32c(FileChannel, long, Watermark)}).
     */
    Sum crc32c(FileChannel channel, long length, Watermark readable) {
        return new Sum(pool.submit(() -> checksums.crc32c(channel, length, readable)), readable);
    }

    /** CRC32C of all {@code [0, length)} of {@code channel}, on a helper thread. */
    Sum crc32c(FileChannel channel, long length) {
        return crc32c(channel, length, new Watermark(length));
    }

    /** Starts write-back of {@code part} while it is still being written; see {@link Flusher}. */
    Flusher flusher(FileChannel part) {
        Flusher f = new Flusher(part);
        f.future = pool.submit(f::loop);
        return f;
    }

    /**
     * Forces a file again and again, on a helper thread, while another thread writes it:
     * each {@link #dirty} asks for one more {@code force(false)} after the one in progress,
     * so the disk writes the copy back during the transfer and the committing thread's final
     * {@code force} only has the tail left. Coalescing: at most one force runs, and at most
     * one more is owed, however often {@code dirty} is called.
     *
     * <p>An error of a background force is kept and thrown by {@link #finish}: Linux reports a
     * write-back error to each open file once, so an error the flusher saw could otherwise go
     * unnoticed by the committing thread's own force.
     */
    static final class Flusher {
        /** A flusher that forces nothing ({@code force=false}): {@link #dirty}, {@link #finish}, {@link #cancel} do nothing. */
        static final Flusher NONE = new Flusher(null);

        private final FileChannel part;
        private Future<?> future;
        private boolean owed;
        private boolean done;
        private IOException error;

        private Flusher(FileChannel part) {
            this.part = part;
        }

        /** More bytes were written: force again once the current force ended. Cheap; never blocks. */
        void dirty() {
            if (part == null) {
                return;
            }
            synchronized (this) {
                if (!owed) {
                    owed = true;
                    notifyAll();
                }
            }
        }

        private void loop() {
            for (;;) {
                synchronized (this) {
                    while (!owed && !done) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return; // not expected: close() never interrupts
                        }
                    }
                    if (done) {
                        return;
                    }
                    owed = false;
                }
                try {
                    part.force(false);
                } catch (IOException e) {
                    synchronized (this) {
                        error = e;
                        done = true;
                    }
                    return;
                }
            }
        }

        /** Ends the flusher after its current force; throws the error of any background force. */
        void finish() throws IOException {
            if (part == null) {
                return;
            }
            cancel();
            synchronized (this) {
                if (error != null) {
                    throw new IOException("background force of the copy failed: " + error.getMessage(), error);
                }
            }
        }

        /** Ends the flusher after its current force and waits for that; errors are dropped. Idempotent. */
        void cancel() {
            if (part == null) {
                return;
            }
            synchronized (this) {
                done = true;
                notifyAll();
            }
            awaitQuietly(future);
        }
    }

    private static void awaitQuietly(Future<?> future) {
        boolean interrupted = false;
        for (;;) {
            try {
                future.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: the helper must let go of the channel first
            } catch (ExecutionException | CancellationException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static IOException rethrow(Throwable cause) {
        if (cause instanceof IOException io) {
            return new IOException(io.getMessage(), io); // this thread's stack, the helper's cause
        }
        if (cause instanceof UncheckedIOException u) {
            return u.getCause();
        }
        if (cause instanceof RuntimeException r) {
            throw r;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return new IOException(cause);
    }

    /**
     * Lets the helper threads end; jobs still pending run to their end (their owners cancel
     * them first). Never interrupts a helper: an interrupt inside a file operation would close
     * the shared {@link FileChannel} under its owner.
     */
    @Override
    public void close() {
        pool.shutdown();
    }
}
