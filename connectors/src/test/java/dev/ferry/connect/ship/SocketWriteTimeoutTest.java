package dev.ferry.connect.ship;

import static dev.ferry.connect.ship.ShipTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.ferry.log.MessageStore;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * segment-ship's write deadline ({@code write.timeout.ms}, {@link SocketTarget}) against real
 * sockets: a receiver that stops reading, and one that reads slowly but steadily.
 *
 * <p>A stall needs more bytes than the kernel buffers between the two ends: the receiving
 * socket's buffer is made small here, the sender's grows by itself up to {@code tcp_wmem}'s
 * maximum (4 MiB by default on Linux), so the stalled file is a 16 MiB segment.
 */
class SocketWriteTimeoutTest {
    private static final int STALL_SEGMENT_BYTES = 16 << 20;
    private static final int SLOW_SEGMENT_BYTES = 8 << 20;
    private static final String FIRST = "commitlog/00000000000000000000";

    @TempDir
    Path tmp;

    /** A data directory with {@code sealed} sealed segments of {@code segmentBytes}. */
    private Path store(int segmentBytes, int sealed) {
        Path data = tmp.resolve("data");
        try (MessageStore s = MessageStore.open(storeConfig(data).segmentBytes(segmentBytes).build())) {
            s.createQueues(TOPIC, QUEUES);
            fill(s, (long) sealed * segmentBytes + 1000, 0);
        }
        assertThat(SealedFiles.scan(data, false)).as("sealed segments").hasSize(sealed);
        return data;
    }

    private Context sender(Path data, int port, String... more) {
        String[] kv = {"log.dir", data.toString(), "target.host", "127.0.0.1", "target.port", Integer.toString(port),
                "include.indexes", "false"};
        String[] all = Arrays.copyOf(kv, kv.length + more.length);
        System.arraycopy(more, 0, all, kv.length, more.length);
        return new Context(config(all), tmp.resolve("state"));
    }

    @Test
    void aReceiverThatStopsReadingFailsTheWriteAfterTheWriteTimeoutAndIsRetried() throws Exception {
        Path data = store(STALL_SEGMENT_BYTES, 1);
        try (StalledReceiver stalled = new StalledReceiver()) {
            SegmentShipTask sender = new SegmentShipTask();
            sender.start(sender(data, stalled.port(), "write.timeout.ms", "1000"));
            long start = System.nanoTime();
            Throwable failure;
            try {
                // a bound for a hang, far above the 1 s write timeout
                failure = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> catchThrowable(sender::shipOnce),
                        "shipOnce still blocked writing to a receiver that stopped reading after 60 s: no write deadline");
            } finally {
                sender.close();
            }
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(failure).isInstanceOf(SocketTimeoutException.class)
                    .hasMessageStartingWith("receiver 127.0.0.1:" + stalled.port() + ": no progress sending " + FIRST + " (byte ")
                    .hasMessageEndingWith(" of " + STALL_SEGMENT_BYTES + ") within write.timeout.ms=1000 ms (expected: the "
                            + "receiver to read; connection closed, retried at the next scan)");
            assertThat(elapsedMs).as("failed by the deadline, not before it").isGreaterThanOrEqualTo(1000);

            // the sender closed the connection: what was in flight, then end of stream
            Socket first = stalled.connections().get(0);
            first.setSoTimeout(10_000);
            long inFlight = first.getInputStream().transferTo(OutputStream.nullOutputStream());
            assertThat(inFlight).as("bytes buffered when the write was cut, then EOF").isBetween(1L, STALL_SEGMENT_BYTES - 1L);

            // the task's loop counts the failure and tries again at the next interval, still running
            SegmentShipTask task = new SegmentShipTask();
            Throwable[] taskFailure = new Throwable[1];
            Thread running = start("sender", task, sender(data, stalled.port(), "write.timeout.ms", "1000",
                    "interval.ms", "50"), taskFailure);
            await(Duration.ofSeconds(60), "two failed attempts", () -> task.progress().get("errors") >= 2);
            assertThat(running.isAlive()).as("the task keeps running").isTrue();
            assertThat(task.progress()).containsEntry("filesShipped", 0L);
            assertThat(stalled.connections()).as("a new connection for each attempt").hasSizeGreaterThanOrEqualTo(3);
            task.close();
            running.join(10_000);
            assertThat(running.isAlive()).as("the task stopped").isFalse();
            assertThat(taskFailure[0]).isNull();
        }
    }

    @Test
    void stoppingEndsAWriteBlockedOnAReceiverThatStoppedReading() throws Exception {
        Path data = store(STALL_SEGMENT_BYTES, 1);
        try (StalledReceiver stalled = new StalledReceiver()) {
            SegmentShipTask task = new SegmentShipTask();
            Throwable[] failure = new Throwable[1];
            // a deadline far away: only the stop can end this write
            Thread running = start("sender", task, sender(data, stalled.port(), "write.timeout.ms", "600000"), failure);
            await(Duration.ofSeconds(30), "the receiver to ask for the file", () -> stalled.answered() >= 1);
            awaitQuiet(() -> task.progress().get("bytesShipped"), Duration.ofMillis(500));
            task.close();
            running.join(30_000);
            assertThat(running.isAlive()).as("the sender still blocked in sendfile 30 s after close()").isFalse();
            assertThat(failure[0]).isNull();
            assertThat(task.progress()).as("stopping is not an error").containsEntry("errors", 0L);
        }
    }

    @Test
    void aSlowReceiverThatKeepsReadingIsNotCutOff() throws Exception {
        Path data = store(SLOW_SEGMENT_BYTES, 2);
        Path archive = tmp.resolve("standby");
        SegmentReceiveTask receiver = new SegmentReceiveTask();
        Throwable[] receiverFailure = new Throwable[1];
        Thread receiverThread = start("receiver", receiver, new Context(config("listen.port", "0", "listen.host",
                "127.0.0.1", "target.dir", archive.toString()), tmp.resolve("rstate")), receiverFailure);
        int receiverPort = receiver.awaitPort(Duration.ofSeconds(10));
        // 16 MiB at 4 MiB/s: at least 4 s, more than one write timeout (2.5 s: a loaded 2-core machine can
        // stall the pacing thread for a second), most of it with the sender's writes blocked on a full
        // buffer; each 256 KiB call still completes every 1/16 s
        long rate = 4 << 20;
        try (PacedProxy proxy = new PacedProxy(receiverPort, rate)) {
            SegmentShipTask sender = new SegmentShipTask();
            sender.start(sender(data, proxy.port(), "write.timeout.ms", "2500"));
            long start = System.nanoTime();
            int shipped;
            try {
                shipped = assertTimeoutPreemptively(Duration.ofSeconds(60), sender::shipOnce, "a slow transfer hung");
            } finally {
                sender.close();
            }
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(shipped).isEqualTo(2);
            assertThat(elapsedMs).as("the transfer outlasted write.timeout.ms (paced to 4 MiB/s)").isGreaterThan(3_000);
            assertThat(sender.progress()).containsEntry("errors", 0L).containsEntry("filesShipped", 2L);
            assertIdenticalToSource(archive, data);
            assertThat(numberedFiles(archive, "commitlog")).hasSize(2);
        } finally {
            receiver.close();
            receiverThread.join(10_000);
        }
        assertThat(receiverFailure[0]).isNull();
    }

    /** Waits until {@code value} has not changed for {@code quiet}: the sender is blocked (or about to be). */
    private static void awaitQuiet(LongSupplier value, Duration quiet) throws InterruptedException {
        long[] last = {-1, System.nanoTime()};
        await(Duration.ofSeconds(30), "bytes shipped to stop growing", () -> {
            long v = value.getAsLong();
            long now = System.nanoTime();
            if (v != last[0]) {
                last[0] = v;
                last[1] = now;
                return false;
            }
            return now - last[1] >= quiet.toNanos();
        });
    }

    /**
     * A fake receiver on a real socket with a small receive buffer: answers HELLO, asks for the
     * file from byte 0, then never reads again. Keeps every connection open until closed.
     */
    private static final class StalledReceiver implements AutoCloseable {
        private final ServerSocket server;
        private final List<Socket> connections = new CopyOnWriteArrayList<>();
        private final AtomicInteger answered = new AtomicInteger();
        private final Thread acceptor;

        StalledReceiver() throws IOException {
            server = new ServerSocket();
            server.setReceiveBufferSize(16 * 1024); // inherited by accepted sockets
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            acceptor = new Thread(this::serve, "stalled-receiver");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        /** Connections accepted so far (each one answered, then left unread). */
        List<Socket> connections() {
            return connections;
        }

        /** How many connections got their RESUME: from then on the sender writes the file. */
        int answered() {
            return answered.get();
        }

        private void serve() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.add(s);
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    in.readFully(new byte[ShipProtocol.HELLO_SIZE]);
                    s.getOutputStream().write(ShipProtocol.hello().array());
                    in.readByte(); // flags
                    in.readFully(new byte[in.readUnsignedShort()]); // name
                    in.readLong(); // length
                    s.getOutputStream().write(ShipProtocol.resume(ShipProtocol.STATE_SEND, 0, 0).array());
                    answered.incrementAndGet();
                    // and nothing more is read from s
                } catch (IOException e) {
                    // the test closed the server, or a sender gave up during the handshake
                }
            }
        }

        @Override
        public void close() throws Exception {
            server.close();
            for (Socket s : connections) {
                s.close();
            }
            acceptor.join(10_000);
        }
    }

    /**
     * A TCP proxy in front of a real receiver that passes the sender's bytes on at
     * {@code bytesPerSecond} through a small buffer (a slow but steady reader), and the
     * receiver's answers back as they come.
     */
    private static final class PacedProxy implements AutoCloseable {
        private final ServerSocket server;
        private final int targetPort;
        private final long bytesPerSecond;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        PacedProxy(int targetPort, long bytesPerSecond) throws IOException {
            this.targetPort = targetPort;
            this.bytesPerSecond = bytesPerSecond;
            server = new ServerSocket();
            server.setReceiveBufferSize(64 * 1024);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            acceptor = new Thread(this::serve, "paced-proxy");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try {
                    Socket fromSender = server.accept();
                    Socket toReceiver = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                    sockets.add(fromSender);
                    sockets.add(toReceiver);
                    relay("proxy-up", fromSender.getInputStream(), toReceiver.getOutputStream(), bytesPerSecond);
                    relay("proxy-down", toReceiver.getInputStream(), fromSender.getOutputStream(), 0);
                } catch (IOException e) {
                    // the test closed the server
                }
            }
        }

        /** Copies {@code in} to {@code out}, at most {@code rate} bytes/s on average (0: as fast as it comes). */
        private static void relay(String name, InputStream in, OutputStream out, long rate) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[16 * 1024];
                long start = System.nanoTime();
                long passed = 0;
                try {
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        out.write(buf, 0, n);
                        passed += n;
                        if (rate > 0) {
                            long wait = start + passed * 1_000_000_000L / rate - System.nanoTime();
                            if (wait > 0) {
                                TimeUnit.NANOSECONDS.sleep(wait); // pacing the slow reader, not waiting for a condition
                            }
                        }
                    }
                    out.close();
                } catch (IOException | InterruptedException e) {
                    // a side closed
                }
            }, name);
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws Exception {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
            acceptor.join(10_000);
        }
    }
}
