package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs clients/python/smoke_test.py (the standard-library JSON client) against a real broker. The
 * script also runs the client against fake brokers of its own that break frames on purpose (long
 * poll past the client's timeout, stalls and drops mid-frame, undecodable frames), so this test
 * takes a few seconds. And runs clients/python/codecs_test.py, the hand-written protobuf and
 * Hessian clients written from docs/PROTOCOL.md alone, whose malformed frames the broker must
 * refuse, each on its own connection, while another connection goes on.
 */
class PythonClientTest {
    /** The script needs about 4 s (a 3 s long poll, 0.5 s client timeouts); this is the hang guard. */
    private static final long SCRIPT_TIMEOUT_SECONDS = 60;

    @TempDir
    Path dir;

    private static boolean python3Available() {
        try {
            Process p = new ProcessBuilder("python3", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** clients/python/NAME in the repository root: the first ancestor of the module folder holding it. */
    private static Path script(String name) {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            Path s = p.resolve("clients/python").resolve(name);
            if (Files.isRegularFile(s)) {
                return s;
            }
        }
        throw new AssertionError("clients/python/" + name + " not found above " + here);
    }

    @Test
    void pythonClientTalksJsonToTheGateway() throws Exception {
        runScript("smoke_test.py", "OK python client");
    }

    @Test
    void handWrittenProtobufAndHessianClientsTalkToTheGateway() throws Exception {
        runScript("codecs_test.py", "OK python codec clients");
    }

    private void runScript(String name, String success) throws Exception {
        assumeTrue(python3Available(), "python3 is not installed: skipping the Python client test");
        Path script = script(name);
        Path log = dir.resolve(name + ".log");
        try (BrokerFixture server = BrokerFixture.start(dir.resolve("broker"))) {
            // Output to a file, not a pipe: reading a pipe to its end would wait for a hung script forever.
            ProcessBuilder pb = new ProcessBuilder("python3", "-u", script.toString(), "--port", Integer.toString(server.port()))
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().remove("PYTHONOPTIMIZE"); // the scripts check with assert, which it would turn off
            Process p = pb.start();
            boolean finished = p.waitFor(SCRIPT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(finished).as("python finished within %d s; output: %s", SCRIPT_TIMEOUT_SECONDS, output).isTrue();
            assertThat(p.exitValue()).as("exit code; output: %s", output).isZero();
            assertThat(output).contains(success);
        }
    }
}
