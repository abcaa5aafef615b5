package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.broker.GroupDescription;
import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry consume --group} as a member of its consumer group: each consume runs in a child
 * JVM through bin/ferry's entry point (two at once, stopped by SIGTERM as by Ctrl-C), against a
 * broker of this JVM on a real socket, whose group state the tests read. No wait decides an
 * outcome: each is for a condition, with a generous deadline.
 */
class ConsumeGroupTest {
    private static final String TOPIC = "orders";
    private static final String GROUP = "billing";

    @TempDir
    Path dir;

    private Broker broker;
    private Gateway gateway;
    private String server;
    private FerryClient client;
    private final List<Process> children = new ArrayList<>();

    @BeforeEach
    void start() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir.resolve("data")).segmentBytes(8 << 20).preTouch(false).build()));
        gateway = Gateway.start(broker, GatewayConfig.builder().host("127.0.0.1").port(0).build());
        server = "127.0.0.1:" + gateway.port();
        client = FerryClient.connect(ClientConfig.builder().server(server).build());
        client.createTopic(TOPIC, 4);
    }

    @AfterEach
    void stop() {
        children.forEach(Process::destroyForcibly);
        client.close();
        gateway.close();
        broker.close();
    }

    /**
     * Two consumes of one group, both joined before anything is sent: the broker gives each two of
     * the four queues, and every message is printed by exactly one of them. Stopped by SIGTERM (as
     * Ctrl-C), each acks what it printed and leaves: the group has no live member at once (a member
     * that did not leave stays live for its session timeout, 10 s) and is committed at every
     * queue's end. Before, consume was no member: both read every queue (each message printed
     * twice, or one of them stopped with exit 1 when it saw the other's commits).
     */
    @Test
    void twoConsumesOfOneGroupSplitItsMessages() throws Exception {
        Process a = consume("a", "--timeout-ms", "120000");
        Process b = consume("b", "--timeout-ms", "120000");
        awaitSettled(2, a, b);

        send(0, 200);
        await("every message printed", () -> lines("a").size() + lines("b").size() >= 200, a, b);
        for (Process p : List.of(a, b)) {
            p.destroy(); // SIGTERM: the shutdown hook, as Ctrl-C
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("stopped").isTrue();
        }
        assertThat(broker.groups().isLive(GROUP)).as("both left the group on their way out").isFalse();

        List<String> all = new ArrayList<>(lines("a"));
        all.addAll(lines("b"));
        assertThat(all).as("every message once").containsExactlyInAnyOrderElementsOf(bodies(0, 200));
        assertThat(lines("a")).as("a printed some").isNotEmpty();
        assertThat(lines("b")).as("b printed some").isNotEmpty();
        assertThat(committedTotal()).as("what they printed is committed").isEqualTo(200);
    }

    /**
     * One of two consumes stops at {@code --max 30}: it prints exactly 30, acks exactly those and
     * leaves, and the other takes its queues over at its next heartbeat and prints the rest from
     * the committed offsets: every message once, none lost or printed twice at the handover.
     */
    @Test
    void aConsumeThatStopsAtMaxHandsItsQueuesToTheOther() throws Exception {
        Process a = consume("a", "--max", "30", "--timeout-ms", "120000");
        Process b = consume("b", "--timeout-ms", "120000");
        awaitSettled(2, a, b);

        send(0, 200);
        assertThat(a.waitFor(60, TimeUnit.SECONDS)).as("a stops at --max").isTrue();
        assertThat(a.exitValue()).as(err("a")).isZero();
        assertThat(lines("a")).hasSize(30);
        assertThat(err("a")).contains("consumed 30");
        await("b printed the rest", () -> lines("b").size() >= 170, b);
        b.destroy();
        assertThat(b.waitFor(30, TimeUnit.SECONDS)).isTrue();

        List<String> all = new ArrayList<>(lines("a"));
        all.addAll(lines("b"));
        assertThat(all).as("every message once").containsExactlyInAnyOrderElementsOf(bodies(0, 200));
        assertThat(committedTotal()).isEqualTo(200);
    }

    /** --max over several queues prints exactly that many and commits exactly those; the next consume prints the rest. */
    @Test
    void maxPrintsAndCommitsExactlyThatMany() throws Exception {
        send(0, 40);
        Process first = consume("first", "--max", "7", "--timeout-ms", "30000");
        assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(first.exitValue()).as(err("first")).isZero();
        assertThat(lines("first")).hasSize(7);
        assertThat(broker.groups().isLive(GROUP)).as("it left on its way out").isFalse();
        assertThat(committedTotal()).as("exactly what it printed is committed").isEqualTo(7);

        Process rest = consume("rest", "--timeout-ms", "2000");
        assertThat(rest.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(rest.exitValue()).as(err("rest")).isZero();
        List<String> all = new ArrayList<>(lines("first"));
        all.addAll(lines("rest"));
        assertThat(all).as("the rest, none twice").containsExactlyInAnyOrderElementsOf(bodies(0, 40));
    }

    /** {@code ferry consume --topic orders --group billing ARGS} in a child JVM; output in DIR/NAME.out and NAME.err. */
    private Process consume(String name, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), "dev.ferry.cli.Ferry", "consume", "--topic", TOPIC, "--group", GROUP,
                "--server", server));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(dir.resolve(name + ".err").toFile()).start();
        children.add(p);
        return p;
    }

    /** The complete lines NAME printed so far. */
    private List<String> lines(String name) {
        try {
            String out = Files.readString(dir.resolve(name + ".out"), StandardCharsets.UTF_8);
            return out.substring(0, out.lastIndexOf('\n') + 1).lines().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String err(String name) throws IOException {
        return Files.readString(dir.resolve(name + ".err"), StandardCharsets.UTF_8);
    }

    private void send(int from, int to) {
        try (Producer p = client.producer()) {
            bodies(from, to).forEach(b -> p.sendAsync(TOPIC, b.getBytes(StandardCharsets.UTF_8)));
            p.flush();
        }
    }

    private static List<String> bodies(int from, int to) {
        return IntStream.range(from, to).mapToObj(i -> String.format("m-%03d", i)).toList();
    }

    private long committedTotal() {
        return IntStream.range(0, 4).mapToLong(q -> broker.committedOffset(GROUP, TOPIC, q).orElse(0)).sum();
    }

    /**
     * Waits until {@code members} members are in the group, each owning some of the topic's queues,
     * and each heartbeated more than a heartbeat interval after the last of them joined: by
     * then every member that lost a queue to the join heard of it, and its new owner got it, so
     * nothing is sent while a queue is being handed over.
     */
    private void awaitSettled(int members, Process... alive) throws Exception {
        long[] joined = {-1};
        await(members + " members reading", () -> {
            GroupDescription d = broker.groups().isLive(GROUP) ? broker.groups().describe(GROUP) : null;
            if (d == null || d.members().size() != members) {
                return false;
            }
            if (joined[0] < 0) {
                joined[0] = d.members().stream().mapToLong(GroupDescription.Member::lastHeartbeatMs).max().orElseThrow();
            }
            long owners = d.queues().stream().filter(q -> q.topic().equals(TOPIC)).map(GroupDescription.QueueState::owner).distinct()
                    .filter(o -> !o.isEmpty()).count();
            return owners == members
                    && d.members().stream().allMatch(m -> m.lastHeartbeatMs() > joined[0] + ConsumeCommand.HEARTBEAT_MS + 500);
        }, alive);
    }

    private void await(String what, BooleanSupplier condition, Process... alive) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (UncheckedIOException e) {
                // a file not written yet
            }
            for (Process p : alive) {
                if (!p.isAlive()) {
                    throw new AssertionError(what + ": a consume exited (" + p.exitValue() + ") before");
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }
}
