package dev.ferry.cli;

import dev.ferry.log.FlushMode;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageStore;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf log}: the storage engine's benchmark. Measures, in the same run and the same
 * folder, (1) the raw reference: plain sequential {@code FileChannel.write} of 1 MiB buffers,
 * as many bytes as the store will write, and (2) the store appending the records; prints both
 * and their ratio. Rounds alternate raw and store (this VM's page-cache speed drifts, so one
 * pair alone misleads) and the medians are reported. Neither side forces to disk inside the
 * timed part under ASYNC (both end in the page cache); under SYNC every append waits for its
 * group-committed fsync. The store's open (which allocates its first segment) and the creation
 * of the topic's queues (their index files, as a broker creates them with the topic) are not
 * timed and are printed apart as open_ms. The writers' own CPU time per record (and its user-mode
 * part) is printed too: on a shared machine it says what the append path costs apart from
 * waiting for a core. Append latency percentiles come from one append in {@value #LATENCY_SAMPLE}.
 * Before the rounds, an untimed warm-up store run ({@code --warmup-records}) gets the append path
 * compiled, so round 1 does not measure the interpreter; {@code space_wait_ms} is how long the
 * appender waited for space: for the store's filler thread to prepare commit-log space (writes
 * through mappings: when it is large, the round was limited by how fast this machine hands out
 * fresh memory, not by the append path), or to commit a full staging ring itself (staged writes,
 * the ASYNC default; {@code --mapped-writes} measures the other path). The timed part ends when the
 * last record is also in its offset index (the store's index dispatcher follows the appender on its
 * own thread) and in the segment files (the staging ring's committer follows it too);
 * {@code index_catchup_ms} is how long that took after the last append returned.
 * {@code committer_cpu_ns_per_record} and {@code store_threads_cpu_ns_per_record} are the CPU the
 * staging ring's committer, and all the store's own threads together (committer, index
 * dispatcher, flusher, fillers), used in the timed part, per record: with staged writes on this
 * 2-core VM the committer's copy into the page cache, not the appender, often sets the pace.
 *
 * <p>{@code ratio_to_raw} is the median of the rounds' ratios (the figure). Beside it,
 * {@code ratio_to_best_raw} divides the median store round by the fastest raw round of the run: on
 * days when this VM hands out page-cache memory slowly in some rounds (the raw write then drops
 * from about 4 GB/s to under 1 GB/s while the store, whose committer writes on the other core,
 * drops less), the median ratio flatters the store, and the best-raw ratio does not.
 *
 * <p>With {@code --reference-queues N} every round also runs the store over N queues, right
 * before or after the main run (alternately, so neither side always follows the other), and
 * {@code ratio_to_reference_queues} is the median of the rounds' ratios of records/s: the
 * 1,000-queue target compared within one run, not across sittings that differ by 2x on this VM.
 *
 * <p>With {@code --settle-ms N} every timed part (raw and store alike, after the store's untimed
 * open) starts N ms after the last of its setup, so that all start on memory in the same state.
 * Why: on this VM memory freed more than ~2 s ago is handed back to the host and costs 3-5 x more
 * to touch again (see {@link #REST_MS}), and how long ago a run's memory was freed depends on its
 * setup. Creating 1,000 queues' index files took 0.25-2.5 s here (ext4 allocates inodes slowly
 * where many were deleted within the last minute, which every round does), creating 8 took 40 ms,
 * so in a {@code --reference-queues} round the 1,000-queue run started on memory handed back to
 * the host and the 8-queue run on memory the previous run had just freed. With a settle longer
 * than that both start on memory handed back: the state of a broker that writes into free memory.
 * The RESULT line says which.
 *
 * <p>{@code --reference-creates-all} holds the setup itself constant: the reference run creates
 * the main run's 1,000 queues too and appends to 8 of them. Measured here (1 KiB, both runs
 * settled 3 s, 9 rounds), an 8-queue run that had created 1,000 queues was as slow as the
 * 1,000-queue run, and even 1,000 empty files in 1,000 folders made the committer's copies into
 * the page cache ~30 % slower; so the setup, not the appends, made most of the difference
 * between a 1,000-queue and an 8-queue topic on this VM. {@code reference_created_queues} in the
 * RESULT line says how many queues the reference run created.
 */
@Command(name = "log", mixinStandardHelpOptions = true, description = "Benchmark the storage engine against raw sequential writes.")
final class PerfLogCommand implements Callable<Integer> {
    /** The staging ring's committer thread (see dev.ferry.log.StagingRing). */
    private static final String COMMITTER_THREAD = "ferry-committer";
    private static final String TOPIC = "perf";
    /**
     * Append latency is timed on one append in this many: two clock reads per record cost the
     * writer about 15 % of its time on this VM, and even on one append in 16 they were 5 % of the
     * writer's samples in a 1 KiB run (a clock read costs 27 ns alone, far more beside a 4 GB/s
     * copy), which would be counted against the store.
     */
    private static final int LATENCY_SAMPLE = 64;
    /**
     * Pause before the rested raw reference. On the build VM memory freed more than ~2 s ago is
     * handed back to the host and costs 4-5 x more to touch again (a raw write right after a
     * delete: 2.9-3.0 GB/s; after a 3 s or 6 s pause: 0.62-0.76 GB/s), so the raw reference, which
     * runs on pages the previous round just freed, is faster than any sustained writer here. The
     * rested figure is printed beside it; {@code ratio_to_raw} stays the definition.
     */
    private static final long REST_MS = 3_000;

    @Option(names = "--record-size", description = "Body bytes per record (default ${DEFAULT-VALUE}).", defaultValue = "1024")
    int recordSize;

    @Option(names = "--records", description = "Records to append (default ${DEFAULT-VALUE}).", defaultValue = "1000000")
    long records;

    @Option(names = "--queues", description = "Queues of the topic, used round-robin (default ${DEFAULT-VALUE}).", defaultValue = "8")
    int queues;

    @Option(names = "--keys", description = "Keys per record, each unique (k<record>-<n>, as order ids are), indexed in the key index "
            + "(default ${DEFAULT-VALUE}).", defaultValue = "0")
    int keys;

    @Option(names = "--threads", description = "Writer threads (default ${DEFAULT-VALUE}).", defaultValue = "1")
    int threads;

    @Option(names = "--flush", description = "async or sync (default ${DEFAULT-VALUE}).", defaultValue = "async")
    String flush;

    @Option(names = "--dir", required = true, description = "Folder to write in (must be empty or absent; emptied afterwards).")
    Path dir;

    @Option(names = "--segment-bytes", description = "Commit-log segment size (default ${DEFAULT-VALUE}).", defaultValue = "1073741824")
    int segmentBytes;

    @Option(names = "--no-raw", description = "Skip the raw reference.")
    boolean noRaw;

    @Option(names = "--rounds", description = "Rounds of (raw, store), run alternately; medians reported (default ${DEFAULT-VALUE}: "
            + "on the build VM either side of a round can land on memory the host has just taken back, 3-7 x slower to touch, "
            + "so a median of 3 still swings).", defaultValue = "5")
    int rounds;

    @Option(names = "--mapped-writes", description = "ASYNC: append through the segments' mappings, prepared ahead with "
            + "zeros, instead of through the staging ring (LogConfig.stagedWrites false; SYNC always does).")
    boolean mappedWrites;

    @Option(names = "--no-pre-touch", description = "Do not map commit-log pages as they are filled ahead of the appender "
            + "(LogConfig.preTouch false).")
    boolean noPreTouch;

    @Option(names = "--fill-ahead-mb", description = "Zero-filled commit-log space kept ahead of the appender, MiB "
            + "(LogConfig.fillAheadBytes; default ${DEFAULT-VALUE}).", defaultValue = "64")
    long fillAheadMb;

    @Option(names = "--flush-interval-ms", description = "ASYNC: how often the flusher forces what was appended "
            + "(LogConfig.flushIntervalMs; default ${DEFAULT-VALUE}).", defaultValue = "500")
    int flushIntervalMs;

    @Option(names = "--warmup-records", description = "Records appended to a throw-away store before the timed rounds, "
            + "so they measure compiled code, as in a running broker (default: --records, at most 300,000 under async flush "
            + "and 20,000 under sync; 0 = none).", defaultValue = "-1")
    long warmupRecords;

    @Option(names = "--reference-queues", description = "Also run, in every round, the same records over this many queues, "
            + "before the main run in even rounds and after it in odd ones, and print both and their ratio: the 1,000-queue target "
            + "is --queues 1000 --reference-queues 8 (0 = none; default ${DEFAULT-VALUE}).", defaultValue = "0")
    int referenceQueues;

    @Option(names = "--reference-creates-all", description = "With --reference-queues: the reference run creates as many "
            + "queues as the main run (--queues) and appends to the first --reference-queues of them, so that both runs have the "
            + "same setup and differ only in how many queues they append to (see the class javadoc).")
    boolean referenceCreatesAll;

    @Option(names = "--settle-ms", description = "Pause before every timed part, after the store's open and the queues' "
            + "creation, so that all runs start on memory in the same state (this VM makes memory freed ~2 s ago 3-5 x slower "
            + "to touch, and creating 1,000 queues took 0.25-2.5 s here; see the class javadoc; default ${DEFAULT-VALUE}).",
            defaultValue = "0")
    long settleMs;

    @Option(names = "--keep", description = "Keep the data afterwards.")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        FlushMode mode = switch (flush.toLowerCase(Locale.ROOT)) {
            case "async" -> FlushMode.ASYNC;
            case "sync" -> FlushMode.SYNC;
            default -> throw new BadCommandLineException("--flush: " + flush + " (expected: async or sync)");
        };
        if (referenceCreatesAll && referenceQueues == 0) {
            throw new BadCommandLineException("--reference-creates-all needs --reference-queues N");
        }
        if (records <= 0 || queues <= 0 || threads <= 0 || recordSize < 0 || referenceQueues < 0 || settleMs < 0) {
            throw new BadCommandLineException("--records, --queues, --threads must be positive, --record-size, --reference-queues and --settle-ms >= 0");
        }
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new BadCommandLineException("--dir " + dir + " is not empty (expected: an empty or absent folder)");
                }
            }
        }
        Files.createDirectories(dir);
        ByteBuffer[] bodies = bodies(recordSize);
        long recordBytes = withKeys(LogMessage.builder(TOPIC, 0, bodies[0]), records / 2).build().storedSize();
        long totalBytes = recordBytes * records;
        System.out.printf(Locale.ROOT, "perf log: %,d records of %d B body (%d B stored), %d queues, %d threads, %s flush, %d rounds, %s%n",
                records, recordSize, recordBytes, queues, threads, mode, rounds, dir);
        double rawPerRecord = Double.NaN;
        double rawRested = Double.NaN;
        if (!noRaw) {
            rawPerRecord = rawWrite(dir.resolve("raw-records.bin"), totalBytes, (int) recordBytes);
            System.out.printf(Locale.ROOT, "secondary reference: the same bytes as one FileChannel.write per record (%d B): %.1f MB/s%n",
                    recordBytes, rawPerRecord);
            Thread.sleep(REST_MS);
            rawRested = rawWrite(dir.resolve("raw-rested.bin"), totalBytes);
            System.out.printf(Locale.ROOT, "rested reference: the raw write after a %d ms pause (memory not just freed): %.1f MB/s%n",
                    REST_MS, rawRested);
        }
        long warmup = warmupRecords >= 0 ? warmupRecords : Math.min(records, mode == FlushMode.SYNC ? 20_000 : 300_000);
        if (warmup > 0) {
            Round w = storeRun(mode, bodies, dir.resolve("warmup"), Double.NaN, warmup, queues, queues);
            deleteTree(dir.resolve("warmup"));
            System.out.printf(Locale.ROOT, "warm-up (not counted): %,d records, %.0f records/s%n", warmup, w.recordsPerS);
        }
        List<Round> results = new ArrayList<>();
        List<Round> references = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            double raw = Double.NaN;
            if (!noRaw) {
                Thread.sleep(settleMs);
                raw = rawWrite(dir.resolve("raw.bin"), totalBytes);
                System.out.printf(Locale.ROOT, "round %d raw reference: %,d bytes with FileChannel.write(1 MiB) at %.1f MB/s%n", r, totalBytes, raw);
            }
            if (referenceQueues > 0 && r % 2 == 0) {
                references.add(referenceRun(mode, bodies, r));
            }
            Round round = storeRun(mode, bodies, dir.resolve("store-" + r), raw, records, queues, queues);
            System.out.printf(Locale.ROOT, "round %d store: %,d records in %.2f s, %.0f records/s, %.1f MB/s, ratio to raw %.3f; "
                            + "fsyncs %d (%.0f/s); append p99 %.1f us; final flush %d ms; open %d ms; writer CPU %.0f ns/record (user %.0f); waited for space %d ms; "
                            + "index caught up %d ms after the last append; store threads CPU %.0f ns/record (committer %.0f)%n",
                    r, records, round.seconds, round.recordsPerS, round.mbPerS, round.mbPerS / raw, round.fsyncs,
                    round.fsyncs / round.seconds, round.p99Us, round.flushMs, round.openMs, round.writerCpuNsPerRecord, round.writerUserNsPerRecord, round.spaceWaitMs, round.indexCatchupMs,
                    round.storeThreadsCpuNsPerRecord, round.committerCpuNsPerRecord);
            results.add(round);
            if (!keep) {
                deleteTree(dir.resolve("store-" + r));
            }
            if (referenceQueues > 0 && r % 2 == 1) {
                references.add(referenceRun(mode, bodies, r));
            }
        }
        Round m = results.stream().sorted(Comparator.comparingDouble(Round::recordsPerS)).toList().get(results.size() / 2);
        double medianRaw = results.stream().mapToDouble(Round::rawMbPerS).sorted().toArray()[results.size() / 2];
        double medianRatio = results.stream().mapToDouble(x -> x.mbPerS / x.rawMbPerS).sorted().toArray()[results.size() / 2];
        double bestRaw = results.stream().mapToDouble(Round::rawMbPerS).max().orElse(Double.NaN);
        double referenceRecordsPerS = Double.NaN;
        double ratioToReference = Double.NaN;
        if (!references.isEmpty()) {
            referenceRecordsPerS = references.stream().mapToDouble(Round::recordsPerS).sorted().toArray()[references.size() / 2];
            // each round's pair ran back to back, so the median of their ratios is not moved by a slow sitting
            double[] ratios = new double[results.size()];
            for (int i = 0; i < ratios.length; i++) {
                ratios[i] = results.get(i).recordsPerS / references.get(i).recordsPerS;
            }
            ratioToReference = Arrays.stream(ratios).sorted().toArray()[ratios.length / 2];
        }
        System.out.printf(Locale.ROOT,
                "RESULT records=%d record_size=%d keys=%d stored_record_bytes=%d queues=%d threads=%d flush=%s rounds=%d seconds=%.3f "
                        + "records_per_s=%.0f mb_per_s=%.1f raw_mb_per_s=%.1f ratio_to_raw=%.3f fsyncs=%d fsyncs_per_s=%.1f "
                        + "append_p50_us=%.1f append_p99_us=%.1f append_p999_us=%.1f append_max_us=%.1f final_flush_ms=%d open_ms=%d "
                        + "raw_best_mb_per_s=%.1f ratio_to_best_raw=%.3f "
                        + "raw_per_record_mb_per_s=%.1f raw_rested_mb_per_s=%.1f ratio_to_rested_raw=%.3f "
                        + "writer_cpu_ns_per_record=%.0f writer_user_ns_per_record=%.0f space_wait_ms=%d index_catchup_ms=%d "
                        + "committer_cpu_ns_per_record=%.0f store_threads_cpu_ns_per_record=%.0f "
                        + "reference_queues=%d reference_records_per_s=%.0f ratio_to_reference_queues=%.3f reference_created_queues=%d settle_ms=%d%n",
                records, recordSize, keys, recordBytes, queues, threads, mode.name().toLowerCase(Locale.ROOT), rounds, m.seconds,
                m.recordsPerS, m.mbPerS, medianRaw, medianRatio, m.fsyncs, m.fsyncs / m.seconds, m.p50Us, m.p99Us, m.p999Us,
                m.maxUs, m.flushMs, m.openMs, bestRaw, m.mbPerS / bestRaw, rawPerRecord, rawRested, m.mbPerS / rawRested, m.writerCpuNsPerRecord,
                m.writerUserNsPerRecord, m.spaceWaitMs, m.indexCatchupMs, m.committerCpuNsPerRecord, m.storeThreadsCpuNsPerRecord,
                referenceQueues, referenceRecordsPerS, ratioToReference, referenceCreatedQueues(), settleMs);
        if (!keep) {
            deleteTree(dir);
        }
        return 0;
    }

    /** One store run's figures; rates in records/s and MB/s (10^6 B/s, as dd prints). */
    private record Round(double seconds, double recordsPerS, double mbPerS, double rawMbPerS, long fsyncs, double p50Us,
                         double p99Us, double p999Us, double maxUs, long flushMs, long openMs,
                         double writerCpuNsPerRecord, double writerUserNsPerRecord, long spaceWaitMs, long indexCatchupMs,
                         double committerCpuNsPerRecord, double storeThreadsCpuNsPerRecord) {}

    /** The round's run over {@code --reference-queues} queues; printed, and its folder removed unless kept. */
    private Round referenceRun(FlushMode mode, ByteBuffer[] bodies, int r) throws InterruptedException, IOException {
        Path storeDir = dir.resolve("reference-" + r);
        int created = referenceCreatedQueues();
        Round ref = storeRun(mode, bodies, storeDir, Double.NaN, records, referenceQueues, created);
        System.out.printf(Locale.ROOT, "round %d reference (%d queues%s): %.0f records/s, %.1f MB/s; writer CPU %.0f ns/record; "
                        + "store threads CPU %.0f ns/record (committer %.0f)%n",
                r, referenceQueues, created > referenceQueues ? " of " + created + " created" : "", ref.recordsPerS, ref.mbPerS, ref.writerCpuNsPerRecord, ref.storeThreadsCpuNsPerRecord,
                ref.committerCpuNsPerRecord);
        if (!keep) {
            deleteTree(storeDir);
        }
        return ref;
    }

    /** How many queues the reference run creates: {@code --reference-queues}, or with {@code --reference-creates-all} the main run's too. */
    private int referenceCreatedQueues() {
        return referenceCreatesAll ? Math.max(queues, referenceQueues) : referenceQueues;
    }

    /** A store run appending {@code records} round-robin over the first {@code queues} of the {@code created} queues of its topic. */
    private Round storeRun(FlushMode mode, ByteBuffer[] bodies, Path storeDir, double raw, long records, int queues, int created)
            throws InterruptedException {
        LogConfig config = LogConfig.builder(storeDir).segmentBytes(segmentBytes).flushMode(mode).preTouch(!noPreTouch)
                .fillAheadBytes(fillAheadMb << 20).flushIntervalMs(flushIntervalMs).stagedWrites(!mappedWrites).build();
        long openStart = System.nanoTime();
        MessageStore store = MessageStore.open(config);
        store.createQueues(TOPIC, created); // as a broker does when the topic is created
        long openMs = (System.nanoTime() - openStart) / 1_000_000;
        Thread.sleep(settleMs);
        AtomicLong done = new AtomicLong();
        AtomicLong writerCpuNs = new AtomicLong();
        AtomicLong writerUserNs = new AtomicLong();
        List<Histogram> histograms = new ArrayList<>();
        List<Thread> writers = new ArrayList<>();
        long perThread = records / threads;
        long bornAt = System.currentTimeMillis();
        long fsyncsBefore = store.fsyncCount();
        long spaceWaitBefore = store.spaceWaitNanos();
        Map<String, Long> storeCpuBefore = storeThreadsCpu();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            long n = t == threads - 1 ? records - perThread * (threads - 1) : perThread;
            int first = t;
            Histogram h = new Histogram(3_600_000_000_000L, 3);
            histograms.add(h);
            Thread w = new Thread(() -> {
                ThreadMXBean mx = ManagementFactory.getThreadMXBean();
                long cpuStart = mx.getCurrentThreadCpuTime();
                long userStart = mx.getCurrentThreadUserTime();
                for (long i = 0; i < n; i++) {
                    int queue = (int) ((i * threads + first) % queues);
                    // as the broker builds it from a request: the producer's born timestamp comes with it
                    LogMessage m = withKeys(LogMessage.builder(TOPIC, queue, bodies[(int) (i & (bodies.length - 1))]), i * threads + first)
                            .bornTimestamp(bornAt).build();
                    if ((i & (LATENCY_SAMPLE - 1)) == 0) {
                        long t0 = System.nanoTime();
                        store.append(m);
                        h.recordValue(System.nanoTime() - t0);
                    } else {
                        store.append(m);
                    }
                    if ((i & 1023) == 1023) {
                        done.addAndGet(1024);
                    }
                }
                writerCpuNs.addAndGet(mx.getCurrentThreadCpuTime() - cpuStart);
                writerUserNs.addAndGet(mx.getCurrentThreadUserTime() - userStart);
            }, "perf-writer-" + t);
            writers.add(w);
            w.start();
        }
        Progress progress = new Progress(records, done);
        for (Thread w : writers) {
            while (w.isAlive()) {
                w.join(1000);
                progress.print();
            }
        }
        long appendedAt = System.nanoTime();
        store.awaitIndexed(); // a record counts once it can be read: in the log and in its queue's index,
        store.awaitWritten(); // and in the segment files (staged writes: the committer may trail by up to 256 KiB)
        long elapsedNs = System.nanoTime() - start;
        long indexCatchupMs = (System.nanoTime() - appendedAt) / 1_000_000;
        Map<String, Long> storeCpu = storeThreadsCpu();
        storeCpuBefore.forEach((name, ns) -> storeCpu.computeIfPresent(name, (k, after) -> after - ns));
        double committerNs = storeCpu.getOrDefault(COMMITTER_THREAD, 0L);
        double storeThreadsNs = storeCpu.values().stream().mapToLong(Long::longValue).sum();
        long fsyncs = store.fsyncCount() - fsyncsBefore;
        long spaceWaitMs = (store.spaceWaitNanos() - spaceWaitBefore) / 1_000_000;
        long flushStart = System.nanoTime();
        store.flush();
        long flushMs = (System.nanoTime() - flushStart) / 1_000_000;
        long written = store.writtenOffset();
        store.close();
        Histogram all = new Histogram(3_600_000_000_000L, 3);
        histograms.forEach(all::add);
        double seconds = elapsedNs / 1e9;
        return new Round(seconds, records / seconds, written / seconds / 1e6, raw, fsyncs, all.getValueAtPercentile(50) / 1e3,
                all.getValueAtPercentile(99) / 1e3, all.getValueAtPercentile(99.9) / 1e3, all.getMaxValue() / 1e3, flushMs, openMs,
                (double) writerCpuNs.get() / records, (double) writerUserNs.get() / records, spaceWaitMs, indexCatchupMs,
                committerNs / records, storeThreadsNs / records);
    }

    /**
     * CPU time so far of the store's own threads (named {@code ferry-...}: committer, index
     * dispatcher, flusher, fillers), by name (threads of one name summed). A thread that ended
     * before the second call is not counted at all (the store is still open then).
     */
    private static Map<String, Long> storeThreadsCpu() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Map<String, Long> out = new HashMap<>();
        for (ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) { // no stacks: depth 0
            long ns = t != null && t.getThreadName().startsWith("ferry-") ? mx.getThreadCpuTime(t.getThreadId()) : -1;
            if (ns >= 0) {
                out.merge(t.getThreadName(), ns, Long::sum);
            }
        }
        return out;
    }

    /** Writes {@code total} bytes sequentially in 1 MiB direct buffers; returns MB/s (10^6 B/s); deletes the file after. */
    private static double rawWrite(Path file, long total) throws IOException {
        return rawWrite(file, total, 1 << 20);
    }

    /** As {@link #rawWrite(Path, long)} with writes of {@code chunkBytes}. */
    private static double rawWrite(Path file, long total, int chunkBytes) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(chunkBytes);
        new SplittableRandom(1).ints(chunk.capacity() / 4).forEach(chunk::putInt);
        long start;
        long elapsed;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            start = System.nanoTime();
            long left = total;
            while (left > 0) {
                chunk.clear().limit((int) Math.min(chunk.capacity(), left));
                while (chunk.hasRemaining()) {
                    left -= ch.write(chunk);
                }
            }
            elapsed = System.nanoTime() - start;
            ch.force(true);
        }
        Files.delete(file);
        return total / (elapsed / 1e9) / 1e6;
    }

    /** The record's {@code --keys} keys; {@code record} numbers them (typical in size: the stored size assumes half the count). */
    private LogMessage.Builder withKeys(LogMessage.Builder b, long record) {
        if (keys == 0) {
            return b; // without formatting the record number: Long.toString was 9 of 95 JFR samples of the timed writer (1 KiB, 8 queues)
        }
        for (String key : PerfResults.keys(Long.toString(record), keys)) {
            b.key(key);
        }
        return b;
    }

    private static ByteBuffer[] bodies(int size) {
        SplittableRandom random = new SplittableRandom(42);
        ByteBuffer[] out = new ByteBuffer[1024];
        for (int i = 0; i < out.length; i++) {
            byte[] b = new byte[size];
            random.nextBytes(b);
            out[i] = ByteBuffer.wrap(b);
        }
        return out;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
