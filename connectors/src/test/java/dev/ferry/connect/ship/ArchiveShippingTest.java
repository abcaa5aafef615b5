package dev.ferry.connect.ship;

import static dev.ferry.connect.ship.ShipTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.MessageStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** segment-ship into an archive directory, against a real store with 1 MiB segments. */
class ArchiveShippingTest {
    @TempDir
    Path tmp;

    private SegmentShipTask startTask(Path data, Path archive, String... more) throws Exception {
        String[] kv = new String[4 + more.length];
        kv[0] = "log.dir";
        kv[1] = data.toString();
        kv[2] = "target.dir";
        kv[3] = archive.toString();
        System.arraycopy(more, 0, kv, 4, more.length);
        SegmentShipTask task = new SegmentShipTask();
        task.start(new Context(config(kv), tmp.resolve("state")));
        return task;
    }

    @Test
    void shipsSealedSegmentsAndIndexesByteForByteButNotTheActiveSegment() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = openStore(data)) {
            List<dev.ferry.log.AppendResult> appended = fill(store, 5 * SEGMENT_BYTES + SEGMENT_BYTES / 2, 0);
            List<ShipFile> sealed = SealedFiles.scan(data, true);
            long activeBase = store.writtenOffset() / SEGMENT_BYTES * SEGMENT_BYTES;

            SegmentShipTask task = startTask(data, archive);
            int shipped = task.shipOnce();

            TreeMap<String, byte[]> segments = numberedFiles(archive, "commitlog");
            assertThat(segments.keySet()).as("sealed segments: all before the active one")
                    .containsExactly("commitlog/00000000000000000000", "commitlog/00000000000001048576",
                            "commitlog/00000000000002097152", "commitlog/00000000000003145728",
                            "commitlog/00000000000004194304");
            assertThat(activeBase).isEqualTo(5L * SEGMENT_BYTES);
            assertThat(numberedFiles(archive, "index").keySet()).as("one full offset-index file per queue")
                    .containsExactly("index/orders/0/00000000000000000000", "index/orders/1/00000000000000000000",
                            "index/orders/2/00000000000000000000", "index/orders/3/00000000000000000000");
            assertThat(numberedFiles(archive, "keyindex").keySet()).as("full key-index files")
                    .containsExactly("keyindex/00000000000000000000",
                            String.format("keyindex/%020d", appended.get(KEY_ENTRIES).physicalOffset()));
            assertIdenticalToSource(archive, data);
            assertThat(shipped).isEqualTo(sealed.size()).isEqualTo(11);
            assertThat(task.progress()).containsEntry("filesShipped", 11L).containsEntry("lagBytes", 0L)
                    .containsEntry("lagFiles", 0L).containsEntry("lastSegmentOffset", 4L * SEGMENT_BYTES)
                    .containsEntry("verifyFailures", 0L);
            assertThat(Files.readAllLines(archive.resolve(Manifest.FILE))).hasSize(1 + 11)
                    .first().isEqualTo(Manifest.HEADER);

            // nothing new: a second scan ships nothing
            assertThat(task.shipOnce()).isZero();

            // the log grows: the next scan ships the newly sealed segments only
            fill(store, 2 * SEGMENT_BYTES, 1_000_000);
            long before = task.progress().get("bytesShipped");
            int more = task.shipOnce();
            assertThat(more).isGreaterThanOrEqualTo(2);
            assertThat(numberedFiles(archive, "commitlog")).containsKeys("commitlog/00000000000005242880",
                    "commitlog/00000000000006291456");
            assertThat(numberedFiles(archive, "commitlog")).doesNotContainKey(
                    String.format("commitlog/%020d", store.writtenOffset() / SEGMENT_BYTES * SEGMENT_BYTES));
            assertThat(task.progress().get("bytesShipped") - before).as("only the new files were sent")
                    .isLessThan(5L * SEGMENT_BYTES);
            assertIdenticalToSource(archive, data);
            task.close();
        }
    }

    @Test
    void resumesAPartialCopyAndRedoesACorruptedOne() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = openStore(data)) {
            fill(store, 3 * SEGMENT_BYTES + 1000, 0);
        }
        byte[] seg0 = Files.readAllBytes(data.resolve("commitlog/00000000000000000000"));
        byte[] seg1 = Files.readAllBytes(data.resolve("commitlog/00000000000001048576"));
        Files.createDirectories(archive.resolve("commitlog"));
        // an interrupted copy: the first 300,000 bytes are there
        Files.write(archive.resolve("commitlog/00000000000000000000.part"), Arrays.copyOf(seg0, 300_000));
        // a damaged one: 500,000 bytes of which one is wrong
        byte[] bad = Arrays.copyOf(seg1, 500_000);
        bad[1234] ^= 0x40;
        Files.write(archive.resolve("commitlog/00000000000001048576.part"), bad);

        SegmentShipTask task = startTask(data, archive, "include.indexes", "false");
        assertThat(task.shipOnce()).isEqualTo(3);

        assertThat(Files.readAllBytes(archive.resolve("commitlog/00000000000000000000"))).isEqualTo(seg0);
        assertThat(Files.readAllBytes(archive.resolve("commitlog/00000000000001048576"))).isEqualTo(seg1);
        assertIdenticalToSource(archive, data);
        assertThat(task.progress()).as("the partial copy was continued, the damaged one detected and redone")
                .containsEntry("bytesResumed", 300_000L).containsEntry("verifyFailures", 1L)
                .containsEntry("bytesShipped", (SEGMENT_BYTES - 300_000L) + (SEGMENT_BYTES - 500_000L) + 2L * SEGMENT_BYTES);
        assertThat(archive.resolve("commitlog/00000000000001048576.part")).doesNotExist();
        task.close();
    }

    @Test
    void withoutForceShipsByteForByteAndStillCatchesACorruptedCopy() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = openStore(data)) {
            fill(store, 3 * SEGMENT_BYTES + SEGMENT_BYTES / 2, 0);
        }
        byte[] seg1 = Files.readAllBytes(data.resolve("commitlog/00000000000001048576"));
        Files.createDirectories(archive.resolve("commitlog"));
        // a damaged part (one wrong byte in the kept prefix): the whole-file checksum must catch it as with force=true
        byte[] bad = Arrays.copyOf(seg1, 500_000);
        bad[4321] ^= 0x08;
        Files.write(archive.resolve("commitlog/00000000000001048576.part"), bad);

        SegmentShipTask task = startTask(data, archive, "force", "false");
        int sealed = SealedFiles.scan(data, true).size();
        assertThat(task.shipOnce()).isEqualTo(sealed);

        assertThat(Files.readAllBytes(archive.resolve("commitlog/00000000000001048576"))).isEqualTo(seg1);
        assertIdenticalToSource(archive, data);
        assertThat(task.progress()).as("the corrupted copy was detected (read back from the page cache) and redone")
                .containsEntry("verifyFailures", 1L).containsEntry("filesShipped", (long) sealed)
                .containsEntry("bytesResumed", 0L);
        assertThat(archive.resolve("commitlog/00000000000001048576.part")).doesNotExist();
        // verified lines, as with force=true
        List<String> lines = Files.readAllLines(archive.resolve(Manifest.FILE));
        assertThat(lines).hasSize(1 + sealed).first().isEqualTo(Manifest.HEADER);
        assertThat(lines.subList(1, lines.size())).allSatisfy(l -> assertThat(l).doesNotEndWith(" -"));
        // nothing new: a second scan ships nothing
        assertThat(task.shipOnce()).isZero();
        task.close();

        // what a power loss can leave with force=false: name, manifest line and length on disk, the bytes not
        // (zeros). Shipping does not read the archive back, so only a check against the manifest CRC finds it.
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertThat(ArchiveCheck.check(archive, new java.io.PrintStream(out, true))).isEqualTo(
                new ArchiveCheck.Result(sealed, 0, 0));
        Files.write(archive.resolve("commitlog/00000000000001048576"), new byte[SEGMENT_BYTES]);
        Files.write(archive.resolve("commitlog/00000000000002097152"), new byte[1000]);
        out.reset();
        assertThat(ArchiveCheck.check(archive, new java.io.PrintStream(out, true))).isEqualTo(
                new ArchiveCheck.Result(sealed - 2, 0, 2));
        assertThat(out.toString()).contains("BAD commitlog/00000000000001048576: crc32c ")
                .contains("SHORT commitlog/00000000000002097152: 1000 bytes (listed: " + SEGMENT_BYTES + ")");
        // a restarted task sees the short one (length differs) and ships it again; the zeroed one has the listed length
        SegmentShipTask restarted = startTask(data, archive, "force", "false");
        assertThat(restarted.shipOnce()).isEqualTo(1);
        restarted.close();
        out.reset();
        assertThat(ArchiveCheck.check(archive, new java.io.PrintStream(out, true)).failed()).isEqualTo(1);
    }

    @Test
    void aTaskStoppedMidFileResumesWhereItStopped() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        // 2 MiB/s: a 1 MiB segment takes half a second, so stopping after 256 KiB lands inside it
        SegmentShipTask slow = new SegmentShipTask();
        Throwable[] failure = new Throwable[1];
        Thread t = start("slow-ship", slow, new Context(config("log.dir", data.toString(), "target.dir", archive.toString(),
                "max.bytes.per.sec", Integer.toString(2 << 20), "interval.ms", "50", "include.indexes", "false"),
                tmp.resolve("state")), failure);
        await(Duration.ofSeconds(10), "256 KiB shipped", () -> slow.progress().get("bytesShipped") >= 256 * 1024);
        slow.close();
        t.join(10_000);
        assertThat(t.isAlive()).as("run() returned promptly after close()").isFalse();
        assertThat(failure[0]).isNull();
        Path part = archive.resolve("commitlog/00000000000000000000.part");
        assertThat(part).as("the interrupted copy is kept").exists();
        long kept = Files.size(part);
        assertThat(kept).isBetween(1L, SEGMENT_BYTES - 1L);
        assertThat(archive.resolve("commitlog/00000000000000000000")).doesNotExist();

        SegmentShipTask again = startTask(data, archive, "include.indexes", "false");
        assertThat(again.shipOnce()).isEqualTo(2);
        assertThat(again.progress()).containsEntry("bytesResumed", kept)
                .containsEntry("bytesShipped", 2L * SEGMENT_BYTES - kept);
        assertIdenticalToSource(archive, data);
        again.close();
    }

    @Test
    void aSegmentDeletedByRetentionBeforeItIsShippedIsSkipped() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = MessageStore.open(storeConfig(data).retentionBytes(2L * SEGMENT_BYTES).build())) {
            store.createQueues(TOPIC, QUEUES);
            fill(store, 4 * SEGMENT_BYTES + 1000, 0);
            // 1 MiB/s: segment 0 takes a second; retention deletes segments 0-2 meanwhile
            SegmentShipTask slow = new SegmentShipTask();
            Throwable[] failure = new Throwable[1];
            Thread t = start("slow-ship", slow, new Context(config("log.dir", data.toString(), "target.dir",
                    archive.toString(), "max.bytes.per.sec", Integer.toString(1 << 20), "interval.ms", "3600000",
                    "include.indexes", "false"), tmp.resolve("state")), failure);
            await(Duration.ofSeconds(10), "shipping of segment 0 started", () -> slow.progress().get("bytesShipped") > 0);
            assertThat(store.runRetention()).isGreaterThanOrEqualTo(2);
            assertThat(data.resolve("commitlog/00000000000001048576")).doesNotExist();
            await(Duration.ofSeconds(20), "the scan to finish", () -> slow.progress().get("lagFiles") == 0);
            slow.close();
            t.join(10_000);
            assertThat(failure[0]).isNull();
            assertThat(slow.progress().get("filesSkipped")).as("deleted segments skipped, not failed").isGreaterThanOrEqualTo(1L);
            assertThat(slow.progress()).containsEntry("errors", 0L);
            // segment 0 was open when retention deleted it: its copy completed from the open file
            assertThat(archive.resolve("commitlog/00000000000000000000")).exists();
            assertThat(archive.resolve("commitlog/00000000000001048576.part")).doesNotExist();
        }
    }

    /** Store "a" of two and a half segments, shipped whole into a new archive. */
    private Path archiveOfStoreA() throws Exception {
        Path archive = tmp.resolve("archive");
        try (MessageStore a = openStore(tmp.resolve("a"))) {
            fill(a, 2 * SEGMENT_BYTES + SEGMENT_BYTES / 2, 0);
            SegmentShipTask task = startTask(tmp.resolve("a"), archive);
            assertThat(task.shipOnce()).isPositive();
            task.close();
        }
        return archive;
    }

    /**
     * A part left by a stopped, crashed or failing shipper whose segment retention deleted
     * meanwhile: no scan lists the segment any more, so only the look at the archive's parts after
     * the target opens finds it (it used to stay forever, up to a segment's size each).
     */
    @Test
    void aPartWhoseSegmentRetentionDeletedWhileTheShipperWasDownIsDeleted() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = MessageStore.open(storeConfig(data).retentionBytes(2L * SEGMENT_BYTES).build())) {
            store.createQueues(TOPIC, QUEUES);
            fill(store, 4 * SEGMENT_BYTES + 1000, 0);
            byte[] seg0 = Files.readAllBytes(data.resolve("commitlog/00000000000000000000"));
            Files.createDirectories(archive.resolve("commitlog"));
            // the shipper stopped (or crashed) 300,000 bytes into segment 0
            Files.write(archive.resolve("commitlog/00000000000000000000.part"), Arrays.copyOf(seg0, 300_000));
            // while it is down, retention deletes segment 0
            assertThat(store.runRetention()).isGreaterThanOrEqualTo(1);
            assertThat(data.resolve("commitlog/00000000000000000000")).doesNotExist();

            SegmentShipTask task = new SegmentShipTask();
            task.start(new Context(config("log.dir", data.toString(), "target.dir", archive.toString(), "include.indexes", "false"),
                    tmp.resolve("state")));
            task.shipOnce();
            task.shipOnce();
            task.close();
            assertThat(archive.resolve("commitlog/00000000000000000000.part"))
                    .as("the part of a segment retention deleted").doesNotExist();
        }
    }

    /**
     * An archive directory that cannot be created when the task starts (a mount not there yet) is
     * a target failure like any other: counted in errors and retried every interval.ms, and
     * shipping starts once it is usable (run() used to throw: the service FAILED for good).
     */
    @Test
    void anArchiveDirectoryUnusableAtStartIsRetriedLikeAnyOtherTargetFailure() throws Exception {
        Path data = tmp.resolve("data");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        Path blocker = tmp.resolve("mnt");
        Files.writeString(blocker, "not a directory yet"); // (as root, permissions cannot make it unwritable)
        Path archive = blocker.resolve("archive");
        SegmentShipTask task = new SegmentShipTask();
        Throwable[] failure = new Throwable[1];
        Thread t = ship(task, data, archive, failure);
        Thread.sleep(500);
        Files.delete(blocker); // the target becomes usable
        try {
            await(Duration.ofSeconds(10), "segment 0 shipped once the archive directory is usable",
                    () -> Files.exists(archive.resolve("commitlog/00000000000000000000")));
        } finally {
            task.close();
            t.join(5_000);
        }
        assertThat(failure[0]).as("run() kept going").isNull();
        assertThat(task.progress().get("errors")).as("the failed opens, counted").isPositive();
    }

    /** Runs {@code task} shipping {@code data}'s segments to {@code archive} every 50 ms on a thread of its own; {@code extra}: more settings. */
    private Thread ship(SegmentShipTask task, Path data, Path archive, Throwable[] failure, String... extra) {
        List<String> settings = new java.util.ArrayList<>(List.of("log.dir", data.toString(), "target.dir", archive.toString(),
                "interval.ms", "50", "include.indexes", "false"));
        settings.addAll(List.of(extra));
        return start("ship", task, new Context(config(settings.toArray(String[]::new)), tmp.resolve("state")), failure);
    }

    /** An archive directory whose MANIFEST holds {@code manifest}. */
    private Path archiveWithManifest(byte[] manifest) throws IOException {
        Path archive = tmp.resolve("archive");
        Files.createDirectories(archive);
        Files.write(archive.resolve(Manifest.FILE), manifest);
        return archive;
    }

    /** Unlike a directory that cannot be opened yet, a manifest that is not one fails the task: no retry reads it better. */
    @Test
    void aDamagedManifestFailsTheTaskInsteadOfBeingRetried() throws Exception {
        Path data = tmp.resolve("data");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        Path archive = archiveWithManifest("not a manifest\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        SegmentShipTask task = new SegmentShipTask();
        Throwable[] failure = new Throwable[1];
        Thread t = ship(task, data, archive, failure);
        t.join(10_000);
        task.close();
        assertThat(t.isAlive()).as("run() ended").isFalse();
        assertThat(failure[0]).as("the task failed, naming the manifest's first line").isNotNull()
                .hasMessageContaining("first line: 'not a manifest'");
    }

    /**
     * With force=false a power loss can leave the manifest at its length but all NUL bytes, its first
     * line too: a manifest not yet written, not a damaged one. It is cut and written anew, and the task
     * ships (found by a reviewer: it was cut to nothing and then refused as damaged, for good).
     */
    @Test
    void aManifestAPowerLossLeftAllZerosIsWrittenAnew() throws Exception {
        Path data = tmp.resolve("data");
        try (MessageStore store = openStore(data)) {
            fill(store, 2 * SEGMENT_BYTES + 1000, 0);
        }
        Path archive = archiveWithManifest(new byte[200]);
        SegmentShipTask task = new SegmentShipTask();
        Throwable[] failure = new Throwable[1];
        Thread t = ship(task, data, archive, failure, "force", "false");
        try {
            await(Duration.ofSeconds(10), "segment 0 shipped", () -> Files.exists(archive.resolve("commitlog/00000000000000000000")));
        } finally {
            task.close();
            t.join(5_000);
        }
        assertThat(failure[0]).as("the task kept going").isNull();
        assertThat(Files.readAllLines(archive.resolve(Manifest.FILE)).get(0)).isEqualTo(Manifest.HEADER);
    }

    /**
     * docs "Restore", step 2: a file ArchiveCheck reports BAD or SHORT is shipped again "while the
     * broker still has it (delete the archived file; the next scan ships it)" — by the running
     * task, not only after a restart (its in-memory set of shipped names used to hide it).
     */
    @Test
    void anArchivedFileDeletedByTheOperatorIsShippedAgainAtTheNextScan() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        try (MessageStore store = openStore(data)) {
            fill(store, 3 * SEGMENT_BYTES + 1000, 0);
        }
        SegmentShipTask task = new SegmentShipTask();
        task.start(new Context(config("log.dir", data.toString(), "target.dir", archive.toString(), "include.indexes", "false"),
                tmp.resolve("state")));
        assertThat(task.shipOnce()).isEqualTo(3);
        Path seg1 = archive.resolve("commitlog/00000000000001048576");
        Files.delete(seg1); // ArchiveCheck said BAD: the operator deletes it, as docs say
        task.shipOnce();
        task.close();
        assertThat(seg1).as("shipped again by the next scan").exists();
    }

    @Test
    void anotherStoresArchiveWithTheSameSegmentNamesFailsTheTask() throws Exception {
        Path archive = archiveOfStoreA();
        // a re-initialised broker (or another one): the same segment names and lengths, other bytes
        try (MessageStore b = openStore(tmp.resolve("b"))) {
            fill(b, 2 * SEGMENT_BYTES + SEGMENT_BYTES / 2, 5_000_000);
            SegmentShipTask task = startTask(tmp.resolve("b"), archive);
            org.assertj.core.api.Assertions.assertThatThrownBy(task::shipOnce).isInstanceOf(ForeignArchiveException.class)
                    .hasMessageMatching("directory .* holds a different commitlog/00000000000000000000 \\(crc [0-9a-f]{8}, source crc "
                            + "[0-9a-f]{8}\\): another store's archive\\?.*");
            task.close();
        }
    }

    @Test
    void aStoreWithAnotherSegmentSizeFailsTheTaskAndLeavesTheArchiveAsItIs() throws Exception {
        Path archive = archiveOfStoreA();
        byte[] archived = Files.readAllBytes(archive.resolve("commitlog/00000000000000000000"));
        List<String> manifest = Files.readAllLines(archive.resolve(Manifest.FILE));
        // a broker re-initialised with larger, then smaller segments: the same first segment name, another length
        for (int segmentBytes : new int[] {2 * SEGMENT_BYTES, SEGMENT_BYTES / 2}) {
            Path data = tmp.resolve("b" + segmentBytes);
            try (MessageStore b = MessageStore.open(storeConfig(data).segmentBytes(segmentBytes).build())) {
                b.createQueues(TOPIC, QUEUES);
                fill(b, 2L * segmentBytes + segmentBytes / 2, 5_000_000);
            }
            SegmentShipTask task = startTask(data, archive);
            org.assertj.core.api.Assertions.assertThatThrownBy(task::shipOnce).isInstanceOf(ForeignArchiveException.class)
                    .hasMessage("directory " + archive.toAbsolutePath().normalize() + " holds a different "
                            + "commitlog/00000000000000000000 (" + SEGMENT_BYTES + " bytes, source " + segmentBytes
                            + " bytes; segment.bytes or index.entries.per.file changed?): another store's archive? Ship into an "
                            + "archive of this store's own, or move that one away");
            task.close();
            assertThat(Files.readAllBytes(archive.resolve("commitlog/00000000000000000000"))).as("the archived segment")
                    .isEqualTo(archived);
            assertThat(archive.resolve("commitlog/00000000000000000000.part")).doesNotExist();
            assertThat(Files.readAllLines(archive.resolve(Manifest.FILE))).as("the manifest").isEqualTo(manifest);
        }
    }
}
