package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.log.LogConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * {@code ferry broker} with a configuration it cannot start with: one line naming the key, its own
 * exit code, nothing opened; and a start that fails after the store opened (the port cannot be
 * bound): one line naming the address, exit 1, the store closed cleanly.
 */
class BrokerCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String err) {}

    private Run run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Ferry.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, err.toString());
    }

    private Path file(String content) throws IOException {
        Path f = dir.resolve("broker.properties");
        Files.writeString(f, "data.dir=" + dir.resolve("data") + "\n" + content);
        return f;
    }

    @Test
    void unknownKeyFailsFastNamingIt() throws IOException {
        Path f = file("flush.modee=sync\n");
        Run r = run("broker", "--config", f.toString());
        assertThat(r.exit).as("exit code for a bad configuration").isEqualTo(Ferry.EXIT_BAD_CONFIG).isNotEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.err).startsWith("ferry: " + f + ": flush.modee: unknown key");
        assertThat(r.err.lines()).as("one line, no stack trace: " + r.err).hasSize(1);
        assertThat(dir.resolve("data")).as("nothing opened").doesNotExist();
    }

    @Test
    void outOfRangeValueFailsFastNamingKeyAndRange() throws IOException {
        Path f = file("segment.bytes=100\n");
        Run r = run("broker", "--config", f.toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(r.err).isEqualTo("ferry: " + f + ": segment.bytes: 100 (expected: 4096..2147483647)" + System.lineSeparator());
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void badFlagNamesTheFlagAndTheKey() {
        Run r = run("broker", "--data", dir.resolve("data").toString(), "--metrics-port", "65536");
        assertThat(r.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(r.err).isEqualTo("ferry: --metrics-port: metrics.port: 65536 (expected: 0..65535)" + System.lineSeparator());
    }

    @Test
    void missingFileIsABadConfiguration() {
        Run r = run("broker", "--config", dir.resolve("nope.properties").toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(r.err).startsWith("ferry: " + dir.resolve("nope.properties") + ": cannot read").hasLineCount(1);
    }

    /**
     * Before, the bind's checked exception escaped both the gateway's wrapper and BrokerServer's
     * RuntimeException catch: the message was Netty's ("bind(..) failed with error(-98): Address
     * already in use"; NIO: a bare "Address already in use") and the broker was never closed, so
     * the abort marker stayed and the next start ran crash recovery.
     */
    @ParameterizedTest(name = "transport.native={0}")
    @ValueSource(booleans = {true, false})
    void aPortInUseNamesTheAddressAndClosesTheStoreCleanly(boolean nativeTransport) throws IOException {
        Path data = dir.resolve("data");
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Path f = file("segment.bytes=1048576\nsegment.pretouch=false\ntransport.native=" + nativeTransport + "\n");
            Run r = run("broker", "--config", f.toString(), "--host", "127.0.0.1", "--port", Integer.toString(taken.getLocalPort()));
            assertThat(data.resolve("lock")).as("the store was opened").exists();
            assertThat(data.resolve("abort")).as("and closed cleanly: the next start runs no crash recovery").doesNotExist();
            assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
            assertThat(r.err).isEqualTo("ferry: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": Address already in use" + System.lineSeparator());
        }
    }

    @Test
    void aHostThatDoesNotResolveSaysSoAndClosesTheStore() throws IOException {
        Path f = file("segment.bytes=1048576\nsegment.pretouch=false\nlisten.host=no.such.host.invalid\nlisten.port=29877\n");
        Run r = run("broker", "--config", f.toString());
        assertThat(dir.resolve("data").resolve("abort")).doesNotExist();
        assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.err).isEqualTo("ferry: cannot listen on no.such.host.invalid:29877: unknown host" + System.lineSeparator());
    }

    @Test
    void aDataPathThatIsAFileSaysWhy() throws IOException {
        Path notADir = Files.writeString(dir.resolve("plain-file"), "x");
        Run r = run("broker", "--data", notADir.toString(), "--port", "0");
        assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.err).isEqualTo("ferry: cannot open store " + notADir + ": it exists and is not a directory" + System.lineSeparator());
    }

    @Test
    void aMissingConfigFileSaysItDoesNotExist() {
        Path missing = dir.resolve("nonexistent.properties");
        Run r = run("broker", "--config", missing.toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_BAD_CONFIG);
        assertThat(r.err).isEqualTo("ferry: " + missing + ": cannot read (no such file)" + System.lineSeparator());
    }

    /**
     * limits.topic.queues lowered below the queues of a topic the data folder holds, and the broker
     * restarted: the start fails as a bad configuration naming the key, where it was set and the
     * topic, and closes the store. Before, it started (the port here is taken, so that such a start
     * ends at the bind instead of serving), and that topic's sends to its queues past the limit were
     * refused with "queueId: 3 (expected: 0..1)".
     */
    @Test
    void aQueueLimitBelowAnExistingTopicsQueuesIsABadConfiguration() throws IOException {
        Path data = dir.resolve("data");
        try (Broker b = Broker.open(BrokerConfig.defaults(LogConfig.builder(data).segmentBytes(1 << 20).preTouch(false).build()))) {
            b.createTopic("orders", 4);
        }
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Path f = file("segment.bytes=1048576\nsegment.pretouch=false\nlimits.topic.queues=2\ntopics.default.queues=2\n");
            Run r = run("broker", "--config", f.toString(), "--port", Integer.toString(taken.getLocalPort()));
            assertThat(r.exit).as(r.err).isEqualTo(Ferry.EXIT_BAD_CONFIG);
            assertThat(r.err).startsWith("ferry: " + f + ": limits.topic.queues: 2 (expected: at least 4, the queues of topic orders in "
                    + data.resolve("topics.properties")).hasLineCount(1);
            assertThat(data.resolve("abort")).as("the store closed cleanly").doesNotExist();
        }
    }
}
