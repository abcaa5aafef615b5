package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * What the data commands make of unusual input: bodies that are not UTF-8 text, and numbers and
 * keys a command cannot take (refused before anything is sent, as a bad command line: exit 2,
 * naming the flag as typed).
 */
class CliInputTest {
    @TempDir
    Path dir;

    private InProcessFerry ferry;
    private Broker broker;
    private String server;

    private record Run(int exit, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    @BeforeEach
    void start() {
        ferry = InProcessFerry.start(dir);
        broker = ferry.broker;
        server = ferry.server;
    }

    @AfterEach
    void stop() {
        ferry.close();
    }

    private Run run(byte[] stdin, String... args) {
        InProcessFerry.Run r = ferry.run(stdin, args);
        return new Run(r.exit(), r.out(), r.err());
    }

    private Run run(String... args) {
        return run(new byte[0], args);
    }

    /** Runs {@code ferry args...} as given, without the fixture's {@code --server}. */
    private static Run runWithoutServer(String... args) {
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StringWriter picocliErr = new StringWriter();
        int exit;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            CommandLine cl = Ferry.commandLine();
            cl.setErr(new PrintWriter(picocliErr, true));
            exit = cl.execute(args);
        } finally {
            System.setErr(oldErr);
        }
        return new Run(exit, new byte[0], err.toString(StandardCharsets.UTF_8) + picocliErr);
    }

    /**
     * produce sends each line's bytes as they are. Before, it decoded standard input as UTF-8, so
     * bytes that are not UTF-8 (a binary or Latin-1 body) were stored as U+FFFD (EF BF BD), and a
     * '\r' inside a line ended the line there, splitting one body in two.
     */
    @Test
    void produceSendsTheBytesOfEachLineUnchanged() {
        assertThat(run("topic", "create", "bin", "--queues", "1").exit).isZero();
        byte[] latin1 = "caf\u00e9".getBytes(StandardCharsets.ISO_8859_1); // 63 61 66 E9: not UTF-8
        byte[] binary = {(byte) 0xff, (byte) 0xfe, 0, 1, 'x'};
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes(latin1);
        in.write('\n');
        in.writeBytes(binary);
        in.write('\n');
        in.writeBytes("a\rb\n".getBytes(StandardCharsets.US_ASCII)); // a lone CR is part of the body
        in.writeBytes("crlf\r\n".getBytes(StandardCharsets.US_ASCII)); // a CRLF line ending is still one
        in.writeBytes("h\u00e9llo \ud83d\ude00".getBytes(StandardCharsets.UTF_8)); // UTF-8, last line without '\n'
        Run produced = run(in.toByteArray(), "produce", "--topic", "bin");
        assertThat(produced.exit).as(produced.err).isZero();
        assertThat(produced.err).contains("sent 5, failed 0");

        Run consumed = run("consume", "--topic", "bin", "--group", "g", "--timeout-ms", "500");
        assertThat(consumed.exit).as(consumed.err).isZero();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(latin1);
        expected.write('\n');
        expected.writeBytes(binary);
        expected.write('\n');
        expected.writeBytes("a\rb\ncrlf\n".getBytes(StandardCharsets.US_ASCII));
        expected.writeBytes("h\u00e9llo \ud83d\ude00\n".getBytes(StandardCharsets.UTF_8));
        assertThat(consumed.out).as("the bodies as sent, one a line").isEqualTo(expected.toByteArray());
    }

    /** Before, any --max below 0 meant "no limit" (-1 was the hidden default): --max -5 printed the whole topic. */
    @Test
    void consumeRefusesANegativeMaxAndTimeout() {
        assertThat(run("topic", "create", "t", "--queues", "1").exit).isZero();
        assertThat(run("a\nb\n".getBytes(StandardCharsets.UTF_8), "produce", "--topic", "t").exit).isZero();
        Run negative = run("consume", "--topic", "t", "--group", "g", "--max", "-5", "--timeout-ms", "500");
        assertThat(negative.exit).as(negative.err).isEqualTo(2);
        assertThat(negative.err).contains("--max: -5");
        assertThat(negative.out).isEmpty();
        Run minusOne = run("consume", "--topic", "t", "--group", "g", "--max", "-1", "--timeout-ms", "500");
        assertThat(minusOne.exit).as(minusOne.err).isEqualTo(2);
        Run timeout = run("consume", "--topic", "t", "--group", "g", "--timeout-ms", "-1");
        assertThat(timeout.exit).as(timeout.err).isEqualTo(2);
        assertThat(timeout.err).contains("--timeout-ms: -1");
        Run nothingMoved = run("consume", "--topic", "t", "--group", "g", "--max", "5", "--timeout-ms", "500");
        assertThat(nothingMoved.text().lines()).as("the refused runs committed nothing").containsExactly("a", "b");
    }

    /**
     * Counts and keys a command cannot take are a bad command line (exit 2) naming the flag. Before,
     * they went to the client or the broker and came back as exit 1 naming an internal field
     * ({@code queues: 0}, {@code maxMessages: 0}, {@code shardingKey: ''}), or, for a key with a space
     * or a negative delay, every line was refused one by one, or sent at once.
     */
    @Test
    void badCountsAndKeysAreUsageErrorsNamingTheFlag() {
        Run queues = run("topic", "create", "x", "--queues", "0");
        assertThat(queues.exit).as(queues.err).isEqualTo(2);
        assertThat(queues.err).contains("--queues: 0");
        assertThat(run("topic", "list").text()).doesNotContain("x");

        assertThat(run("topic", "create", "t", "--queues", "1").exit).isZero();
        Run max = run("message", "get", "--topic", "t", "--key", "k", "--max", "0");
        assertThat(max.exit).as(max.err).isEqualTo(2);
        assertThat(max.err).contains("--max: 0");

        byte[] line = "x\n".getBytes(StandardCharsets.UTF_8);
        for (String key : List.of("", "a b")) {
            Run bad = run(line, "produce", "--topic", "t", "--key", key);
            assertThat(bad.exit).as(bad.err).isEqualTo(2);
            assertThat(bad.err).contains("--key: '" + key + "'");
        }
        Run delay = run(line, "produce", "--topic", "t", "--delay-ms", "-5");
        assertThat(delay.exit).as(delay.err).isEqualTo(2);
        assertThat(delay.err).contains("--delay-ms: -5");
        assertThat(run("message", "get", "--topic", "t", "--key", "k").exit).as("nothing was sent").isEqualTo(3);
    }

    /** --key without --topic is a bad command line also when the broker is not there to ask. */
    @Test
    void keyWithoutTopicIsAUsageErrorWithoutABroker() {
        Run r = runWithoutServer("message", "get", "--key", "k", "--server", "127.0.0.1:1");
        assertThat(r.exit).as(r.err).isEqualTo(2);
        assertThat(r.err).contains("--key needs --topic");
    }

    /**
     * A {@code group reset} while consume runs is honoured as by any group member: the broker
     * fences the read begun before it and the member reads the queue again from the reset offset,
     * so a, b, c come a second time, then d, and the group ends committed after d. Before, consume
     * was not a member: it stopped with exit 1 when it saw the offsets moved (and earlier still, it
     * read on and committed over the reset).
     */
    @Test
    void consumeFollowsAResetOfItsGroup() throws Exception {
        assertThat(run("topic", "create", "live", "--queues", "1").exit).isZero();
        assertThat(run("a\nb\nc\n".getBytes(StandardCharsets.UTF_8), "produce", "--topic", "live").exit).isZero();
        java.util.concurrent.atomic.AtomicReference<Run> consumed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = new Thread(() -> consumed.set(run("consume", "--topic", "live", "--group", "g", "--max", "7", "--timeout-ms", "30000")));
        try (dev.ferry.client.FerryClient client = dev.ferry.client.FerryClient.connect(
                dev.ferry.client.ClientConfig.builder().server(server.substring("--server=".length())).build())) {
            t.start();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (client.committedOffset("g", "live", 0).orElse(-1) != 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(client.committedOffset("g", "live", 0)).hasValue(3);
            assertThat(client.resetOffsets("g", "live", "earliest", 0)).containsEntry(0, 0L);
            try (dev.ferry.client.Producer producer = client.producer()) {
                producer.send("live", "d".getBytes(StandardCharsets.UTF_8));
            }
            t.join(30_000);
            assertThat(consumed.get()).as("consume returned").isNotNull();
            assertThat(consumed.get().exit).as(consumed.get().err).isZero();
            assertThat(consumed.get().text().lines()).as("read again from the reset").containsExactly("a", "b", "c", "a", "b", "c", "d");
            assertThat(client.committedOffset("g", "live", 0)).as("everything printed since the reset is committed").hasValue(4);
            assertThat(broker.groups().isLive("g")).as("it left the group on its way out").isFalse();
        }
        Run again = run("consume", "--topic", "live", "--group", "g", "--timeout-ms", "500");
        assertThat(again.text()).isEmpty();
    }

    /**
     * message get prints a body's bytes as they are, as consume does. Before, it decoded the body
     * as UTF-8 and printed it through System.out: bytes that are not UTF-8 came out as U+FFFD
     * (EF BF BD), and under LANG=C every non-ASCII character as '?'.
     */
    @Test
    void messageGetPrintsTheBodysBytesUnchanged() {
        assertThat(run("topic", "create", "bin", "--queues", "1").exit).isZero();
        byte[] body = {'c', 'a', 'f', (byte) 0xe9, (byte) 0xff, 0, 'x'};
        byte[] line = java.util.Arrays.copyOf(body, body.length + 1);
        line[body.length] = '\n';
        assertThat(run(line, "produce", "--topic", "bin", "--key", "k").exit).isZero();
        Run got = run("message", "get", "--topic", "bin", "--key", "k");
        assertThat(got.exit).as(got.err).isZero();
        assertThat(got.text()).startsWith("id=").contains(" keys=[k] ");
        byte[] tail = java.util.Arrays.copyOfRange(got.out, got.out.length - line.length, got.out.length);
        assertThat(tail).as("the body, then a newline").isEqualTo(line);
    }

    /** Before, a malformed --id went to the broker and came back as BAD_REQUEST, exit 1 (and with no broker, "connection refused"). */
    @Test
    void aMalformedMessageIdIsAUsageError() {
        for (String id : List.of("zz", "00000000000000000", "000000000000000g")) {
            Run r = run("message", "get", "--id", id);
            assertThat(r.exit).as(r.err).isEqualTo(2);
            assertThat(r.err).contains("--id: '" + id + "' (expected: 16 hex digits");
        }
        assertThat(run("message", "get", "--id", "00000000000000ff").exit).as("well formed, no such message").isEqualTo(3);
    }

    /**
     * A --timeout-ms too large to wait out means "wait". Before, timeoutMs * 1,000,000 overflowed to
     * a negative number of nanoseconds, so consume stopped at its first empty poll (0 consumed).
     */
    @Test
    void aHugeTimeoutWaitsForMessages() throws Exception {
        assertThat(run("topic", "create", "later", "--queues", "1").exit).isZero();
        Thread sender = new Thread(() -> {
            try (dev.ferry.client.FerryClient client = dev.ferry.client.FerryClient.connect(
                    dev.ferry.client.ClientConfig.builder().server(server.substring("--server=".length())).build());
                 dev.ferry.client.Producer producer = client.producer()) {
                Thread.sleep(1500);
                producer.send("later", "late".getBytes(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        sender.start();
        Run r = run("consume", "--topic", "later", "--group", "g", "--max", "1", "--timeout-ms", Long.toString(Long.MAX_VALUE));
        sender.join();
        assertThat(r.exit).as(r.err).isZero();
        assertThat(r.text().lines()).containsExactly("late");
    }

    /**
     * A queue count past the largest any broker takes ({@code limits.topic.queues} accepts at most
     * 65,536) is a bad command line, refused before connecting. Before, it went to the broker and
     * came back as exit 1 ({@code queues: 100000 (expected: 1..4096)}).
     */
    @Test
    void tooManyQueuesIsAUsageErrorWithoutABroker() {
        PrintStream oldErr = System.err;
        StringWriter picocliErr = new StringWriter();
        int exit;
        try {
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            CommandLine cl = Ferry.commandLine();
            cl.setErr(new PrintWriter(picocliErr, true));
            exit = cl.execute("topic", "create", "x", "--queues", "100000", "--server", "127.0.0.1:1");
        } finally {
            System.setErr(oldErr);
        }
        assertThat(exit).as(picocliErr.toString()).isEqualTo(2);
        assertThat(picocliErr.toString()).contains("--queues: 100000 (expected: 1..65536");
        Run zero = run("topic", "create", "x", "--queues", "0");
        assertThat(zero.exit).as(zero.err).isEqualTo(2);
        assertThat(zero.err).contains("--queues: 0 (expected: 1..65536");
    }

    /**
     * A {@code --server} or {@code --codec} the client cannot take is a bad command line naming the
     * flag, for every command that connects. Before, it exited 1 (a failure while running) with the
     * client's own words, "ferry: port: 99999 (expected: 1..65535)", naming no flag.
     */
    @Test
    void aBadServerOrCodecIsAUsageErrorNamingTheFlag() {
        Run noPort = runWithoutServer("topic", "list", "--server", "127.0.0.1");
        assertThat(noPort.exit).as(noPort.err).isEqualTo(2);
        assertThat(noPort.err).contains("ferry: --server: server: '127.0.0.1' (expected: host:port)");
        Run bigPort = runWithoutServer("group", "list", "--server", "127.0.0.1:99999");
        assertThat(bigPort.exit).as(bigPort.err).isEqualTo(2);
        assertThat(bigPort.err).contains("ferry: --server: port: 99999 (expected: 1..65535)");
        Run codec = run("topic", "list", "--codec", "xml");
        assertThat(codec.exit).as(codec.err).isEqualTo(2);
        assertThat(codec.err).contains("ferry: --codec: codec: 'xml' (expected: one of [binary, hessian, json, protobuf])");
    }

    /**
     * A broker that does not listen: one line naming the server and the operating system's
     * reason, exit 1. Before, the native transport's call and errno came first and the address
     * again after ("connect to 127.0.0.1:P: finishConnect(..) failed with error(-111): Connection
     * refused: /127.0.0.1:P").
     */
    @Test
    void aServerThatDoesNotListenIsNamedWithTheReason() throws java.io.IOException {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        Run r = runWithoutServer("topic", "list", "--server", "127.0.0.1:" + port);
        assertThat(r.exit).as(r.err).isEqualTo(1);
        assertThat(r.err).isEqualTo("ferry: connect to 127.0.0.1:" + port + ": Connection refused" + System.lineSeparator());
    }

    /**
     * {@code --timeout-ms 0}: read every queue until a FETCH of it brings nothing, then stop; what
     * is there is printed and committed. Before, the first poll waited 1 ms, usually before any FETCH was answered,
     * and consume stopped with nothing printed (consumed 0) though the topic had messages.
     */
    @Test
    void aZeroTimeoutPrintsWhatIsThereThenStops() {
        assertThat(run("topic", "create", "now", "--queues", "4").exit).isZero();
        Run empty = run("consume", "--topic", "now", "--group", "g", "--timeout-ms", "0");
        assertThat(empty.exit).as(empty.err).isZero();
        assertThat(empty.text()).isEmpty();
        assertThat(empty.err).contains("consumed 0");

        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            lines.append("m").append(i).append('\n');
        }
        assertThat(run(lines.toString().getBytes(StandardCharsets.UTF_8), "produce", "--topic", "now").exit).isZero();
        Run all = run("consume", "--topic", "now", "--group", "g", "--timeout-ms", "0");
        assertThat(all.exit).as(all.err).isZero();
        assertThat(all.text().lines()).hasSize(300);
        assertThat(all.err).contains("consumed 300");
        Run again = run("consume", "--topic", "now", "--group", "g", "--timeout-ms", "0");
        assertThat(again.text()).as("all committed").isEmpty();
    }

    /**
     * {@code --timeout-ms 0} with a filter stops once it read what its queues hold, also while
     * messages it skips keep arriving. A FETCH answer with nothing counted as "caught up" only if
     * its next offset had not moved; with a filter every new message of another tag wakes the long
     * poll and moves it, so on a busy queue no answer ever did and consume never stopped (the
     * default timeout, counted from the last printed line, stops it after 5 s).
     */
    @Test
    void aZeroTimeoutWithAFilterStopsWhileSkippedMessagesKeepArriving() throws Exception {
        assertThat(run("topic", "create", "busy", "--queues", "1").exit).isZero();
        assertThat(run("a1\na2\n".getBytes(StandardCharsets.UTF_8), "produce", "--topic", "busy", "--tag", "A").exit).isZero();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Run> consumed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = new Thread(() -> consumed.set(run("consume", "--topic", "busy", "--group", "g", "--tags", "A", "--timeout-ms", "0")));
        boolean busyWhenItStopped;
        try (dev.ferry.client.FerryClient client = dev.ferry.client.FerryClient.connect(
                dev.ferry.client.ClientConfig.builder().server(server.substring("--server=".length())).build());
             dev.ferry.client.Producer producer = client.producer()) {
            Thread others = new Thread(() -> {
                while (!stop.get()) { // a message of another tag every 50 ms
                    producer.send(dev.ferry.protocol.Message.builder("busy").body("b".getBytes(StandardCharsets.UTF_8)).tags("B").build());
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            others.start();
            t.start();
            t.join(30_000);
            busyWhenItStopped = !t.isAlive();
            stop.set(true);
            others.join();
        }
        t.join();
        assertThat(busyWhenItStopped).as("consume returned while messages it skips kept arriving").isTrue();
        assertThat(consumed.get().exit).as(consumed.get().err).isZero();
        assertThat(consumed.get().text().lines()).containsExactly("a1", "a2");
    }

    /**
     * consume of a topic the broker does not have (a typo) says so and exits 3, as it did before it
     * became a group member and as the exit-code table says: a join subscribes to a missing topic
     * without complaint (it has no queues yet), so it waited out its --timeout-ms, printed
     * "consumed 0" and exited 0, having made the group's retry topic for the typo.
     */
    @Test
    void consumeOfAMissingTopicSaysSoAndExitsThree() {
        Run missing = run("consume", "--topic", "nosuch", "--group", "typo", "--timeout-ms", "0");
        assertThat(missing.exit).as(missing.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(missing.err).contains("topic nosuch does not exist");
        assertThat(run("topic", "list").text()).doesNotContain("%RETRY%typo");
    }

    /** A line past the limit is refused once it passes it, naming the line, not read whole into memory first. */
    @Test
    void produceRefusesALineLongerThanItsLimitAsItPassesIt() throws Exception {
        byte[] in = new byte[300_000];
        java.util.Arrays.fill(in, (byte) 'z');
        in[10] = '\n';
        ProduceCommand.LineReader r = new ProduceCommand.LineReader(new ByteArrayInputStream(in), 100_000);
        assertThat(r.next()).hasSize(10);
        org.assertj.core.api.Assertions.assertThatThrownBy(r::next).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("line 2: more than 100000 bytes");
    }

    /** Lines longer than produce's 64 KiB read buffer, and a "\r\n" split across two reads, come out whole. */
    @Test
    void produceReadsLinesAcrossItsBuffer() throws Exception {
        byte[] longLine = new byte[(1 << 16) - 1]; // its '\r' is the buffer's last byte, its '\n' the next read's first
        java.util.Arrays.fill(longLine, (byte) 'x');
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes(longLine);
        in.writeBytes("\r\nshort\n".getBytes(StandardCharsets.US_ASCII));
        byte[] big = new byte[200_000];
        java.util.Arrays.fill(big, (byte) 'y');
        in.writeBytes(big);
        ProduceCommand.LineReader r = new ProduceCommand.LineReader(new ByteArrayInputStream(in.toByteArray()), 1 << 20);
        assertThat(r.next()).isEqualTo(longLine);
        assertThat(r.next()).isEqualTo("short".getBytes(StandardCharsets.US_ASCII));
        assertThat(r.next()).isEqualTo(big);
        assertThat(r.next()).isNull();
    }
}
