package dev.ferry.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.FerryException;
import dev.ferry.client.Producer;
import dev.ferry.client.ProducerConfig;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What an operator finds in the broker's log when its disk fills up under producers: the store's
 * own line saying the disk is full, and no stack trace per refused send. Before, every send
 * refused for a full disk logged "ERROR Requests - SEND_BATCH request N failed" with a 40-line
 * stack trace: one producer wrote some 400 of them (17,000 lines) in a few seconds, for a
 * condition docs/OPERATIONS.md calls expected. The producer is still told, send by send, that the
 * disk is full.
 *
 * <p>A real full disk: the data folder is a 100 MiB tmpfs mounted for the test, under a broker in
 * a child JVM ({@link ChildBroker}), with staged writes (the default) and with writes through
 * mappings (where the disk stays full, and so the checkpoint, every 100 ms here, fails too: it
 * logged a stack trace each time). Needs root; skipped otherwise. Unmounted afterwards, pass or fail.
 */
class DiskFullLogTest {
    private static final int BODY = 64 << 10;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "flush.staged.writes={0}")
    @ValueSource(booleans = {true, false})
    void aFullDiskIsLoggedOnceNotOnceASend(boolean staged) throws Exception {
        assumeTrue("0".equals(run("id", "-u").trim()), "not root: cannot mount a file system");
        Path data = Files.createDirectory(dir.resolve("data"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", data.toString()).isEmpty(), "cannot mount a tmpfs here");
        try {
            Path config = Files.writeString(dir.resolve("broker.properties"), "segment.bytes=16777216\nsegment.pretouch=false\n"
                    + "segment.fill.ahead.bytes=16777216\ncheckpoint.interval.ms=100\nflush.staged.writes=" + staged + "\n");
            Process broker = ChildBroker.start(dir, "--config", config.toString());
            List<String> refusals = new ArrayList<>();
            try {
                int port = ChildBroker.port(broker, dir);
                try (FerryClient client = FerryClient.connect(ClientConfig.builder().port(port).build());
                     Producer p = client.producer(ProducerConfig.builder().retries(0).build())) {
                    client.createTopic("fill", 1);
                    byte[] body = new byte[BODY];
                    // 100 MiB cannot take 2,000 bodies of 64 KiB: the disk fills up well before, and 50 sends are refused
                    for (int i = 0; i < 2_000 && refusals.size() < 50; i++) {
                        try {
                            p.send(Message.builder("fill").queueId(0).body(body).build());
                        } catch (FerryException e) {
                            refusals.add(String.valueOf(e.getMessage()));
                        }
                    }
                    if (!staged) {
                        // the disk stays full (staged writes give their reserve back), and a checkpoint fails every 100 ms
                        awaitLogMentions("checkpoint");
                    }
                }
            } finally {
                broker.destroy(); // SIGTERM
                if (!broker.waitFor(60, TimeUnit.SECONDS)) {
                    ChildBroker.kill(broker);
                }
            }
            String log = Files.readString(dir.resolve("broker.err"));
            assertThat(refusals).as("sends refused once the disk is full").hasSize(50)
                    .allSatisfy(m -> assertThat(m).contains("the disk is full"));
            assertThat(log).as("the store says the disk is full").contains("No space left on device");
            assertThat(log.lines().filter(l -> l.startsWith("\tat ")).count()).as("stack trace lines in the broker's log:\n" + log)
                    .isZero();
            assertThat(log.lines().filter(l -> l.contains(" ERROR ")).count()).as("ERROR lines for 50 refused sends:\n" + log)
                    .isLessThan(5);
        } finally {
            String out = run("umount", data.toString());
            if (!out.isEmpty()) {
                run("umount", "-l", data.toString());
            }
        }
    }

    private void awaitLogMentions(String text) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(dir.resolve("broker.err")).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the broker's log does not mention \"" + text + "\" within 30 s:\n"
                        + Files.readString(dir.resolve("broker.err")));
            }
            Thread.sleep(50);
        }
    }

    /** Runs a command; its output (empty when it succeeded quietly). */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        return p.waitFor() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }
}
