package dev.ferry.connect.ship;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.util.OptionalInt;
import java.util.function.LongConsumer;

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
 * <p>Zero-copy caveat: sendfile applies to plain TCP only; there is no TLS here, so ship over a
 * trusted network (or a tunnel). The receiver's side is not zero-copy in JDK 17
 * ({@code transferFrom} from a socket reads through a small native buffer).
 *
 * <p><b>Thread safety.</b> {@link #ship} on the task's thread; {@link #abort} from any thread
 * (it closes the socket, which ends a blocked transfer). {@code channel} is volatile for that.
 */
final class SocketTarget implements ShipTarget {
    private final InetSocketAddress address;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;
    private final Transfer transfer;
    private final boolean verify;
    /** The helper thread for the source's checksum. */
    private final Overlap overlap = new Overlap("ship-verify");
    /** The open connection or null; volatile so close() from another thread sees it. */
    private volatile SocketChannel channel;

    SocketTarget(InetSocketAddress address, int connectTimeoutMs, int readTimeoutMs, Transfer transfer, boolean verify) {
        this.address = address;
        this.connectTimeoutMs = connectTimeoutMs;
        this.readTimeoutMs = readTimeoutMs;
        this.transfer = transfer;
        this.verify = verify;
    }

    @Override
    public Outcome ship(ShipFile file, FileChannel source, LongConsumer moved) throws IOException, InterruptedException {
        SocketChannel ch = connect();
        try {
            ShipProtocol.writeFully(ch, ShipProtocol.file(file.name(), file.length(), verify));
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
                long reached = transfer.copy(source, offset, file.length(), ch, n -> {
                    moved.accept(n);
                    sent.advance(position[0] += n);
                });
                if (reached < file.length()) {
                    closeQuietly(); // the receiver keeps the bytes that arrived in its .part
                    return new Outcome.Stopped(reached);
                }
                if (verify) {
                    sourceCrc = sourceSum.await();
                    ShipProtocol.writeFully(ch, ShipProtocol.crc(sourceCrc));
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

    private SocketChannel connect() throws IOException {
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
            ShipProtocol.writeFully(ch, ShipProtocol.hello());
            ShipProtocol.checkHello(read(ch, ShipProtocol.HELLO_SIZE, "HELLO"), describe());
        } catch (IOException e) {
            ch.close();
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

    @Override
    public void discard(ShipFile file) {
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
    }

    private void closeQuietly() {
        SocketChannel ch = channel;
        channel = null;
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // closing a broken connection: nothing to do
            }
        }
    }
}
