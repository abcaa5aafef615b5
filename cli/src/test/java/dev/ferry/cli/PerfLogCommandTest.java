package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.MessageStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry perf log} runs end to end on a small workload and prints the RESULT line the issue
 * asks for (a smoke test of the benchmark's wiring, not a speed check: no figure is compared).
 */
class PerfLogCommandTest {
    @TempDir
    Path dir;

    @Test
    void printsTheResultLineWithBothRawReferencesAndLeavesNoData() throws Exception {
        Path data = dir.resolve("bench");
        String text = run("perf", "log", "--record-size", "100", "--records", "20000", "--queues", "4",
                "--threads", "2", "--flush", "async", "--rounds", "1", "--warmup-records", "2000", "--segment-bytes", Integer.toString(1 << 20),
                "--dir", data.toString());
        Map<String, String> fields = resultFields(text);
        assertThat(fields).containsEntry("records", "20000").containsEntry("queues", "4").containsEntry("threads", "2")
                .containsKeys("records_per_s", "mb_per_s", "raw_mb_per_s", "ratio_to_raw", "raw_rested_mb_per_s", "ratio_to_rested_raw");
        assertThat(Double.parseDouble(fields.get("records_per_s"))).isPositive();
        assertThat(Double.parseDouble(fields.get("raw_mb_per_s"))).isPositive();
        // the staging ring's committer copied about 2.5 MB into the segments during the timed part, so it used CPU
        double committer = Double.parseDouble(fields.get("committer_cpu_ns_per_record"));
        assertThat(committer).as("committer CPU per record").isPositive();
        assertThat(Double.parseDouble(fields.get("store_threads_cpu_ns_per_record"))).as("all store threads' CPU per record")
                .isGreaterThanOrEqualTo(committer);
        assertThat(fields).containsEntry("reference_queues", "0").containsEntry("ratio_to_reference_queues", "NaN")
                .containsEntry("settle_ms", "0");
        assertThat(Files.exists(data)).as("the benchmark's folder is removed afterwards").isFalse();
    }

    @Test
    void comparesWithAReferenceQueueCountInTheSameRun() throws Exception {
        Path data = dir.resolve("bench");
        String text = run("perf", "log", "--record-size", "100", "--records", "20000", "--queues", "50", "--reference-queues", "2", "--settle-ms", "1",
                "--threads", "1", "--rounds", "2", "--no-raw", "--warmup-records", "0", "--segment-bytes", Integer.toString(1 << 20),
                "--dir", data.toString());
        Map<String, String> fields = resultFields(text);
        assertThat(fields).containsEntry("queues", "50").containsEntry("reference_queues", "2").containsEntry("settle_ms", "1")
                .containsEntry("reference_created_queues", "2");
        assertThat(text.lines().filter(l -> l.matches("round \\d reference \\(2 queues\\).*"))).as(text).hasSize(2);
        double reference = Double.parseDouble(fields.get("reference_records_per_s"));
        double ratio = Double.parseDouble(fields.get("ratio_to_reference_queues"));
        assertThat(reference).isPositive();
        assertThat(ratio).isPositive();
        assertThat(Files.exists(data)).as("the benchmark's folder is removed afterwards").isFalse();
    }

    @Test
    void theReferenceCanCreateAsManyQueuesAsTheMainRunAndAppendToSomeOfThem() throws Exception {
        Path data = dir.resolve("bench");
        String text = run("perf", "log", "--record-size", "100", "--records", "20000", "--queues", "50", "--reference-queues", "2",
                "--reference-creates-all", "--threads", "1", "--rounds", "1", "--no-raw", "--warmup-records", "0",
                "--segment-bytes", Integer.toString(1 << 20), "--keep", "--dir", data.toString());
        assertThat(resultFields(text)).containsEntry("reference_queues", "2").containsEntry("reference_created_queues", "50");
        assertThat(text).contains("round 1 reference (2 queues of 50 created)");
        try (var queues = Files.list(data.resolve("reference-1/index/perf"))) {
            assertThat(queues.count()).as("queues the reference run created").isEqualTo(50);
        }
        try (MessageStore store = MessageStore.open(LogConfig.builder(data.resolve("reference-1")).segmentBytes(1 << 20).build())) {
            assertThat(store.nextOffset("perf", 0) + store.nextOffset("perf", 1)).as("records in the first two queues").isEqualTo(20000);
            assertThat(store.nextOffset("perf", 2)).as("records in the third").isZero();
        }
    }

    /** Runs the command line; returns what it printed, after checking that it exited with 0. */
    private static String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            exit = Ferry.commandLine().execute(args);
        } finally {
            System.setOut(old);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(exit).as(text).isZero();
        return text;
    }

    /** The RESULT line's key=value fields. */
    private static Map<String, String> resultFields(String text) {
        String result = text.lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElseThrow(() -> new AssertionError(text));
        return Arrays.stream(result.substring(7).split(" ")).map(kv -> kv.split("=", 2))
                .collect(Collectors.toMap(kv -> kv[0], kv -> kv[1]));
    }
}
