package dev.ferry.connect.ship;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.time.Clock;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * Ships to a {@link SegmentReceiveTask} on another host over one TCP connection
 * ({@link ShipProtocol}): {@code sendfile} from the segment straight into the socket. The
 * connection is opened on first use and kept; any error closes it and the next call reconnects.
 * With {@code verify}, the source's CRC32C is computed on a helper thread trailing
 * {@code sendfile} ({@link Overlap}), so it goes out right after the last byte.
 *
 * <p><b>Read deadline.</b> Every answer of the receiver (HELLO, RESUME, RESULT) must come within
 * {@code read.timeout.ms}, or the attempt fails with a {@link SocketTimeoutException} (the
 * connection closed, the file retried at the next scan, counted in {@code errors}): a receiver
 * that accepts the bytes but never answers must not hold the shipping task forever. A
 * {@link SocketChannel}'s own reads ignore {@code SO_TIMEOUT}, so answers are read through the
 * socket's stream, whose reads honour it.
 *
 * <p><b>Write deadline.</b> Every write (HELLO, FILE, the file's bytes, the CRC) that makes no
 * progress for {@code write.timeout.ms} fails the attempt the same way, with a
 * {@link SocketTimeoutException} naming the receiver and the setting: a receiver that stopped
 * reading (a stopped process, a full disk behind a full buffer, a network that drops silently)
 * would otherwise leave {@code sendfile} blocked for good. Nothing bounds a blocking write by
 * itself ({@code SO_TIMEOUT} covers reads only), so a {@link WriteWatchdog} shuts the socket
 * from a timer thread when no byte went out for that long. Progress resets the deadline: a
 * slow receiver is not cut off as long as each {@code transferTo} call completes within the
 * timeout, and since a blocking {@code transferTo} returns only when its whole count is in the
 * send buffer, calls are bounded to {@link #CALL_BYTES} (256 KiB: a receiver taking fewer than
 * 256 KiB per {@code write.timeout.ms}, 4.3 KiB/s at the default 60 s, counts as stalled).
 * Waits for {@code max.bytes.per.sec} are not writes and do not count.
 *
 * <p>Why a watchdog and not a non-blocking channel with a {@code Selector} and a deadline per
 * write (which would see every byte, not every call): this class is built on a blocking
 * channel. Its answers are read through the socket's stream, which throws on a non-blocking
 * channel, so a selector would have to take over the read deadline too; {@link Transfer}, shared
 * with {@link DirectoryTarget}, would need a wait-until-writable step for the zero-length
 * {@code transferTo} returns of a full non-blocking socket; and {@link #abort} would have to
 * wake the selector besides closing. The watchdog adds one timer thread and does what
 * {@link #abort} does for a stop: end a blocked transfer from another thread (below). It keeps
 * {@code sendfile}; the calls are smaller, not copies. Calls of 256 KiB instead of
 * {@link Transfer#DEFAULT_CHUNK_BYTES} (16 MiB) cost nothing measurable: {@code transferTo} of
 * 512 MiB into a loopback socket with {@code TCP_NODELAY}, drained by a reader, 15 alternating
 * rounds on the 2-core build VM at load 3.5, gave medians of 2,040 and 1,939 MiB/s (ranges
 * 1,547-2,438 and 1,193-2,876). {@link ShipBenchmark} does not cover sockets.
 *
 * <p><b>Ending a blocked transfer.</b> {@code close()} alone does not: the JDK wakes the threads
 * blocked in the channel's own reads and writes, not one blocked in {@code FileChannel.transferTo}
 * into it, and closing the descriptor leaves the kernel's {@code sendfile} waiting. Shutting the
 * output first ends it at once (the call returns or fails with "Broken pipe"), so every close
 * here ({@link #abort}, the watchdog, errors) shuts the output first.
 *
 * <p>Zero-copy caveat: sendfile applies to plain TCP only; there is no TLS here, so ship over a
 * trusted network (or a tunnel). The receiver's side is not zero-copy in JDK 17
 * ({@code transferFrom} from a socket reads through a small native buffer).
 *
 * <p><b>Thread safety.</b> {@link #ship} on the task's thread; {@link #abort} from any thread
 * (it shuts and closes the socket, which ends a blocked transfer). {@code channel} is volatile
 * for that. The watchdog's timer thread shuts the connection of the write it watches, the same way.
 */
final class SocketTarget implements ShipTarget {
    /** Most bytes per {@code transferTo} call into the socket: how often the write deadline sees progress. */
    static final long CALL_BYTES = 256 * 1024;

    private final InetSocketAddress address;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;
    private final long writeTimeoutMs;
    private final Transfer transfer;
    private final boolean verify;
    /** The helper thread for the source's checksum. */
    private final Overlap overlap = new Overlap("ship-verify");
    /** Fails a write that made no progress for write.timeout.ms. */
    private final WriteWatchdog watchdog;
    /** The open connection or null; volatile so close() from another thread sees it. */
    private volatile SocketChannel channel;

    /**
     * @param transfer its chunks are cut to {@link #CALL_BYTES} here
     * @param clock    for the write deadline
     */
    SocketTarget(InetSocketAddress address, Duration connectTimeout, Duration readTimeout, Duration writeTimeout,
                 Transfer transfer, boolean verify, Clock clock) {
        this.address = address;
        this.connectTimeoutMs = Math.toIntExact(connectTimeout.toMillis());
        this.readTimeoutMs = Math.toIntExact(readTimeout.toMillis());
        this.writeTimeoutMs = writeTimeout.toMillis();
        this.transfer = transfer.withMaxChunkBytes(CALL_BYTES);
        this.verify = verify;
        this.watchdog = new WriteWatchdog(writeTimeout, clock, "ship-write-deadline");
    }

    @Override
    public Outcome ship(ShipFile file, FileChannel source, LongConsumer moved) throws IOException, InterruptedException {
        SocketChannel ch = connect();
        try {
            send(ch, ShipProtocol.file(file.name(), file.length(), verify), "FILE for " + file.name());
            ByteBuffer resume = read(ch, ShipProtocol.RESUME_SIZE, "RESUME for " + file.name());
            byte state = resume.get(ShipProtocol.RESUME_STATE_OFFSET);
            long offset = resume.getLong(ShipProtocol.RESUME_OFFSET_OFFSET);
            if (state == ShipProtocol.STATE_HAVE) {
                if (offset != file.length()) { // the receiver's archive lists a file of this name with another length
                    throw ForeignArchiveException.length(describe(), file.name(), offset, file.length());
                }
                // same name and length proves little (segments all have the same length): with verify, the
                // receiver's checksum (0: it was shipped unverified) must be the source's
                int archivedCrc = resume.getInt(ShipProtocol.RESUME_CRC_OFFSET);
                if (verify && archivedCrc != 0) {
                    int sourceCrc = new Checksums().crc32c(source, file.length());
                    if (sourceCrc != archivedCrc) {
                        throw new ForeignArchiveException(describe(), file.name(), archivedCrc, sourceCrc);
                    }
                }
                return new Outcome.AlreadyThere();
            }
            if (state != ShipProtocol.STATE_SEND || offset < 0 || offset > file.length()) {
                throw new IOException(describe() + " rejected " + file.name() + ": state " + state + ", offset " + offset
                        + " (expected: SEND with an offset in [0, " + file.length() + "])");
            }
            // the source's checksum trails sendfile on a helper thread, so it is ready when the last byte left
            Overlap.Watermark sent = new Overlap.Watermark(offset);
            Overlap.Sum sourceSum = verify ? overlap.crc32c(source, file.length(), sent) : null;
            int sourceCrc = 0;
            try {
                long[] position = {offset};
                long reached = watched(ch, () -> file.name() + " (byte " + position[0] + " of " + file.length() + ")",
                        watch -> transfer.copy(source, offset, file.length(), ch, new Transfer.Progress() {
                            @Override
                            public void moved(long n) {
                                watch.progress();
                                moved.accept(n);
                                sent.advance(position[0] += n);
                            }

                            @Override
                            public void throttled(boolean waiting) {
                                if (waiting) {
                                    watch.pause();
                                } else {
                                    watch.resume();
                                }
                            }
                        }));
                if (reached < file.length()) {
                    closeQuietly(); // the receiver keeps the bytes that arrived in its .part
                    return new Outcome.Stopped(reached);
                }
                if (verify) {
                    sourceCrc = sourceSum.await();
                    send(ch, ShipProtocol.crc(sourceCrc), "CRC for " + file.name());
                }
            } finally {
                if (sourceSum != null) {
                    sourceSum.cancel(); // a no-op once it ended; else (stopped, failed) it lets go of the source first
                }
            }
            ByteBuffer result = read(ch, ShipProtocol.RESULT_SIZE, "RESULT for " + file.name());
            int copyCrc = result.getInt(ShipProtocol.RESULT_CRC_OFFSET);
            byte status = result.get(ShipProtocol.RESULT_STATUS_OFFSET);
            if (status == ShipProtocol.STATUS_BAD) {
                return new Outcome.Mismatch(sourceCrc, copyCrc);
            }
            if (status != ShipProtocol.STATUS_OK) {
                throw new IOException(describe() + ": result status: " + status + " (expected: 0 OK or 1 BAD)");
            }
            return new Outcome.Shipped(file.length() - offset, offset, verify ? OptionalInt.of(copyCrc) : OptionalInt.empty());
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    private SocketChannel connect() throws IOException, InterruptedException {
        SocketChannel ch = channel;
        if (ch != null && ch.isOpen()) {
            return ch;
        }
        // resolved at every connect, so a standby that moved to a new address is found again
        InetSocketAddress resolved = new InetSocketAddress(address.getHostString(), address.getPort());
        if (resolved.isUnresolved()) {
            throw new IOException(describe() + ": cannot resolve host " + address.getHostString());
        }
        ch = SocketChannel.open();
        try {
            ch.socket().connect(resolved, connectTimeoutMs);
            ch.socket().setTcpNoDelay(true);
            ch.socket().setSoTimeout(readTimeoutMs);
            send(ch, ShipProtocol.hello(), "HELLO");
            ShipProtocol.checkHello(read(ch, ShipProtocol.HELLO_SIZE, "HELLO"), describe());
        } catch (IOException | InterruptedException | RuntimeException e) {
            shut(ch);
            throw e;
        }
        channel = ch;
        return ch;
    }

    /**
     * Reads {@code n} bytes of an answer, each read waiting at most {@code read.timeout.ms}
     * ({@code SO_TIMEOUT}, which the socket's stream honours and the channel does not).
     */
    private ByteBuffer read(SocketChannel ch, int n, String what) throws IOException {
        try {
            return ShipProtocol.readFully(ch.socket().getInputStream(), n);
        } catch (SocketTimeoutException e) {
            SocketTimeoutException t = new SocketTimeoutException(describe() + ": no " + what + " within read.timeout.ms="
                    + readTimeoutMs + " ms (expected: the receiver to answer; retried at the next scan)");
            t.initCause(e);
            throw t;
        }
    }

    /** One write, of a whole buffer, under the write deadline. */
    private void send(SocketChannel ch, ByteBuffer b, String what) throws IOException, InterruptedException {
        watched(ch, () -> what, watch -> {
            ShipProtocol.writeFully(ch, b);
            return b.limit();
        });
    }

    /** A write that reports its progress to the watch it is given. */
    @FunctionalInterface
    private interface Write {
        long run(WriteWatchdog.Watch watch) throws IOException, InterruptedException;
    }

    /**
     * Runs {@code write} under the write deadline: if it makes no progress for
     * {@code write.timeout.ms} the watchdog shuts {@code ch}, which fails the write, and the
     * failure is reported as a timeout naming {@code what} (asked for only then).
     *
     * @return what {@code write} returned
     */
    private long watched(SocketChannel ch, Supplier<String> what, Write write) throws IOException, InterruptedException {
        WriteWatchdog.Watch watch = watchdog.watch(() -> shut(ch));
        long result = 0;
        IOException failure = null;
        boolean stalled;
        try {
            result = write.run(watch);
        } catch (IOException e) {
            failure = e;
        } finally {
            stalled = watch.end();
        }
        if (stalled) {
            // whatever the cut made the write throw (Broken pipe, a closed channel), or nothing if it had just ended
            SocketTimeoutException t = new SocketTimeoutException(describe() + ": no progress sending " + what.get()
                    + " within write.timeout.ms=" + writeTimeoutMs
                    + " ms (expected: the receiver to read; connection closed, retried at the next scan)");
            if (failure != null) {
                t.initCause(failure);
            }
            throw t;
        }
        if (failure != null) {
            throw failure;
        }
        return result;
    }

    @Override
    public void discard(String name) {
        // the receiver's part stays; it is an operator's to delete (see docs/CONNECTORS.md)
    }

    @Override
    public String describe() {
        return "receiver " + address.getHostString() + ":" + address.getPort();
    }

    @Override
    public void abort() {
        closeQuietly();
    }

    @Override
    public void close() {
        closeQuietly();
        overlap.close();
        watchdog.close();
    }

    private void closeQuietly() {
        SocketChannel ch = channel;
        channel = null;
        if (ch != null) {
            shut(ch);
        }
    }

    /**
     * Shuts the output, then closes: from any thread, and it ends a {@code transferTo} blocked
     * in {@code sendfile} on {@code ch}, which a close alone does not (see the class comment).
     */
    private static void shut(SocketChannel ch) {
        try {
            if (ch.isConnected()) {
                ch.shutdownOutput();
            }
        } catch (IOException e) {
            // already shut or closed, or the connection is broken: the close below is what matters
        }
        try {
            ch.close();
        } catch (IOException e) {
            // closing a broken connection: nothing to do
        }
    }
}
