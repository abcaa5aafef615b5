package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code ferry broker} with a configuration it cannot start with: one line naming the key, its own exit code, nothing opened. */
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
}
