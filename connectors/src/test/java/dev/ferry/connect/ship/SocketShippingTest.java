package dev.ferry.connect.ship;

import static dev.ferry.connect.ship.ShipTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.MessageStore;
import java.io.DataInputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** segment-ship to a segment-receive task over a real localhost socket. */
class SocketShippingTest {
    @TempDir
    Path tmp;

    private SegmentReceiveTask receiver;
    private Thread receiverThread;
    private final Throwable[] receiverFailure = new Throwable[1];

    private int startReceiver(Path archive, int port) throws InterruptedException {
        return startReceiver(archive, port, true);
    }

    private int startReceiver(Path archive, int port, boolean force) throws InterruptedException {
        receiver = new SegmentReceiveTask();
        receiverThread = start("receiver", receiver, new Context(config("listen.port", Integer.toString(port),
                "listen.host", "127.0.0.1", "target.dir", archive.toString(), "force", Boolean.toString(force)),
                tmp.resolve("rstate")), receiverFailure);
        return receiver.awaitPort(Duration.ofSeconds(10));
    }

    private void stopReceiver() throws InterruptedException {
        receiver.close();
        receiverThread.join(10_000);
        assertThat(receiverThread.isAlive()).as("receiver stopped").isFalse();
        assertThat(receiverFailure[0]).isNull();
    }

    @Test
    void shipsOverASocketByteForByte() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("standby");
        try (MessageStore store = openStore(data)) {
            fill(store, 4 * SEGMENT_BYTES + SEGMENT_BYTES / 2, 0); // > 1000 messages a queue: one full index file each
        }
        int port = startReceiver(archive, 0);
        SegmentShipTask sender = new SegmentShipTask();
        sender.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                "target.port", Integer.toString(port)), tmp.resolve("state")));
        int sealed = SealedFiles.scan(data, true).size();
        assertThat(sender.shipOnce()).isEqualTo(sealed);
        assertThat(numberedFiles(archive, "commitlog")).hasSize(4);
        assertThat(numberedFiles(archive, "index")).hasSize(QUEUES);
        assertIdenticalToSource(archive, data);
        assertThat(receiver.progress()).containsEntry("filesReceived", (long) sealed).containsEntry("verifyFailures", 0L);

        // a restarted sender asks, the receiver answers HAVE for each file: nothing is sent again
        SegmentShipTask restarted = new SegmentShipTask();
        restarted.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                "target.port", Integer.toString(port)), tmp.resolve("state")));
        assertThat(restarted.shipOnce()).isZero();
        assertThat(restarted.progress()).containsEntry("bytesShipped", 0L).containsEntry("lagFiles", 0L);
        sender.close();
        restarted.close();
        stopReceiver();
    }

    @Test
    void aReceiverWithoutForceStoresByteForByteAndCatchesADamagedPart() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("standby");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        byte[] seg0 = Files.readAllBytes(data.resolve("commitlog/00000000000000000000"));
        byte[] bad = java.util.Arrays.copyOf(seg0, 400_000);
        bad[777] ^= 0x10;
        Files.createDirectories(archive.resolve("commitlog"));
        Files.write(archive.resolve("commitlog/00000000000000000000.part"), bad);
        int port = startReceiver(archive, 0, false);
        SegmentShipTask sender = new SegmentShipTask();
        sender.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                "target.port", Integer.toString(port)), tmp.resolve("state")));
        int sealed = SealedFiles.scan(data, true).size();
        assertThat(sender.shipOnce()).isEqualTo(sealed);
        assertIdenticalToSource(archive, data);
        assertThat(receiver.progress()).containsEntry("filesReceived", (long) sealed).containsEntry("verifyFailures", 1L);
        sender.close();
        stopReceiver();
    }

    @Test
    void aCutConnectionResumesFromTheReceiversPart() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("standby");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        int port = startReceiver(archive, 0);
        // 2 MiB/s: half a second per segment; the receiver is stopped a quarter MiB into segment 0
        SegmentShipTask sender = new SegmentShipTask();
        Throwable[] senderFailure = new Throwable[1];
        Thread senderThread = start("sender", sender, new Context(config("log.dir", data.toString(),
                "target.host", "127.0.0.1", "target.port", Integer.toString(port), "interval.ms", "50",
                "include.indexes", "false", "max.bytes.per.sec", Integer.toString(2 << 20)), tmp.resolve("state")),
                senderFailure);
        await(Duration.ofSeconds(10), "256 KiB received", () -> receiver.progress().get("bytesReceived") >= 256 * 1024);
        stopReceiver();
        Path part = archive.resolve("commitlog/00000000000000000000.part");
        assertThat(part).as("the receiver keeps what arrived").exists();
        long kept = Files.size(part);
        assertThat(kept).isBetween(1L, SEGMENT_BYTES - 1L);
        await(Duration.ofSeconds(10), "the sender to notice the cut", () -> sender.progress().get("errors") >= 1);

        // the standby comes back on the same port; the running sender reconnects and resumes
        startReceiver(archive, port);
        await(Duration.ofSeconds(20), "both segments shipped", () -> sender.progress().get("lagFiles") == 0
                && sender.progress().get("scans") > 1 && sender.progress().get("filesShipped") == 2);
        sender.close();
        senderThread.join(10_000);
        assertThat(senderFailure[0]).isNull();
        assertThat(sender.progress().get("bytesResumed")).as("resumed from the part, not from 0").isEqualTo(kept);
        assertIdenticalToSource(archive, data);
        assertThat(numberedFiles(archive, "commitlog")).hasSize(2);
        stopReceiver();
    }

    @Test
    void aDamagedPartOnTheReceiverIsCaughtAndSentAgainFromZero() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("standby");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        // a part kept from a cut connection, with one byte damaged since: the resume does not resend it
        byte[] seg0 = Files.readAllBytes(data.resolve("commitlog/00000000000000000000"));
        byte[] bad = java.util.Arrays.copyOf(seg0, 500_000);
        bad[4321] ^= 0x08;
        Files.createDirectories(archive.resolve("commitlog"));
        Files.write(archive.resolve("commitlog/00000000000000000000.part"), bad);
        int port = startReceiver(archive, 0);
        SegmentShipTask sender = new SegmentShipTask();
        sender.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                "target.port", Integer.toString(port), "include.indexes", "false"), tmp.resolve("state")));
        assertThat(sender.shipOnce()).isEqualTo(2);
        assertIdenticalToSource(archive, data);
        assertThat(numberedFiles(archive, "commitlog")).hasSize(2);
        assertThat(sender.progress()).as("the receiver's checksum caught it; the retry sent the whole file")
                .containsEntry("verifyFailures", 1L).containsEntry("bytesResumed", 0L)
                .containsEntry("bytesShipped", (SEGMENT_BYTES - 500_000L) + 2L * SEGMENT_BYTES);
        assertThat(receiver.progress()).containsEntry("verifyFailures", 1L).containsEntry("filesReceived", 2L);
        sender.close();
        stopReceiver();
    }

    @Test
    void aSenderStoppedMidFileResumesAfterARestart() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("standby");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        int port = startReceiver(archive, 0);
        SegmentShipTask slow = new SegmentShipTask();
        Throwable[] failure = new Throwable[1];
        Thread t = start("slow-sender", slow, new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                "target.port", Integer.toString(port), "include.indexes", "false",
                "max.bytes.per.sec", Integer.toString(2 << 20)), tmp.resolve("state")), failure);
        await(Duration.ofSeconds(10), "256 KiB received", () -> receiver.progress().get("bytesReceived") >= 256 * 1024);
        slow.close();
        t.join(10_000);
        assertThat(t.isAlive()).as("the sender stopped promptly").isFalse();
        assertThat(failure[0]).isNull();
        assertThat(slow.progress()).as("stopping is not an error").containsEntry("errors", 0L);
        Path part = archive.resolve("commitlog/00000000000000000000.part");
        await(Duration.ofSeconds(10), "the receiver to see the cut", () -> receiver.progress().get("bytesReceived")
                .equals(sizeOrZero(part)));
        long kept = Files.size(part);
        assertThat(kept).isBetween(1L, SEGMENT_BYTES - 1L);

        SegmentShipTask again = new SegmentShipTask();
        again.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                "target.port", Integer.toString(port), "include.indexes", "false"), tmp.resolve("state")));
        assertThat(again.shipOnce()).isEqualTo(2);
        assertThat(again.progress()).containsEntry("bytesResumed", kept)
                .containsEntry("bytesShipped", 2L * SEGMENT_BYTES - kept);
        assertIdenticalToSource(archive, data);
        again.close();
        stopReceiver();
    }

    private static long sizeOrZero(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    @Test
    void theReceiverRejectsANameOutsideTheDataDirectoryLayout() throws Exception {
        Path archive = tmp.resolve("standby");
        int port = startReceiver(archive, 0);
        try (SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
            ShipProtocol.writeFully(ch, ShipProtocol.hello());
            ShipProtocol.checkHello(ShipProtocol.readFully(ch, ShipProtocol.HELLO_SIZE), "receiver");
            ShipProtocol.writeFully(ch, ShipProtocol.file("commitlog/../../etc/passwd", 10, true));
            ByteBuffer reply = ShipProtocol.readFully(ch, ShipProtocol.RESUME_SIZE);
            assertThat(reply.get(ShipProtocol.RESUME_STATE_OFFSET)).isEqualTo(ShipProtocol.STATE_REJECT);
            assertThat(ch.read(ByteBuffer.allocate(1))).as("the receiver closed the connection").isEqualTo(-1);
        }
        assertThat(receiver.progress()).containsEntry("rejected", 1L);
        try (var s = Files.list(archive)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly(Manifest.FILE);
        }
        stopReceiver();
    }

    /**
     * A fake receiver on a real socket: answers HELLO, asks for every file from byte 0, takes the
     * bytes and the CRC, and never sends RESULT. Serves connection after connection until closed.
     */
    private static Thread silentReceiver(ServerSocket server) {
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    in.readFully(new byte[ShipProtocol.HELLO_SIZE]);
                    s.getOutputStream().write(ShipProtocol.hello().array());
                    in.readByte(); // flags
                    in.readFully(new byte[in.readUnsignedShort()]); // name
                    in.readLong(); // length
                    s.getOutputStream().write(ShipProtocol.resume(ShipProtocol.STATE_SEND, 0, 0).array());
                    in.transferTo(java.io.OutputStream.nullOutputStream()); // until the sender gives up and closes
                } catch (java.io.IOException e) {
                    // the sender closed the connection, or the test closed the server
                }
            }
        }, "silent-receiver");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void aReceiverThatNeverAnswersFailsTheAttemptAfterTheReadTimeoutAndIsRetried() throws Exception {
        Path data = tmp.resolve("data");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        try (ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread fake = silentReceiver(server);
            String port = Integer.toString(server.getLocalPort());
            SegmentShipTask sender = new SegmentShipTask();
            sender.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1", "target.port", port,
                    "include.indexes", "false", "read.timeout.ms", "300"), tmp.resolve("state")));
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Integer> scan = pool.submit(sender::shipOnce);
                Throwable failure;
                try {
                    scan.get(60, TimeUnit.SECONDS); // a bound for a hang, far above the 300 ms read timeout
                    failure = null;
                } catch (ExecutionException e) {
                    failure = e.getCause();
                } catch (TimeoutException e) {
                    throw new AssertionError("shipOnce still waiting for the receiver's RESULT after 60 s: no read deadline");
                }
                assertThat(failure).isInstanceOf(SocketTimeoutException.class)
                        .hasMessage("receiver 127.0.0.1:" + port + ": no RESULT for commitlog/00000000000000000000 within "
                                + "read.timeout.ms=300 ms (expected: the receiver to answer; retried at the next scan)");
            } finally {
                sender.close(); // closes the socket: ends a shipOnce still waiting
                pool.shutdown();
            }

            // the task's loop counts the failure and tries again at the next interval, still running
            SegmentShipTask task = new SegmentShipTask();
            Throwable[] taskFailure = new Throwable[1];
            Thread running = start("sender", task, new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                    "target.port", port, "include.indexes", "false", "read.timeout.ms", "300", "interval.ms", "50"),
                    tmp.resolve("state")), taskFailure);
            await(Duration.ofSeconds(60), "two failed attempts", () -> task.progress().get("errors") >= 2);
            assertThat(running.isAlive()).as("the task keeps running").isTrue();
            assertThat(task.progress()).containsEntry("filesShipped", 0L);
            task.close();
            running.join(10_000);
            assertThat(taskFailure[0]).isNull();
            server.close();
            fake.join(10_000);
        }
    }

    @Test
    void aReceiverHoldingAnotherStoresFilesFailsTheSender() throws Exception {
        Path archive = tmp.resolve("standby");
        int port = startReceiver(archive, 0);
        for (String store : List.of("a", "b")) {
            Path data = tmp.resolve(store);
            try (MessageStore s = openStore(data)) {
                fill(s, 2 * SEGMENT_BYTES + SEGMENT_BYTES / 2, store.equals("a") ? 0 : 5_000_000);
            }
            SegmentShipTask sender = new SegmentShipTask();
            sender.start(new Context(config("log.dir", data.toString(), "target.host", "127.0.0.1",
                    "target.port", Integer.toString(port)), tmp.resolve("state-" + store)));
            if (store.equals("a")) {
                assertThat(sender.shipOnce()).isPositive();
            } else {
                org.assertj.core.api.Assertions.assertThatThrownBy(sender::shipOnce).isInstanceOf(ForeignArchiveException.class)
                        .hasMessageContaining("holds a different commitlog/00000000000000000000 (crc ")
                        .hasMessageContaining("another store's archive?");
            }
            sender.close();
        }
        stopReceiver();
    }

    @Test
    void aReceiverHoldingAFileOfAnotherLengthFailsTheSender() throws Exception {
        Path archive = tmp.resolve("standby");
        int port = startReceiver(archive, 0);
        Path a = tmp.resolve("a");
        try (MessageStore s = openStore(a)) {
            fill(s, 2 * SEGMENT_BYTES + SEGMENT_BYTES / 2, 0);
        }
        SegmentShipTask first = new SegmentShipTask();
        first.start(new Context(config("log.dir", a.toString(), "target.host", "127.0.0.1", "target.port",
                Integer.toString(port), "include.indexes", "false"), tmp.resolve("state-a")));
        assertThat(first.shipOnce()).isPositive();
        first.close();
        byte[] archived = Files.readAllBytes(archive.resolve("commitlog/00000000000000000000"));
        long received = receiver.progress().get("bytesReceived");
        // a broker re-initialised with larger segments ships into the same receiver
        Path b = tmp.resolve("b");
        try (MessageStore s = MessageStore.open(storeConfig(b).segmentBytes(2 * SEGMENT_BYTES).build())) {
            s.createQueues(TOPIC, QUEUES);
            fill(s, 5L * SEGMENT_BYTES, 5_000_000);
        }
        SegmentShipTask second = new SegmentShipTask();
        second.start(new Context(config("log.dir", b.toString(), "target.host", "127.0.0.1", "target.port",
                Integer.toString(port), "include.indexes", "false"), tmp.resolve("state-b")));
        org.assertj.core.api.Assertions.assertThatThrownBy(second::shipOnce).isInstanceOf(ForeignArchiveException.class)
                .hasMessage("receiver 127.0.0.1:" + port + " holds a different commitlog/00000000000000000000 (" + SEGMENT_BYTES
                        + " bytes, source " + 2 * SEGMENT_BYTES + " bytes; segment.bytes or index.entries.per.file changed?): another "
                        + "store's archive? Ship into an archive of "
                        + "this store's own, or move that one away");
        second.close();
        assertThat(Files.readAllBytes(archive.resolve("commitlog/00000000000000000000"))).isEqualTo(archived);
        assertThat(receiver.progress()).as("nothing received").containsEntry("bytesReceived", received);
        stopReceiver();
    }
}
