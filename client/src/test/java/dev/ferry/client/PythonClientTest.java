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

/** Runs clients/python/smoke_test.py (the standard-library JSON client) against a real broker. */
class PythonClientTest {
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

    /** The repository root: the first ancestor of the module folder holding clients/python. */
    private static Path script() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            Path s = p.resolve("clients/python/smoke_test.py");
            if (Files.isRegularFile(s)) {
                return s;
            }
        }
        throw new AssertionError("clients/python/smoke_test.py not found above " + here);
    }

    @Test
    void pythonClientTalksJsonToTheGateway() throws Exception {
        assumeTrue(python3Available(), "python3 is not installed: skipping the Python client test");
        Path script = script();
        try (BrokerFixture server = BrokerFixture.start(dir)) {
            Process p = new ProcessBuilder("python3", script.toString(), "--port", Integer.toString(server.port()))
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("python finished; output: %s", output).isTrue();
            assertThat(p.exitValue()).as("exit code; output: %s", output).isZero();
            assertThat(output).contains("OK python client");
        }
    }
}
