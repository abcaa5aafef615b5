package dev.ferry.connect.ship;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Segment-shipping throughput next to {@code cp} of the same files, in the same run and on the
 * same disk. Not a test: run it by hand.
 *
 * <pre>
 * mvn -q -B -pl connectors -am compile
 * java -cp connectors/target/classes:log/target/classes dev.ferry.connect.ship.ShipBenchmark \
 *     [--dir DIR] [--segments 4] [--segment-mb 256] [--rounds 5]
 * </pre>
 * (it needs this package's classes and the log module's ({@code Unmapper}): no dependency classpath)
 *
 * It writes {@code segments} files of {@code segment-mb} MiB of pseudo-random bytes to
 * {@code DIR/src/commitlog/} (default DIR: a new directory under java.io.tmpdir), then runs
 * {@code rounds} rounds; each round, in rotating order, copies all the files to a fresh
 * directory six ways and deletes the copies afterwards:
 * <ul>
 *   <li>{@code cp}: {@code cp SRC... DST/} (one process), no fsync: page-cache speed only;
 *   <li>{@code cp+sync}: the same, then {@code sync FILE...} — the fair reference, since
 *       shipping forces every file before it counts;
 *   <li>{@code ship}: {@link DirectoryTarget} with {@code verify=false} (sendfile into a
 *       {@code .part} while a helper thread forces it, final force, rename, directory fsync,
 *       manifest line);
 *   <li>{@code ship+verify}: the same plus CRC32C of source and copy, each on a helper thread
 *       ({@link Overlap}): the source's trailing the transfer, the copy's during the final force;
 *   <li>{@code ship-noforce+verify}: {@code force=false verify=true}: the same checksums (the
 *       copy read back from the page cache), rename and manifest line, but no force and no fsync
 *       at all — the one to hold against a bare {@code cp}, which does not fsync either;
 *   <li>{@code ship-noforce}: {@code force=false verify=false}: what is left without checksums
 *       and forces (sendfile, rename, manifest line), to tell the two costs apart.
 * </ul>
 * Caches are not dropped (that needs root): the source files are in the page cache for every
 * way alike after the first round, as a freshly sealed segment is on a live broker. Prints
 * every round, then the medians in MB/s (10^6 bytes) and the ratios to {@code cp+sync} and
 * {@code cp} as {@code RESULT} lines, and for the two verified ways against their reference
 * ({@code ship+verify} / {@code cp+sync}, {@code ship-noforce+verify} / {@code cp}) the
 * median, minimum and maximum of the per-round ratios (each against the same round's reference).
 */
public final class ShipBenchmark {
    private ShipBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = null;
        int segments = 4;
        int segmentMb = 256;
        int rounds = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> dir = Path.of(args[++i]);
                case "--segments" -> segments = Integer.parseInt(args[++i]);
                case "--segment-mb" -> segmentMb = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option: " + args[i]
                        + " (expected: --dir DIR, --segments N, --segment-mb N, --rounds N)");
            }
        }
        if (dir == null) {
            dir = Files.createTempDirectory("ferry-ship-bench");
        }
        Path src = dir.resolve("src");
        List<ShipFile> files = createSources(src, segments, (long) segmentMb << 20);
        long bytes = files.stream().mapToLong(ShipFile::length).sum();
        System.out.printf("ship benchmark: %d x %d MiB in %s, %d rounds%n", segments, segmentMb, src, rounds);

        String[] modes = {"cp", "cp+sync", "ship", "ship+verify", "ship-noforce+verify", "ship-noforce"};
        double[][] mbps = new double[modes.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < modes.length; k++) {
                int m = (k + r) % modes.length;
                Path dst = dir.resolve("dst-" + r + "-" + m);
                long t0 = System.nanoTime();
                switch (modes[m]) {
                    case "cp" -> cp(files, dst, false);
                    case "cp+sync" -> cp(files, dst, true);
                    case "ship" -> ship(files, dst, false, true);
                    case "ship+verify" -> ship(files, dst, true, true);
                    case "ship-noforce+verify" -> ship(files, dst, true, false);
                    default -> ship(files, dst, false, false);
                }
                long ns = System.nanoTime() - t0;
                mbps[m][r] = bytes / 1e6 / (ns / 1e9);
                System.out.printf("round %d %-19s %8.1f MB/s  (%.3f s)%n", r + 1, modes[m], mbps[m][r], ns / 1e9);
                deleteTree(dst);
            }
        }
        double[] median = new double[modes.length];
        for (int m = 0; m < modes.length; m++) {
            double[] v = mbps[m].clone();
            Arrays.sort(v);
            median[m] = v[v.length / 2];
        }
        System.out.printf("RESULT cp_mb_per_s=%.1f cp_sync_mb_per_s=%.1f ship_mb_per_s=%.1f ship_verify_mb_per_s=%.1f "
                + "ship_noforce_verify_mb_per_s=%.1f ship_noforce_mb_per_s=%.1f%n", median[0], median[1], median[2], median[3],
                median[4], median[5]);
        System.out.printf("RESULT ratio_ship_to_cp_sync=%.2f ratio_ship_verify_to_cp_sync=%.2f ratio_ship_to_cp=%.2f "
                + "ratio_ship_verify_to_cp=%.2f ratio_ship_noforce_verify_to_cp=%.2f ratio_ship_noforce_to_cp=%.2f%n",
                median[2] / median[1], median[3] / median[1], median[2] / median[0], median[3] / median[0],
                median[4] / median[0], median[5] / median[0]);
        printPerRound("ship_verify_to_cp_sync", mbps[3], mbps[1]);
        printPerRound("ship_noforce_verify_to_cp", mbps[4], mbps[0]);
        deleteTree(src);
    }

    /** Median, min and max of {@code way[r] / reference[r]}: each round against the same round's reference. */
    private static void printPerRound(String name, double[] way, double[] reference) {
        double[] ratio = new double[way.length];
        for (int r = 0; r < way.length; r++) {
            ratio[r] = way[r] / reference[r];
        }
        Arrays.sort(ratio);
        System.out.printf("RESULT per_round_%s median=%.2f min=%.2f max=%.2f%n", name, ratio[ratio.length / 2], ratio[0],
                ratio[ratio.length - 1]);
    }

    private static List<ShipFile> createSources(Path src, int count, long size) throws IOException {
        Path logDir = src.resolve(SealedFiles.COMMITLOG_DIR);
        Files.createDirectories(logDir);
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long x = 0x9E3779B97F4A7C15L;
        while (buf.remaining() >= 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            buf.putLong(x);
        }
        List<ShipFile> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = String.format("%020d", i * size);
            Path p = logDir.resolve(name);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (long w = 0; w < size; ) {
                    buf.clear().limit((int) Math.min(buf.capacity(), size - w));
                    buf.putLong(0, w ^ i); // no two blocks alike
                    w += ch.write(buf, w);
                }
                ch.force(true);
            }
            out.add(new ShipFile(SealedFiles.COMMITLOG_DIR + "/" + name, p, size, ShipFile.Kind.SEGMENT));
        }
        return out;
    }

    private static void cp(List<ShipFile> files, Path dst, boolean sync) throws IOException, InterruptedException {
        Files.createDirectories(dst);
        List<String> cmd = new ArrayList<>(List.of("cp"));
        files.forEach(f -> cmd.add(f.source().toString()));
        cmd.add(dst.toString());
        run(cmd);
        if (sync) {
            List<String> s = new ArrayList<>(List.of("sync"));
            files.forEach(f -> s.add(dst.resolve(f.source().getFileName()).toString()));
            s.add(dst.toString());
            run(s);
        }
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + ": exit " + p.exitValue());
        }
    }

    private static void ship(List<ShipFile> files, Path dst, boolean verify, boolean force) throws Exception {
        Transfer transfer = new Transfer(Transfer.DEFAULT_CHUNK_BYTES, 0, Clock.systemUTC(), new StopSignal());
        try (DirectoryTarget target = new DirectoryTarget(dst, transfer, verify, force)) {
            for (ShipFile f : files) {
                try (FileChannel source = FileChannel.open(f.source(), StandardOpenOption.READ)) {
                    ShipTarget.Outcome o = target.ship(f, source, n -> { });
                    if (!(o instanceof ShipTarget.Outcome.Shipped)) {
                        throw new IllegalStateException(f.name() + ": " + o);
                    }
                }
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(q);
            }
        }
    }
}
