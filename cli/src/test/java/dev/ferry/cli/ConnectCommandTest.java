package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.StatusFile;
import dev.ferry.connect.TaskState;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code ferry connect}: bad configurations (exit 4, one line naming the field), and a real run as a child process. */
class ConnectCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    private Run run(String... args) {
        StringWriter err = new StringWriter();
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, UTF_8));
        try {
            CommandLine cl = Ferry.commandLine();
            cl.setErr(new PrintWriter(err, true));
            int exit = cl.execute(args);
            return new Run(exit, out.toString(UTF_8), err.toString());
        } finally {
            System.setOut(oldOut);
        }
    }

    @Test
    void badConfigurationsExitWith4NamingTheField() throws IOException {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"connector\": \"file-source\", \"file\": \"x.log\", \"topic\": \"t\", \"chunk.bytes\": \"big\"}");
        Run r = run("connect", f.toString(), "--server", "127.0.0.1:1", "--state-dir", dir.resolve("state").toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(r.err).isEqualTo("ferry: connector 'bad': chunk.bytes: 'big' (expected: an integer in [1, 4194304])"
                + System.lineSeparator());
        assertThat(dir.resolve("state")).as("nothing started").doesNotExist();

        Run missing = run("connect", "../examples/connectors/file-source.json", "--set", "file=", "--server", "127.0.0.1:1");
        assertThat(missing.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(missing.err).startsWith("ferry: connector 'app-log-tail': file: missing").hasLineCount(1);

        Run type = run("connect", "../examples/connectors/file-sink.json", "--set", "connector=file-snk", "--server", "127.0.0.1:1");
        assertThat(type.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(type.err).contains("connector: 'file-snk' (expected: one of [");

        Run set = run("connect", "../examples/connectors/file-sink.json", "--set", "roll.bytes");
        assertThat(set.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(set.err).contains("--set: 'roll.bytes' (expected: key=value)");
    }

    @Test
    void statusWithoutARuntimeIsNotFound() {
        Run r = run("connect", "status", "--state-dir", dir.resolve("none").toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(run("connect", "pause", "x", "--state-dir", dir.resolve("none").toString()).exit).isEqualTo(Ferry.EXIT_NOT_FOUND);
    }

    @Test
    void runsTheExampleAsAChildProcessWithOverridesAndStopsCleanlyOnSigterm() throws Exception {
        Broker broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir.resolve("data")).segmentBytes(16 << 20).preTouch(false).build()));
        Gateway gateway = Gateway.start(broker, GatewayConfig.builder().host("127.0.0.1").port(0).build());
        Path state = dir.resolve("state");
        Path log = dir.resolve("x.log");
        Files.writeString(log, "one\ntwo\n");
        Process p = null;
        try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(gateway.port()).build())) {
            client.createTopic("lines", 1);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.ferry.cli.Ferry", "connect",
                    "../examples/connectors/file-source.json", "--server", "127.0.0.1:" + gateway.port(), "--set", "file=" + log,
                    "--set", "topic=lines", "--state-dir", state.toString())
                    .redirectError(dir.resolve("stderr.txt").toFile()).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
            String first = out.readLine();
            assertThat(first).as("first line of stdout").startsWith("connector app-log-tail (file-source) started against 127.0.0.1:");

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (client.queueOffsets("lines", 0).maxOffset() < 2 || !statusSays(state, TaskState.RUNNING, 2)) {
                assertThat(System.nanoTime()).as("both lines sent and status.json written; stderr: %s", stderr()).isLessThan(deadline);
                Thread.sleep(50);
            }
            Run status = run("connect", "status", "--state-dir", state.toString());
            assertThat(status.exit).isZero();
            assertThat(status.out).contains("CONNECTOR").containsPattern("app-log-tail\\s+file-source\\s+RUNNING\\s+2\\s+2\\s+0\\s+0");

            assertThat(run("connect", "pause", "app-log-tail", "--state-dir", state.toString()).exit).isZero();
            while (!statusSays(state, TaskState.PAUSED, 2)) {
                assertThat(System.nanoTime()).as("paused in status.json").isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(run("connect", "resume", "app-log-tail", "--state-dir", state.toString()).exit).isZero();
            Files.writeString(log, "three\n", UTF_8, StandardOpenOption.APPEND);
            while (!statusSays(state, TaskState.RUNNING, 3)) {
                assertThat(System.nanoTime()).as("resumed and sent the third line").isLessThan(deadline);
                Thread.sleep(50);
            }

            p.destroy(); // SIGTERM
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("stopped within 20 s").isTrue();
            assertThat(p.exitValue()).as("exit code of a clean stop; stderr: %s", stderr()).isZero();
            assertThat(stderr()).contains("connectors stopped cleanly");
            List<ConnectorStatus> last = StatusFile.read(state.resolve("status.json")).connectors();
            assertThat(last.get(0).state()).isEqualTo(TaskState.STOPPED);
            assertThat(Files.readString(state.resolve("positions/app-log-tail.json"))).contains("\"offset\":\"14\"");
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            gateway.close();
            broker.close();
        }
    }

    private String stderr() {
        try {
            return Files.readString(dir.resolve("stderr.txt"));
        } catch (IOException e) {
            return "(none)";
        }
    }

    private static boolean statusSays(Path state, TaskState s, long out) {
        Path f = state.resolve("status.json");
        if (!Files.exists(f)) {
            return false;
        }
        ConnectorStatus c = StatusFile.read(f).connectors().get(0);
        return c.state() == s && c.recordsOut() == out;
    }
}
