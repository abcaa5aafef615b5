package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.body;
import static dev.ferry.log.StoreTestSupport.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A disk that fills up under a running store, for real: a 96 MiB ext4 file system on a loop
 * device, a ballast file taking part of it, and appends until one fails. What a user relies on:
 * the append that finds no space fails with a {@link LogException} whose message says the disk
 * is full (the broker hands that text to the producer); every append that returned reads back
 * byte-equal and in order, and no failed one left anything readable, not in the queue and not in
 * the commit log; reads keep working while the disk is full; once space is freed appends work
 * again by themselves (the {@link SegmentFiller} retries every second) without a restart; and
 * after a close and a reopen the store holds exactly the acknowledged records, from before and
 * after the outage.
 *
 * <p>Both ways the filler prepares space are covered, with and without {@code preTouch}. Either
 * way it must find the full disk through a zero {@code write()} (ENOSPC, at once), never through a
 * page fault: HotSpot skips a store that faults with SIGBUS and raises its {@link InternalError}
 * "at a later point", possibly after the window was published, and a record copied into such a
 * page is lost without an error (this test caught exactly that when the filler only touched the
 * pages). So the disk stays full for longer than the filler's retry interval, and an
 * {@code InternalError} on the appending thread, or a record that reads back different, fails it.
 *
 * <p>And both places that need new space while appending: the disk fills up while the filler
 * prepares the third segment, when the appender has the whole second one prepared ahead of it.
 * With 1 KiB records that is some 15,000 records whose offset-index entries need ~300 KB more
 * than the index has prepared, so the index runs out first; with 64 KiB records the index has
 * room for the 256 records and the commit log is what runs out, the filler's own failure.
 *
 * <p>Needs root, {@code mkfs.ext4} and loop mounts; skipped where any of them is missing. The
 * file system is unmounted after each case (lazily if it is still busy), pass or fail.
 */
class DiskFullTest {
    /** Offers 84 MiB: room for four segments and the indexes once the ballast is gone. */
    private static final long IMAGE_BYTES = 96L << 20;
    /**
     * Leaves 46 MiB: the first two segments and the indexes fit, the third only in part (some 13 of
     * its 16 MiB), so the disk fills up while the filler prepares the third, when the index has long
     * had its space, and near the end of that chunk (where a touch's fault is the likeliest to be
     * raised by the JVM only after the loop, see the class comment).
     */
    private static final int BALLAST_BYTES = 38 << 20;
    private static final int SEGMENT = 16 << 20;
    private static final String TOPIC = "t";
    /** Appended once the space is back: past the next roll-over, and with room to spare on the file system. */
    private static final int AFTER_OUTAGE_BYTES = 8 << 20;

    @TempDir
    Path tmp;

    private Path mountPoint;
    private boolean mounted;
    private MessageStore store;
    private int bodyBytes;
    /** Each message carries the key "k" + its number, so the key index needs space too. */
    private boolean keyed;

    @BeforeEach
    void mountSmallFileSystem() throws IOException, InterruptedException {
        assumeTrue("0".equals(run("id", "-u").output), "not root: cannot mount a file system");
        String mkfs = executable("mkfs.ext4");
        assumeTrue(mkfs != null, "no mkfs.ext4 here");
        Path image = tmp.resolve("fs.img");
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), IMAGE_BYTES - 1); // sparse: mkfs writes only its metadata
        }
        // 4 KiB blocks as on a real disk (mkfs picks 1 KiB for one this small); no blocks reserved for root, which we are
        Result made = run(mkfs, "-q", "-F", "-b", "4096", "-m", "0", image.toString());
        assumeTrue(made.exitCode == 0, "mkfs.ext4 failed: " + made.output);
        mountPoint = Files.createDirectory(tmp.resolve("mnt"));
        Result mount = run("mount", "-o", "loop", image.toString(), mountPoint.toString());
        assumeTrue(mount.exitCode == 0, "cannot loop-mount an ext4 image here: " + mount.output);
        mounted = true;
    }

    @AfterEach
    void unmount() throws IOException, InterruptedException {
        if (!mounted) {
            return;
        }
        try {
            Files.deleteIfExists(ballast()); // so that a store closed while the disk is full can write its checkpoint
            if (store != null) {
                store.close();
            }
        } finally {
            store = null;
            Result umount = run("umount", mountPoint.toString());
            if (umount.exitCode != 0) {
                // still busy (a store that failed to close keeps its mappings): detach now, released when the JVM exits
                Result lazy = run("umount", "-l", mountPoint.toString());
                assertThat(lazy.exitCode).as("umount -l %s after: %s; %s", mountPoint, umount.output, lazy.output).isZero();
            }
            mounted = false;
        }
    }

    @ParameterizedTest(name = "preTouch={0}, bodies of {1} B, keyed={2}")
    @CsvSource({"true, 1024, false", "false, 1024, false", "true, 65536, false", "false, 65536, false", "true, 1024, true"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void appendsFailCleanlyWhileTheDiskIsFullAndResumeOnceSpaceIsFreed(boolean preTouch, int bodyBytes, boolean keyed)
            throws Exception {
        this.bodyBytes = bodyBytes;
        this.keyed = keyed;
        try {
            fillTheDiskAndFreeIt(preTouch);
        } catch (InternalError e) {
            // HotSpot skips a store that faults in a mapping and raises this "at a later point", anywhere in the thread
            throw new AssertionError("a write through a mapping faulted (SIGBUS: on a full disk, a page with no block"
                    + " reserved) on the appending thread; the append that did it may have returned", e);
        }
    }

    private void fillTheDiskAndFreeIt(boolean preTouch) throws Exception {
        writeBallast();
        Path dir = mountPoint.resolve("store");
        // 16 MiB segments, prepared one 16 MiB chunk (= a whole segment) ahead: the third does not fit beside the ballast
        LogConfig config = LogConfig.builder(dir).segmentBytes(SEGMENT).fillAheadBytes(SegmentFiller.CHUNK)
                .indexEntriesPerFile(50_000).keyIndexSlots(1024).keyIndexEntries(4096).preTouch(preTouch).build();
        List<AppendResult> acked = new ArrayList<>();
        store = MessageStore.open(config);

        RuntimeException full = appendUntilFailure(acked);
        assertThat(full).as("the append that found the disk full (after %d appends)", acked.size())
                .isInstanceOf(LogException.class);
        assertThat(full.getMessage()).as("message of %s", full)
                .matches("(?is).*(no space left on device|disk is full|disk full).*");
        assertThat(acked.get(acked.size() - 1).physicalOffset()).as("end of the log when the disk was full (sizing)")
                .isGreaterThanOrEqualTo(SEGMENT);
        if (bodyBytes >= 64 * 1024) {
            // the index's prepared space covers what the filler prepared: the commit log is what runs out
            assertThat(onFillerThread(full)).as("cause from the segment filler's thread, in %s", full).isTrue();
        }
        int beforeFull = acked.size();

        // the disk stays full for longer than the filler's retry interval (1 s): appends fail the same way (one may get
        // through: ext4 hands back blocks it had set aside for metadata when it writes dirty pages back)
        int failedWhileFull = 0;
        for (long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500); System.nanoTime() < until; ) {
            RuntimeException e = tryAppend(acked);
            if (e != null) {
                assertThat(e).as("append %d while the disk is still full", acked.size()).isInstanceOf(LogException.class);
                failedWhileFull++;
                Thread.sleep(10);
            }
        }
        assertThat(failedWhileFull).as("appends that failed while the disk stayed full").isPositive();
        int workedWhileFull = acked.size() - beforeFull;
        assertExactly(acked, "while the disk is full");
        assertThat(store.readById(acked.get(acked.size() - 1).messageId())).as("last acknowledged, by id").isPresent();

        // free the space: appends work again without a restart. The filler retries every second, so for about that
        // long an append that needs commit-log space it has not prepared yet still fails, even after others succeeded
        Files.delete(ballast());
        long freed = System.nanoTime();
        int failedAfterFreeing = appendRetrying(acked, 1, freed);
        long resumedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed);
        // into the next segment (the disk filled up where the log was to roll over), not so far that it fills again
        failedAfterFreeing += appendRetrying(acked, AFTER_OUTAGE_BYTES / bodyBytes, freed);
        long allWorkedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed);
        assertExactly(acked, "after the outage");
        long end = store.writtenOffset();
        store.close();
        store = null;

        store = MessageStore.open(config);
        assertThat(store.recoveryReport()).as("recovery at reopen").extracting(RecoveryReport::crashed, RecoveryReport::end,
                RecoveryReport::truncatedBytes).containsExactly(false, end, 0L);
        assertExactly(acked, "after a reopen");
        System.out.printf("DiskFullTest preTouch=%s body=%d: %d appends until the disk was full, then %d failed and %d worked"
                        + " in 1.5 s; after freeing space the first append worked after %d ms, %d failed until %d ms; %d appends"
                        + " in all; first failure: %s (root cause: %s)%n",
                preTouch, bodyBytes, beforeFull, failedWhileFull, workedWhileFull, resumedMs, failedAfterFreeing, allWorkedMs,
                acked.size(), full, rootCause(full));
    }

    /**
     * Appends the next {@code count} messages, each retried every 20 ms while it fails with a
     * {@link LogException}, up to 10 s after {@code freedNanos}; returns how many attempts failed.
     */
    private int appendRetrying(List<AppendResult> acked, int count, long freedNanos) throws InterruptedException {
        int failed = 0;
        for (int target = acked.size() + count; acked.size() < target; ) {
            RuntimeException e = tryAppend(acked);
            if (e != null) {
                assertThat(e).as("append %d after the space was freed", acked.size()).isInstanceOf(LogException.class);
                failed++;
                if (System.nanoTime() - freedNanos > TimeUnit.SECONDS.toNanos(10)) {
                    throw new AssertionError("appends still fail 10 s after the ballast was deleted", e);
                }
                Thread.sleep(20);
            }
        }
        return failed;
    }

    /** Appends until one append fails; returns its exception. */
    private RuntimeException appendUntilFailure(List<AppendResult> acked) {
        while ((long) acked.size() * bodyBytes < IMAGE_BYTES) {
            RuntimeException e = tryAppend(acked);
            if (e != null) {
                return e;
            }
        }
        throw new AssertionError(acked.size() + " appends of " + bodyBytes + " B and the " + (IMAGE_BYTES >> 20)
                + " MiB file system never filled up");
    }

    /**
     * Appends message number {@code acked.size()} (body {@code body(bodyBytes, n)}) to t/0; adds the
     * result to {@code acked} if it returned, else returns what it threw.
     */
    private RuntimeException tryAppend(List<AppendResult> acked) {
        int n = acked.size();
        AppendResult r;
        try {
            LogMessage.Builder b = LogMessage.builder(TOPIC, 0, body(bodyBytes, n));
            r = store.append((keyed ? b.key("k" + n) : b).build());
        } catch (RuntimeException e) {
            return e;
        }
        assertThat(r.queueOffset()).as("queue offset of acknowledged append %d", n).isEqualTo(n);
        acked.add(r);
        return null;
    }

    /**
     * The store holds exactly the acknowledged records: the queue reads them back byte-equal and in
     * order, and a walk of the commit log itself finds them and nothing else (a failed append that
     * left a record behind would show up there, and be readable by its id).
     */
    private void assertExactly(List<AppendResult> acked, String when) {
        List<StoredMessage> got = readAll(store, TOPIC, 0);
        assertThat(got).as("messages in t/0 %s", when).hasSize(acked.size());
        for (int i = 0; i < got.size(); i++) {
            StoredMessage m = got.get(i);
            AppendResult r = acked.get(i);
            assertThat(m.queueOffset()).as("queue offset of message %d %s", i, when).isEqualTo(i);
            assertThat(m.physicalOffset()).as("position of message %d %s", i, when).isEqualTo(r.physicalOffset());
            if (!Arrays.equals(m.body(), body(bodyBytes, i))) {
                throw new AssertionError("body of message " + i + " " + when + " differs from what was appended");
            }
        }
        List<Long> acknowledged = acked.stream().map(AppendResult::physicalOffset).toList();
        assertThat(recordsInLog()).as("whole records in the commit log %s", when).isEqualTo(acknowledged);
        if (keyed) {
            for (int i = 0; i < acked.size(); i += Math.max(1, acked.size() / 50)) {
                assertThat(store.lookupByKey(TOPIC, "k" + i, 2)).as("lookup of key k%d %s", i, when)
                        .extracting(StoredMessage::physicalOffset).containsExactly(acked.get(i).physicalOffset());
            }
        }
    }

    /**
     * Positions of the whole records in the commit log up to its end, walked record by record; where
     * no whole record starts, the rest of the segment is taken for the end-of-segment padding.
     */
    private List<Long> recordsInLog() {
        List<Long> out = new ArrayList<>();
        long end = store.writtenOffset();
        for (long p = store.minPhysicalOffset(); p < end; ) {
            Optional<StoredMessage> m = store.readAt(p);
            if (m.isPresent()) {
                out.add(p);
                p += m.get().size();
            } else {
                p = (p / SEGMENT + 1) * SEGMENT;
            }
        }
        return out;
    }

    /** True if a cause of {@code e} was thrown on the {@link SegmentFiller}'s thread (it prepares commit-log space). */
    private static boolean onFillerThread(Throwable e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            for (StackTraceElement f : t.getStackTrace()) {
                if (f.getClassName().equals(SegmentFiller.class.getName()) && f.getMethodName().equals("run")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private Path ballast() {
        return mountPoint.resolve("ballast");
    }

    private void writeBallast() throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
        while (chunk.hasRemaining()) {
            chunk.put((byte) 0x5A);
        }
        try (FileChannel ch = FileChannel.open(ballast(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long pos = 0; pos < BALLAST_BYTES; ) {
                pos += ch.write(chunk.clear(), pos);
            }
            ch.force(true);
        }
    }

    private record Result(int exitCode, String output) {}

    /** Runs a command to its end; its stdout and stderr together. A command that cannot start skips the test. */
    private static Result run(String... command) throws InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "cannot run " + command[0] + ": " + e.getMessage());
            throw new AssertionError(e);
        }
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            out = "(output unreadable: " + e + ")";
        }
        return new Result(p.waitFor(), out);
    }

    /** {@code name} on the PATH or in the sbin directories (not on a non-root PATH), or null. */
    private static String executable(String name) {
        List<Path> dirs = new ArrayList<>();
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty()) {
                dirs.add(Path.of(d));
            }
        }
        dirs.add(Path.of("/usr/sbin"));
        dirs.add(Path.of("/sbin"));
        for (Path d : dirs) {
            Path p = d.resolve(name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
