package dev.ferry.connect.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.connect.Await;
import dev.ferry.connect.Configs;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.RuntimeTestCase;
import dev.ferry.connect.RuntimeOptions;
import dev.ferry.connect.TaskState;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * File source → topic → file sink through a real broker on a real socket: a million lines with a
 * rotation in the middle arrive complete and in order; a runtime stopped midway and restarted
 * loses nothing.
 */
class FileRoundTripTest extends RuntimeTestCase {

    private List<ConnectorConfig> configs() {
        return List.of(
                Configs.of("name", "tail", "connector", "file-source", "file", dir.resolve("app.log").toString(), "topic", "lines",
                        "rotate.wait.ms", "1000"),
                Configs.of("name", "copy", "connector", "file-sink", "file", dir.resolve("out/copy.log").toString(), "topics", "lines"));
    }

    private ConnectRuntime start() {
        ConnectRuntime rt = ConnectRuntime.create(configs(), RuntimeOptions.of(broker.server(), dir.resolve("state")));
        rt.start();
        return rt;
    }

    /** Appends lines {@code from} .. {@code to - 1} to {@code file}; returns nothing, the content is computable. */
    private static void writeLines(Path file, int from, int to) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (int i = from; i < to; i++) {
                w.write(line(i));
                w.write('\n');
            }
        }
    }

    private static String line(int i) {
        return "line " + i + " " + "abcdefghij".substring(i % 10) + (i % 7 == 0 ? "\tsome more text for variety" : "");
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void aMillionLinesWithARotationArriveInOrder() throws Exception {
        Path app = dir.resolve("app.log");
        Path expected = dir.resolve("expected.log");
        int total = 1_000_000;
        writeLines(app, 0, 400_000);
        long t0 = System.nanoTime();
        try (ConnectRuntime rt = start()) {
            Await.until("the source to read part of the first file", Duration.ofSeconds(20),
                    () -> status(rt, "tail").recordsIn() >= 100_000, () -> status(rt, "tail"));
            Files.move(app, dir.resolve("app.log.1"));
            writeLines(dir.resolve("app.log.1"), 400_000, 600_000); // the writer still had the old file open
            writeLines(app, 600_000, total);
            Await.until("every line in the sink's file", Duration.ofSeconds(25),
                    () -> status(rt, "copy").recordsOut() >= total, () -> rt.status());
            Await.until("the source to see every acknowledgement", Duration.ofSeconds(5),
                    () -> status(rt, "tail").recordsOut() >= total, () -> rt.status());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("file round trip: %,d lines (%,d bytes) in %,d ms with a rotation%n", total,
                    Files.size(dir.resolve("app.log.1")) + Files.size(app), ms);
            assertThat(status(rt, "tail").recordsOut()).isEqualTo(total);
            assertThat(status(rt, "tail").state()).isEqualTo(TaskState.RUNNING);
        }
        writeLines(expected, 0, total);
        assertThat(sha256(dir.resolve("out/copy.log"))).as("the copy equals the lines in order").isEqualTo(sha256(expected));
        assertThat(client.queueOffsets("lines", 0).maxOffset()).as("no duplicates in the topic").isEqualTo(total);
    }

    @Test
    void stopAndRestartLosesNothing() throws Exception {
        Path app = dir.resolve("app.log");
        writeLines(app, 0, 200_000);
        try (ConnectRuntime rt = start()) {
            Await.until("the sink to write some lines", Duration.ofSeconds(20), () -> status(rt, "copy").recordsOut() >= 20_000,
                    () -> rt.status());
        }
        writeLines(app, 200_000, 300_000); // appended while stopped
        try (ConnectRuntime rt = start()) {
            Await.until("the sink to write the rest", Duration.ofSeconds(25),
                    () -> lineCount(dir.resolve("out/copy.log")) >= 300_000 && status(rt, "copy").lag() == 0,
                    () -> rt.status());
        }
        Map<String, Integer> seen = new HashMap<>();
        try (Stream<String> lines = Files.lines(dir.resolve("out/copy.log"))) {
            lines.forEach(l -> seen.merge(l, 1, Integer::sum));
        }
        for (int i = 0; i < 300_000; i++) {
            assertThat(seen).as("line %d", i).containsKey(line(i));
        }
        long sinkDuplicates = seen.values().stream().mapToLong(c -> c - 1).sum();
        long sourceDuplicates = client.queueOffsets("lines", 0).maxOffset() - 300_000;
        System.out.printf("restart: sink duplicates %d, source duplicates %d%n", sinkDuplicates, sourceDuplicates);
        assertThat(sinkDuplicates).as("a clean stop flushes and commits: no duplicates").isZero();
        assertThat(sourceDuplicates).isZero();
    }

    private static long lineCount(Path file) {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.count();
        } catch (IOException e) {
            return -1;
        }
    }
}
