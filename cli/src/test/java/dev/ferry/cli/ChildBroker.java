package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A broker in a child JVM ({@code ferry broker}, data in {@code DIR/data}, an ephemeral port), for
 * the tests that kill it with {@code kill -9} ({@code Process.destroyForcibly}) and start it again
 * on the same data. Its standard error goes to {@code DIR/broker.err}.
 */
final class ChildBroker {
    private static final Pattern LISTENING = Pattern.compile("listening on [^:]+:(\\d+)");

    private ChildBroker() {
    }

    /** Starts {@code ferry broker --data DIR/data --port 0} with {@code args} after it (e.g. "--config", FILE). */
    static Process start(Path dir, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "dev.ferry.cli.Ferry", "broker", "--data", dir.resolve("data").toString(), "--port", "0"));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.err").toFile())).start();
    }

    /** {@code kill -9} of the broker, returning once it is gone: nothing flushed, no clean-close marker written. */
    static void kill(Process broker) throws InterruptedException {
        broker.destroyForcibly();
        if (!broker.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new AssertionError("the broker still runs 20 s after SIGKILL");
        }
    }

    /**
     * The port the broker printed it listens on; its later output is read on a daemon thread, so
     * that the pipe never fills and blocks it.
     */
    static int port(Process broker, Path dir) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                Thread drain = new Thread(() -> {
                    try {
                        while (out.readLine() != null) {
                            // keep the pipe from filling
                        }
                    } catch (IOException ignored) {
                        // the broker is gone
                    }
                });
                drain.setDaemon(true);
                drain.start();
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("the broker exited before listening; stderr: " + Files.readString(dir.resolve("broker.err")));
    }
}
