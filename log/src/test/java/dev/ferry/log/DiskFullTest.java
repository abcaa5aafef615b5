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
import java.util.concurrent.CompletionException;
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
 * <p>Both ways of writing are covered. Staged writes ({@link StagingRing}, the ASYNC default): the
 * commit that finds the disk full gives back the ring's reserve, writes what was appended, and
 * appends fail until the reserve can be written again. Writes through mappings: both ways the
 * filler prepares space are covered, with and without {@code preTouch}. Either
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
 * <p>Two more situations: a store that was closed and opened again before the disk fills up (a
 * reopened offset index must fill ahead from its last entry again, not take the rest of its file
 * for reserved), and append batches, which must fail whole.
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
    /** Offset-index entries per file in the reopen cases: 400 KB files, sparse past what was filled ahead. */
    private static final int REOPEN_INDEX_ENTRIES = 20_000;

    @TempDir
    Path tmp;

    private Path mountPoint;
    private boolean mounted;
    private MessageStore store;
    private int bodyBytes;
    /** Staged writes ({@link StagingRing}) instead of writes through mappings. */
    private boolean staged;
    /** Each message carries the key "k" + its number, so the key index needs space too. */
    private boolean keyed;
    /** With {@link #keyed}: some messages carry no key, some a second one ("x" + number), see {@link #keysOf}. */
    private boolean mixedKeys;

    /** One way of appending: the next message(s), numbered from {@code acked.size()}. */
    @FunctionalInterface
    private interface Appender {
        /** Appends; adds what was acknowledged to {@code acked} and returns null, or returns what it threw. */
        RuntimeException tryNext(List<AppendResult> acked);
    }

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

    @ParameterizedTest(name = "staged={3}, preTouch={0}, bodies of {1} B, keyed={2}")
    @CsvSource({"true, 1024, false, false", "false, 1024, false, false", "true, 65536, false, false",
            "false, 65536, false, false", "true, 1024, true, false", "false, 1024, true, true", "false, 65536, false, true"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void appendsFailCleanlyWhileTheDiskIsFullAndResumeOnceSpaceIsFreed(boolean preTouch, int bodyBytes, boolean keyed,
            boolean staged) throws Exception {
        this.bodyBytes = bodyBytes;
        this.keyed = keyed;
        this.staged = staged;
        noMappingFault(() -> fillTheDiskAndFreeIt(preTouch));
    }

    /**
     * A store that was closed and opened again (a broker restart) and then finds the disk full.
     * What a user relies on: after a restart a full disk is handled exactly as before one: the append
     * that needs space the disk no longer has fails with a {@link LogException} saying the disk is
     * full, before anything is written; every acknowledged record, from before the restart and
     * after it, reads back byte-equal, is found by its key, and nothing else is in the commit log;
     * appends resume by themselves once space is freed; a further close and reopen keeps exactly the
     * acknowledged records.
     *
     * <p>Here the offset index is what needs new space, deterministically: the disk is filled to the
     * last block only after the reopened store's filler has prepared its window (the rest of the
     * first segment and all of the second, some 25 MiB), so the commit log has room for thousands of
     * records while the reopened index has only what it filled ahead of its last entry (64 KiB,
     * 3,276 entries), and the key file has room for all of them (its blocks were reserved whole when
     * it was created). The first append to fail must therefore be the one whose index entry needs a
     * new block. Before the fix a reopened index took the whole of its last file for reserved (its
     * size on disk), so that entry went through the mapping into a hole of a full disk: SIGBUS,
     * reported by HotSpot as an {@link InternalError} on the appending thread, possibly after the
     * append returned, and the entry lost.
     *
     * <p>The second case has two sessions before the last reopen, and bodies of 100 B: the index
     * grew after the first reopen (while there was space) into its second file, so the index file
     * reopened last is not the queue's first.
     */
    @ParameterizedTest(name = "preTouch={0}, bodies of {1} B, {2} keyed records in {3} session(s) before the last reopen")
    @CsvSource({"true, 1024, 6000, 1", "false, 100, 25000, 2"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void afterAReopenAppendsFailCleanlyWhenTheDiskFillsUpAndResumeOnceSpaceIsFreed(boolean preTouch, int bodyBytes,
            int before, int sessions) throws Exception {
        this.bodyBytes = bodyBytes;
        this.keyed = true;
        noMappingFault(() -> reopenThenFillTheDiskAndFreeIt(preTouch, before, sessions));
    }

    /**
     * Append batches ({@link MessageStore#appendBatchAsync}) of 8 to 32 messages, some keyed (one or
     * two keys) and some not, until one finds the disk full. What a user relies on: a batch is all
     * or nothing on a full disk too: the batch that fails throws a {@link LogException} saying the
     * disk is full and leaves none of its messages, not in the queue (its offsets go to the next
     * batch), not in the commit log, not in the key index; every acknowledged batch reads back whole,
     * byte-equal and in order; batches work again once space is freed, without a restart; after a
     * close and a reopen the store holds exactly the acknowledged batches.
     *
     * <p>With 1 KiB bodies the index entries of a batch are what cannot be reserved (a batch
     * reserves all of them before it writes its first record); with 64 KiB bodies it is the commit
     * log: the batch waits for the filler to prepare the space of all of its records first.
     */
    @ParameterizedTest(name = "staged={2}, preTouch={0}, bodies of {1} B")
    @CsvSource({"true, 1024, false", "false, 65536, false", "false, 65536, true"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aBatchThatFindsTheDiskFullLeavesNothingAndBatchesResumeOnceSpaceIsFreed(boolean preTouch, int bodyBytes,
            boolean staged) throws Exception {
        this.bodyBytes = bodyBytes;
        this.staged = staged;
        this.keyed = true;
        this.mixedKeys = true;
        noMappingFault(() -> fillTheDiskWithBatchesAndFreeIt(preTouch));
    }

    /**
     * A store closed cleanly, then opened on a disk with no block left. What a user relies on: it
     * opens (its checkpoint at open does not fit: the last one stays, and is retried in the
     * background), serves every acknowledged record, and refuses appends cleanly, saying the disk is
     * full, until space is freed; then it opens again with exactly what it held. Before, the open
     * failed on the checkpoint (in most runs: ext4 now and then finds a block for it) and the
     * records could not be read until space was freed.
     */
    @org.junit.jupiter.api.Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void anOpenOnAFullDiskServesWhatItHolds() throws Exception {
        this.bodyBytes = 1024;
        this.keyed = true;
        noMappingFault(() -> {
            LogConfig config = config(true).build();
            List<AppendResult> acked = new ArrayList<>();
            store = MessageStore.open(config);
            for (int i = 0; i < 1000; i++) {
                RuntimeException e = tryAppend(acked);
                if (e != null) {
                    throw new AssertionError("append " + i + " before the disk is full", e);
                }
            }
            store.close();
            store = null;
            awaitDiskQuiet();
            fillTheDisk();
            Path checkpoint = mountPoint.resolve("store").resolve("checkpoint");
            byte[] lastCheckpoint = Files.readAllBytes(checkpoint);

            store = MessageStore.open(config);
            // usually no block is left for it; now and then ext4 finds one (it hands back blocks it had set aside)
            boolean replaced = !Arrays.equals(Files.readAllBytes(checkpoint), lastCheckpoint);
            System.out.printf("DiskFullTest open on a full disk: opened, checkpoint %s%n", replaced ? "replaced" : "kept (no room)");
            assertExactly(acked, "opened on the full disk");
            RuntimeException full = appendUntilFailure(this::tryAppend, acked);
            assertDiskFull(full, acked);
            try {
                store.close();
            } catch (RuntimeException e) {
                // its checkpoint may not fit either: the close still releases the store (the next open recovers)
            }
            store = null;
            Files.delete(ballast());
            store = MessageStore.open(config);
            assertExactly(acked, "after the space was freed");
        });
    }

    /**
     * A broker restarted while the disk is still full, with staged writes: the commit that found the
     * disk full gave back the staging file's reserve, so the file ends at its ring, and after the
     * close the rest of the disk fills up too. What a user relies on: the store opens on the full
     * disk and serves every acknowledged record; appends fail, saying the disk is full, and leave
     * nothing; once space is freed they resume by themselves, without another restart; a further
     * close and reopen keeps exactly the acknowledged records. Before, the open rewrote the staging
     * file from scratch and failed for want of the reserve's space (the ring and 1 MiB), so the
     * records could not be read until space was freed.
     */
    @org.junit.jupiter.api.Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aStoreClosedWhileTheDiskWasFullOpensAgainOnTheFullDisk() throws Exception {
        this.bodyBytes = 65536; // the commit log is what runs out, so the commit gives the reserve back
        this.staged = true;
        noMappingFault(() -> {
            writeBallast();
            LogConfig config = config(false).build();
            List<AppendResult> acked = new ArrayList<>();
            store = MessageStore.open(config);
            appendUntilTheDiskIsFull(this::tryAppend, acked); // checks that the staging file ends at its ring now
            try {
                store.close();
            } catch (RuntimeException e) {
                // its checkpoint may not fit: the next open recovers
            }
            store = null;
            awaitDiskQuiet();
            fillTheDisk(); // what the reserve left free, too

            store = MessageStore.open(config);
            assertExactly(acked, "opened again on the full disk");
            RuntimeException full = tryAppend(acked);
            assertThat(full).as("an append on the full disk after the reopen").isNotNull();
            assertDiskFull(full, acked);
            String outage = staysFullThenFreedThenReopened(this::tryAppend, config, acked);
            System.out.printf("DiskFullTest reopened on a full disk: %s%n", outage);
        });
    }

    private interface Scenario {
        void run() throws Exception;
    }

    private static void noMappingFault(Scenario scenario) throws Exception {
        try {
            scenario.run();
        } catch (InternalError e) {
            // HotSpot skips a store that faults in a mapping and raises this "at a later point", anywhere in the thread
            throw new AssertionError("a write through a mapping faulted (SIGBUS: on a full disk, a page with no block"
                    + " reserved) on the appending thread; the append that did it may have returned", e);
        }
    }

    /**
     * 16 MiB segments. Written through mappings: prepared one 16 MiB chunk (= a whole segment) ahead.
     * Staged: bodies up to 64 KiB and batches up to 3 MiB, so the staging file (a 4 MiB ring and its
     * reserve) takes 9 MiB of the file system.
     */
    private LogConfig.Builder config(boolean preTouch) {
        LogConfig.Builder b = LogConfig.builder(mountPoint.resolve("store")).segmentBytes(SEGMENT)
                .fillAheadBytes(SegmentFiller.CHUNK).indexEntriesPerFile(50_000).keyIndexSlots(1024).keyIndexEntries(4096)
                .preTouch(preTouch).stagedWrites(staged);
        return staged ? b.maxBodyBytes(64 << 10).maxBatchBytes(3 << 20) : b;
    }

    private void fillTheDiskAndFreeIt(boolean preTouch) throws Exception {
        writeBallast();
        // the third segment does not fit beside the ballast
        LogConfig config = config(preTouch).build();
        List<AppendResult> acked = new ArrayList<>();
        store = MessageStore.open(config);

        RuntimeException full = appendUntilTheDiskIsFull(this::tryAppend, acked);
        String outage = staysFullThenFreedThenReopened(this::tryAppend, config, acked);
        System.out.printf("DiskFullTest staged=%s preTouch=%s body=%d: %s; first failure: %s (root cause: %s)%n", staged,
                preTouch, bodyBytes, outage, full, rootCause(full));
    }

    private void reopenThenFillTheDiskAndFreeIt(boolean preTouch, int before, int sessions) throws Exception {
        // key files of 16,384 entries (463 KB): reserved whole at creation, and room for what follows the last reopen
        LogConfig config = config(preTouch).indexEntriesPerFile(REOPEN_INDEX_ENTRIES).keyIndexEntries(16_384).build();
        List<AppendResult> acked = new ArrayList<>();
        for (int s = 0; s < sessions; s++) {
            store = MessageStore.open(config);
            for (int target = (int) ((long) before * (s + 1) / sessions); acked.size() < target; ) {
                RuntimeException e = tryAppend(acked);
                if (e != null) {
                    throw new AssertionError("append " + acked.size() + " before the disk is full", e);
                }
            }
            long end = store.writtenOffset();
            store.close();
            store = null;
            store = MessageStore.open(config);
            assertThat(store.recoveryReport()).as("recovery at reopen %d", s + 1).extracting(RecoveryReport::crashed,
                    RecoveryReport::end, RecoveryReport::truncatedBytes).containsExactly(false, end, 0L);
            if (s < sessions - 1) {
                store.close();
                store = null;
            }
        }
        assertExactly(acked, "after the reopen");
        // the reopened queue's last index file (not its first one when there were two sessions) ...
        long lastIndexFile = before - before % REOPEN_INDEX_ENTRIES;
        Path indexFile = mountPoint.resolve("store/index/" + TOPIC + "/0/" + FileNames.name(lastIndexFile));
        assertThat(indexFile).as("the index file the reopened queue appends to").isRegularFile();

        // the reopened store's filler prepares its window (the rest of this segment and the next one); then no byte is left
        awaitDiskQuiet();
        long ballast = fillTheDisk();
        long freeBlocks = Files.getFileStore(mountPoint).getUsableSpace() / 4096;

        RuntimeException full = appendUntilFailure(this::tryAppend, acked);
        assertDiskFull(full, acked);
        // ... is what needed new space: the failure is its fill-ahead, after it took entries past where the reopen found it
        assertThat(full.getMessage()).as("the append that found the disk full was refused by the offset index")
                .contains("cannot extend index file").contains(indexFile.toString());
        assertThat(acked.size()).as("appends acknowledged before the index ran out of space").isGreaterThan(before);
        // no more than the 64 KiB the index filled ahead, and at most one more fill-ahead: ext4 can hand back a few
        // blocks after the disk was filled (reservations of delayed allocation, seen once in about 8 runs), so one more
        // 64 KiB fill can succeed. Before the fix the reopened index took its whole file (20,000 entries) for reserved.
        int fillAhead = 64 * 1024 / OffsetIndex.ENTRY_SIZE;
        assertThat(acked.size() - before).as("appends on the full disk: what the index filled ahead, not its whole file")
                .isLessThanOrEqualTo(2 * fillAhead + 4096 / OffsetIndex.ENTRY_SIZE);
        int onFullDisk = acked.size() - before;

        String outage = staysFullThenFreedThenReopened(this::tryAppend, config, acked);
        System.out.printf("DiskFullTest reopened preTouch=%s body=%d: %d records in %d session(s), reopened, ballast %d MiB"
                        + " (%d blocks left free), then %d appends on the full disk; %s; first failure: %s (root cause: %s)%n",
                preTouch, bodyBytes, before, sessions, ballast >> 20, freeBlocks, onFullDisk, outage, full, rootCause(full));
    }

    private void fillTheDiskWithBatchesAndFreeIt(boolean preTouch) throws Exception {
        writeBallast();
        LogConfig config = config(preTouch).build();
        List<AppendResult> acked = new ArrayList<>();
        store = MessageStore.open(config);

        RuntimeException full = appendUntilTheDiskIsFull(this::tryBatch, acked);
        assertExactly(acked, "after the batch that found the disk full");
        String outage = staysFullThenFreedThenReopened(this::tryBatch, config, acked);
        System.out.printf("DiskFullTest batches staged=%s preTouch=%s body=%d: %s; first failure: %s (root cause: %s)%n", staged,
                preTouch, bodyBytes, outage, full, rootCause(full));
    }

    /** The append that found the disk full failed the way a producer is told. */
    /**
     * Appends with {@code appender} until the disk (the ballast beside the store) is full, and checks
     * how it failed: past the first segment (the sizing of the ballast), and with 64 KiB bodies in the
     * segment filler (the index's prepared space covers what the filler prepared: the commit log is
     * what runs out). Returns the failure.
     */
    private RuntimeException appendUntilTheDiskIsFull(Appender appender, List<AppendResult> acked) throws IOException {
        RuntimeException full = appendUntilFailure(appender, acked);
        assertDiskFull(full, acked);
        assertThat(acked.get(acked.size() - 1).physicalOffset()).as("end of the log when the disk was full (sizing)")
                .isGreaterThanOrEqualTo(SEGMENT);
        if (bodyBytes >= 64 * 1024 && !staged) {
            assertThat(onFillerThread(full)).as("cause from the segment filler's thread, in %s", full).isTrue();
        }
        if (bodyBytes >= 64 * 1024 && staged) {
            assertThat(full.getMessage()).as("the append after a commit found the disk full: %s", full)
                    .startsWith("cannot append: the disk is full");
            assertThat(Files.size(mountPoint.resolve("store").resolve(StagingRing.FILE)))
                    .as("staging file after its reserve was given back: header and ring only")
                    .isEqualTo(StagingRing.HEADER + (long) config(false).build().stagingRingBytes());
        }
        return full;
    }

    private static void assertDiskFull(RuntimeException full, List<AppendResult> acked) {
        // a DiskFullException, whichever file ran out (commit log, offset index, staging ring): the broker answers it
        // without logging each one (the store logs the condition itself)
        assertThat(full).as("the append that found the disk full (after %d appends)", acked.size())
                .isInstanceOf(DiskFullException.class);
        assertThat(full.getMessage()).as("message of %s", full)
                .matches("(?is).*(no space left on device|disk is full|disk full).*");
    }

    /**
     * The part every case shares once an append found the disk full: it stays full for 1.5 s
     * (longer than the filler's retry interval) with appends failing the same way, the store holds
     * exactly what was acknowledged; the ballast goes and appends work again, past the next
     * roll-over; a close and a reopen keep exactly the acknowledged records. Returns a summary.
     */
    private String staysFullThenFreedThenReopened(Appender appender, LogConfig config, List<AppendResult> acked)
            throws Exception {
        int beforeFull = acked.size();
        // the disk stays full for longer than the filler's retry interval (1 s): appends fail the same way (one may get
        // through: ext4 hands back blocks it had set aside for metadata when it writes dirty pages back)
        int failedWhileFull = 0;
        for (long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500); System.nanoTime() < until; ) {
            RuntimeException e = appender.tryNext(acked);
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
        int failedAfterFreeing = appendRetrying(appender, acked, 1, freed);
        long resumedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed);
        // into the next segment (the disk filled up where the log was to roll over), not so far that it fills again
        failedAfterFreeing += appendRetrying(appender, acked, AFTER_OUTAGE_BYTES / bodyBytes, freed);
        long allWorkedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freed);
        assertExactly(acked, "after the outage");
        long end = store.writtenOffset();
        store.close();
        store = null;

        store = MessageStore.open(config);
        assertThat(store.recoveryReport()).as("recovery at reopen").extracting(RecoveryReport::crashed, RecoveryReport::end,
                RecoveryReport::truncatedBytes).containsExactly(false, end, 0L);
        assertExactly(acked, "after a reopen");
        return String.format("%d appends until the disk was full, then %d failed and %d worked in 1.5 s; after freeing"
                        + " space the first append worked after %d ms, %d failed until %d ms; %d appends in all", beforeFull,
                failedWhileFull, workedWhileFull, resumedMs, failedAfterFreeing, allWorkedMs, acked.size());
    }

    /**
     * Appends until {@code count} more messages are acknowledged, each attempt retried every 20 ms while
     * it fails with a {@link LogException}, up to 10 s after {@code freedNanos}; returns how many attempts failed.
     */
    private int appendRetrying(Appender appender, List<AppendResult> acked, int count, long freedNanos)
            throws InterruptedException {
        int failed = 0;
        for (int target = acked.size() + count; acked.size() < target; ) {
            RuntimeException e = appender.tryNext(acked);
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
    private RuntimeException appendUntilFailure(Appender appender, List<AppendResult> acked) {
        while ((long) acked.size() * bodyBytes < IMAGE_BYTES) {
            RuntimeException e = appender.tryNext(acked);
            if (e != null) {
                return e;
            }
        }
        throw new AssertionError(acked.size() + " appends of " + bodyBytes + " B and the " + (IMAGE_BYTES >> 20)
                + " MiB file system never filled up");
    }

    /** The keys of message {@code n}: "k" + n if {@link #keyed}; with {@link #mixedKeys} none, one or two. */
    private List<String> keysOf(long n) {
        if (!keyed) {
            return List.of();
        }
        if (!mixedKeys) {
            return List.of("k" + n);
        }
        return switch ((int) (n % 4)) {
            case 0 -> List.of();
            case 1 -> List.of("k" + n, "x" + n);
            default -> List.of("k" + n);
        };
    }

    /** Message number {@code n} to t/0: body {@code body(bodyBytes, n)}, keys {@link #keysOf}. */
    private LogMessage message(long n) {
        LogMessage.Builder b = LogMessage.builder(TOPIC, 0, body(bodyBytes, n));
        for (String k : keysOf(n)) {
            b.key(k);
        }
        return b.build();
    }

    /**
     * Appends message number {@code acked.size()} to t/0; adds the result to {@code acked} if it
     * returned, else checks it left nothing behind and returns what it threw.
     */
    private RuntimeException tryAppend(List<AppendResult> acked) {
        int n = acked.size();
        AppendResult r;
        try {
            r = store.append(message(n));
        } catch (RuntimeException e) {
            assertNothingWritten(acked, "append " + n, e);
            return e;
        }
        assertThat(r.queueOffset()).as("queue offset of acknowledged append %d", n).isEqualTo(n);
        acked.add(r);
        return null;
    }

    /**
     * Appends messages {@code acked.size()} to {@code acked.size() + 7..31} (the size follows from the
     * first number) as one batch; adds the results to {@code acked} if it returned, else checks it left
     * nothing behind and returns what it threw.
     */
    private RuntimeException tryBatch(List<AppendResult> acked) {
        int n = acked.size();
        int size = 8 + Math.floorMod(n * 31 + 7, 25);
        List<LogMessage> batch = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            batch.add(message(n + i));
        }
        List<AppendResult> results;
        try {
            results = store.appendBatchAsync(batch).join();
        } catch (RuntimeException e) {
            RuntimeException cause = e instanceof CompletionException && e.getCause() instanceof RuntimeException r ? r : e;
            assertNothingWritten(acked, "batch of " + size + " from " + n, cause);
            return cause;
        }
        assertThat(results).as("results of the batch of %d from %d", size, n).hasSize(size);
        for (int i = 0; i < size; i++) {
            AppendResult r = results.get(i);
            assertThat(r.queueOffset()).as("queue offset of message %d of the batch from %d", i, n).isEqualTo(n + i);
            if (i > 0) {
                AppendResult p = results.get(i - 1);
                if (p.physicalOffset() / SEGMENT == r.physicalOffset() / SEGMENT) {
                    assertThat(r.physicalOffset()).as("message %d of the batch from %d follows the one before", i, n)
                            .isEqualTo(p.physicalOffset() + p.size());
                }
            }
        }
        acked.addAll(results);
        return null;
    }

    /**
     * A failed append or batch left nothing a reader can see: the queue ends where it did, the log
     * too (a record it wrote anyway would show up in the whole-log walk of {@link #assertExactly}
     * once a later append moves the end past it).
     */
    private void assertNothingWritten(List<AppendResult> acked, String what, RuntimeException e) {
        AppendResult last = acked.isEmpty() ? null : acked.get(acked.size() - 1);
        long end = last == null ? store.minPhysicalOffset() : last.physicalOffset() + last.size();
        assertThat(store.nextOffset(TOPIC, 0)).as("end of t/0 after the failed %s (%s)", what, e).isEqualTo(acked.size());
        assertThat(store.writtenOffset()).as("end of the log after the failed %s (%s)", what, e).isEqualTo(end);
    }

    /**
     * The store holds exactly the acknowledged records: the queue reads them back byte-equal and in
     * order, and a walk of the commit log itself finds them and nothing else (a failed append that
     * left a record behind would show up there, and be readable by its id); keyed ones are found by
     * each of their keys (a sample, and the last 64).
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
            if (mixedKeys) {
                assertThat(m.keys()).as("keys of message %d %s", i, when).isEqualTo(keysOf(i));
            }
        }
        List<Long> acknowledged = acked.stream().map(AppendResult::physicalOffset).toList();
        assertThat(recordsInLog()).as("whole records in the commit log %s", when).isEqualTo(acknowledged);
        if (keyed) {
            int step = Math.max(1, acked.size() / 50);
            for (int i = 0; i < acked.size(); i += i < acked.size() - 64 ? step : 1) {
                for (String k : keysOf(i)) {
                    assertThat(store.lookupByKey(TOPIC, k, 2)).as("lookup of key %s %s", k, when)
                            .extracting(StoredMessage::physicalOffset).containsExactly(acked.get(i).physicalOffset());
                }
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
        ByteBuffer chunk = ballastChunk();
        try (FileChannel ch = FileChannel.open(ballast(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long pos = 0; pos < BALLAST_BYTES; ) {
                pos += ch.write(chunk.clear(), pos);
            }
            ch.force(true);
        }
    }

    /**
     * Writes the ballast (on from its end, if there is one) until the file system has no block left:
     * 1 MiB at a time, then 4 KiB, until ENOSPC; then forces it (writeback may hand back blocks ext4
     * had set aside) and goes on, until a round finds nothing more. Returns the ballast's size.
     */
    private long fillTheDisk() throws IOException {
        ByteBuffer chunk = ballastChunk();
        long pos = 0;
        try (FileChannel ch = FileChannel.open(ballast(), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            pos = ch.size(); // after the ballast written before, if any
            for (int round = 0; round < 5; round++) {
                long start = pos;
                for (int size : new int[] {1 << 20, 4096}) {
                    while (true) {
                        int n;
                        try {
                            n = ch.write(chunk.clear().limit(size), pos);
                        } catch (IOException e) {
                            if (String.valueOf(e.getMessage()).contains("No space left on device")) {
                                break;
                            }
                            throw e;
                        }
                        pos += n;
                        if (n < size) {
                            break;
                        }
                    }
                }
                ch.force(true);
                if (pos == start) {
                    break;
                }
            }
        }
        return pos;
    }

    /** Waits until the free space stops changing (the store's fillers are done), at most 5 s. */
    private void awaitDiskQuiet() throws IOException, InterruptedException {
        long last = -1;
        int same = 0;
        for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); same < 4 && System.nanoTime() < until; ) {
            Thread.sleep(50);
            long free = Files.getFileStore(mountPoint).getUsableSpace();
            same = free == last ? same + 1 : 0;
            last = free;
        }
    }

    private static ByteBuffer ballastChunk() {
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
        while (chunk.hasRemaining()) {
            chunk.put((byte) 0x5A);
        }
        return chunk;
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
