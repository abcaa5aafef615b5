package dev.ferry.connect.ship;

import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ServiceTask;
import dev.ferry.connect.TaskContext;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connector type {@code segment-receive}: the far end of {@code segment-ship} over a socket.
 * Listens on {@code listen.port} (on {@code listen.host}, default all interfaces), speaks
 * {@link ShipProtocol}, and writes what arrives into the archive directory {@code target.dir}
 * with the {@link ArchiveDir} commit rule: {@code transferFrom(socket)} into {@code NAME.part},
 * force, CRC32C against the sender's, atomic rename, directory fsync, manifest line. Helper
 * threads ({@link Overlap}) force the part while it arrives and read it back for its CRC32C
 * while it is forced a last time; the rename waits for both. With {@code force=false} nothing is
 * forced or fsynced (the checksum is still compared, the rename still waits for it): see
 * {@link ArchiveDir#ArchiveDir(java.nio.file.Path, boolean)} and docs/CONNECTORS.md.
 *
 * <p>One connection at a time: a new connection closes the one before it (after a cut the old
 * one is usually a dead connection the receiver has not noticed yet), and file handling is
 * serialized by a lock, so two connections never write the same archive concurrently.
 *
 * <p>No authentication and no TLS: listen on a trusted network only. Names from the wire are
 * checked against the data-directory layout ({@link ShipFile#isValidName}), so a sender
 * cannot write outside {@code target.dir}.
 *
 * <p><b>Thread safety.</b> {@link #run} accepts on the runtime's thread and serves each
 * connection on a handler thread; {@link #close}, {@link #port} and {@link #progress} may be
 * called from any thread.
 */
public final class SegmentReceiveTask implements ServiceTask {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentReceiveTask.class);
    private static final long MAX_FILE_BYTES = 1L << 40;
    private static final long RECEIVE_CHUNK_BYTES = 256 * 1024;

    private final CountDownLatch bound = new CountDownLatch(1);
    private final AtomicLong filesReceived = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong verifyFailures = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    /** Serializes file handling between an old connection's handler and a new one's. */
    private final ReentrantLock archiveLock = new ReentrantLock();
    /** The listening socket; volatile: close() from another thread closes it to end accept(). */
    private volatile ServerSocketChannel server;
    /** The connection being served; volatile for the same reason. */
    private volatile SocketChannel current;
    private volatile boolean closed;
    private volatile int port = -1;
    private String name = "?";

    @Override
    public void run(TaskContext context) throws Exception {
        name = context.config().name();
        Settings s = Settings.of(context.config());
        int listenPort = s.port();
        String host = s.host();
        Path dir = s.dir();
        Files.createDirectories(dir);
        try (ArchiveDir archive = new ArchiveDir(dir, s.force()); ServerSocketChannel ss = ServerSocketChannel.open()) {
            serve(ss, host, listenPort, archive, dir);
        } finally {
            closed = true;
            bound.countDown();
        }
    }

    /** The settings of a {@code segment-receive} connector; errors name the field. */
    private record Settings(int port, String host, Path dir, boolean force) {
        static Settings of(ConnectorConfig c) {
            int port = c.intValue("listen.port", -1, 0, 65_535);
            if (port < 0) {
                throw new dev.ferry.connect.ConnectConfigException(c.name(), "listen.port",
                        "listen.port: missing (expected: the TCP port segment-ship's target.port names, 0 = any free port)");
            }
            String host = c.string("listen.host", "0.0.0.0", "an address of this host to listen on");
            Path dir = Path.of(c.string("target.dir", "the archive directory to write received files into"));
            boolean force = c.bool("force", true);
            return new Settings(port, host, dir, force);
        }
    }

    /** Reads and checks every setting without opening anything (see {@link SegmentShipTask#configure}). */
    public void configure(ConnectorConfig config) {
        Settings.of(config);
    }

    /** Accepts connections until closed; joins the last handler before the archive is closed. */
    private void serve(ServerSocketChannel ss, String host, int listenPort, ArchiveDir archive, Path dir)
            throws IOException, InterruptedException {
        Thread handler = null;
        try {
            ss.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ss.bind(new InetSocketAddress(host, listenPort));
            server = ss;
            port = ((InetSocketAddress) ss.getLocalAddress()).getPort();
            bound.countDown();
            LOG.info("{}: receiving segments on {}:{} into {}", name, host, port, dir);
            while (!closed) {
                SocketChannel ch;
                try {
                    ch = ss.accept();
                } catch (ClosedChannelException e) {
                    break; // close()
                }
                connections.incrementAndGet();
                SocketChannel previous = current;
                current = ch;
                closeQuietly(previous);
                if (handler != null) {
                    handler.join(TimeUnit.SECONDS.toMillis(30));
                }
                handler = new Thread(() -> serve(ch, archive), "ferry-segment-receive-" + ch.socket().getPort());
                handler.setDaemon(true);
                handler.start();
            }
        } finally {
            closeQuietly(current);
            if (handler != null) {
                handler.join(TimeUnit.SECONDS.toMillis(30));
            }
        }
    }

    /** Serves one connection until the sender closes it, it breaks, or the task stops. */
    private void serve(SocketChannel ch, ArchiveDir archive) {
        String peer = String.valueOf(ch.socket().getRemoteSocketAddress());
        try (ch) {
            ShipProtocol.checkHello(ShipProtocol.readFully(ch, ShipProtocol.HELLO_SIZE), peer);
            ShipProtocol.writeFully(ch, ShipProtocol.hello());
            for (;;) {
                ByteBuffer head = ByteBuffer.allocate(ShipProtocol.FILE_NAME_OFFSET);
                if (ch.read(head) < 0 && head.position() == 0) {
                    return; // the sender is done
                }
                while (head.hasRemaining()) {
                    if (ch.read(head) < 0) {
                        throw new EOFException("connection closed inside a FILE header");
                    }
                }
                int flags = head.get(ShipProtocol.FILE_FLAGS_OFFSET);
                int nameLength = Short.toUnsignedInt(head.getShort(ShipProtocol.FILE_NAME_LENGTH_OFFSET));
                if (nameLength < 1 || nameLength > ShipProtocol.MAX_NAME_BYTES) {
                    reject(ch, peer, "nameLength: " + nameLength + " (expected: 1.." + ShipProtocol.MAX_NAME_BYTES + ")");
                    return;
                }
                String file = StandardCharsets.UTF_8.decode(ShipProtocol.readFully(ch, nameLength)).toString();
                long length = ShipProtocol.readFully(ch, 8).getLong(0);
                if (!ShipFile.isValidName(file) || length < 0 || length > MAX_FILE_BYTES) {
                    reject(ch, peer, "file '" + file + "' of " + length + " bytes (expected: a data-directory path such as "
                            + "commitlog/00000000000000000000 and a length in [0, " + MAX_FILE_BYTES + "])");
                    return;
                }
                archiveLock.lock();
                try {
                    receiveFile(ch, archive, file, length, (flags & ShipProtocol.FLAG_VERIFY) != 0);
                } finally {
                    archiveLock.unlock();
                }
            }
        } catch (AsynchronousCloseException e) {
            LOG.info("{}: connection from {} closed (replaced by a newer one, or stopping)", name, peer);
        } catch (IOException e) {
            if (closed || current != ch) {
                LOG.info("{}: connection from {} closed (replaced by a newer one, or stopping): {}", name, peer, e.toString());
            } else {
                LOG.warn("{}: connection from {} ended: {}", name, peer, e.toString());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.info("{}: connection from {} closed (interrupted)", name, peer);
        } catch (RuntimeException e) {
            LOG.error("{}: connection from {} failed", name, peer, e);
        }
    }

    private void receiveFile(SocketChannel ch, ArchiveDir archive, String file, long length, boolean verify)
            throws IOException, InterruptedException {
        ArchiveDir.Status status = archive.status(file, length);
        if (status instanceof ArchiveDir.Status.Different d) {
            // HAVE with the archived length: the sender sees it is not its file and fails (another store's archive)
            LOG.warn("{}: {} of {} bytes: the archive lists it with {} bytes (another store's archive?); left as it is", name,
                    file, length, d.entry().length());
            ShipProtocol.writeFully(ch, ShipProtocol.resume(ShipProtocol.STATE_HAVE, d.entry().length(),
                    d.entry().crc().orElse(0)));
            return;
        }
        if (status instanceof ArchiveDir.Status.Have have) {
            ShipProtocol.writeFully(ch, ShipProtocol.resume(ShipProtocol.STATE_HAVE, length, have.entry().crc().orElse(0)));
            return;
        }
        long offset = ((ArchiveDir.Status.Resume) status).offset();
        ShipProtocol.writeFully(ch, ShipProtocol.resume(ShipProtocol.STATE_SEND, offset, 0));
        ArchiveDir.Completion done;
        try (FileChannel part = archive.openPart(file)) {
            // the disk writes the part back while it arrives; the final force then has only the tail left
            Overlap.Flusher flusher = archive.flusher(part);
            try {
                long position = offset;
                while (position < length) {
                    // bounded calls: transferFrom loops until its count, and progress is counted between calls
                    long n = part.transferFrom(ch, position, Math.min(RECEIVE_CHUNK_BYTES, length - position));
                    if (n <= 0) {
                        throw new EOFException("connection closed after " + position + " of " + length + " bytes of " + file
                                + " (kept in its .part for a resume)");
                    }
                    position += n;
                    bytesReceived.addAndGet(n);
                    if (position < length) {
                        flusher.dirty(); // not after the last bytes: complete() forces those
                    }
                }
                flusher.finish();
            } finally {
                flusher.cancel();
            }
            // the sender's CRC is read while the part is forced and read back for its own
            Optional<ArchiveDir.ExpectedCrc> expected = verify
                    ? Optional.of(() -> ShipProtocol.readFully(ch, ShipProtocol.CRC_SIZE).getInt(0))
                    : Optional.empty();
            done = archive.complete(part, file, length, expected);
        }
        if (done instanceof ArchiveDir.Completion.Mismatch m) {
            verifyFailures.incrementAndGet();
            LOG.warn("{}: {}: checksum of the received copy is {} (expected: {} from the sender); part deleted", name, file,
                    Checksums.hex(m.actual()), Checksums.hex(m.expected()));
            ShipProtocol.writeFully(ch, ShipProtocol.result(ShipProtocol.STATUS_BAD, m.actual()));
            return;
        }
        filesReceived.incrementAndGet();
        int crc = ((ArchiveDir.Completion.Done) done).crc().orElse(0);
        ShipProtocol.writeFully(ch, ShipProtocol.result(ShipProtocol.STATUS_OK, crc));
        LOG.info("{}: received {} ({} bytes{})", name, file, length, offset > 0 ? ", resumed at " + offset : "");
    }

    private void reject(SocketChannel ch, String peer, String why) throws IOException {
        rejected.incrementAndGet();
        LOG.warn("{}: rejected {}: {}", name, peer, why);
        ShipProtocol.writeFully(ch, ShipProtocol.resume(ShipProtocol.STATE_REJECT, 0, 0));
    }

    /** The port listened on, once bound (useful with {@code listen.port=0}); waits up to {@code timeout}. */
    public int awaitPort(Duration timeout) throws InterruptedException {
        if (!bound.await(timeout.toMillis(), TimeUnit.MILLISECONDS) || port < 0) {
            throw new IllegalStateException(name + ": not listening after " + timeout.toMillis() + " ms");
        }
        return port;
    }

    /** Counters: {@code filesReceived}, {@code bytesReceived}, {@code connections}, {@code verifyFailures}, {@code rejected}. */
    @Override
    public Map<String, Long> progress() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("filesReceived", filesReceived.get());
        m.put("bytesReceived", bytesReceived.get());
        m.put("connections", connections.get());
        m.put("verifyFailures", verifyFailures.get());
        m.put("rejected", rejected.get());
        return m;
    }

    /** Stops listening and closes the current connection (its {@code .part} stays for a resume). */
    @Override
    public void close() {
        closed = true;
        ServerSocketChannel ss = server;
        if (ss != null) {
            try {
                ss.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
        closeQuietly(current);
    }

    private static void closeQuietly(SocketChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // a broken connection: nothing to do
            }
        }
    }
}
