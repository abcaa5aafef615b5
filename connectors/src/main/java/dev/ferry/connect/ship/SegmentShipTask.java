package dev.ferry.connect.ship;

import dev.ferry.connect.ServiceTask;
import dev.ferry.connect.TaskContext;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connector type {@code segment-ship}: copies a broker's sealed commit-log segments and index
 * files ({@link SealedFiles}) to an archive directory or to a {@link SegmentReceiveTask} on
 * another host, for backups and a standby copy. Every {@code interval.ms} it scans the data
 * directory and ships, oldest first, each sealed file the target does not have yet.
 *
 * <p>The copy is zero-copy ({@link Transfer}: {@code sendfile} into a file or a socket); each
 * copy is verified by CRC32C against the source ({@link Checksums}), unless
 * {@code verify=false}. The checksums and the target's forces run on helper threads next to
 * the transfer ({@link Overlap}); the commit still waits for all of them. A file counts as shipped only once the target has it under its final
 * name and in its {@link Manifest} ({@link ArchiveDir} states the commit rule). A transfer cut
 * short (stop, crash, lost connection) resumes from the target's {@code .part} length; the
 * whole-file checksum then covers old and new bytes, and a mismatch redoes the file from 0.
 * With {@code force=false} (archive directory only) nothing is forced or fsynced, like
 * {@code cp}; the checksum and the rename-after-verify rule stay
 * ({@link ArchiveDir#ArchiveDir(java.nio.file.Path, boolean)}).
 *
 * <p>Failures: a target that cannot be reached, opened (an archive directory that cannot be
 * created yet, also at start) or written, or a receiver that does not answer
 * within {@code read.timeout.ms} or does not read within {@code write.timeout.ms}
 * ({@link SocketTarget}), is logged and retried at the next scan (the task keeps running: a
 * standby being down must not stop the broker's backups from resuming by themselves); a file
 * deleted by retention before it was shipped is skipped with a log line, its part in an archive
 * directory deleted, also when that happened while the task was not running
 * ({@link #discardOrphanedParts}); a file shipped before that is no longer in the archive
 * directory (deleted by an operator) is shipped again ({@link ShipTarget#stillHas}); a checksum mismatch
 * is retried once at once, then at the next scan. A target that
 * already holds a file of the same name and length but, with {@code verify}, another checksum
 * than the source's, or lists a file of the same name with another length, is another store's
 * archive ({@link ForeignArchiveException}): the task fails rather than ship nothing into it or
 * replace the archived file.
 *
 * <p><b>Thread safety.</b> {@link #run} on the runtime's thread for this task (plus the
 * target's helper threads, whose jobs end with each file); {@link #close} and
 * {@link #progress} from any thread (counters are atomics, the target reference volatile).
 */
public final class SegmentShipTask implements ServiceTask {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentShipTask.class);

    private final StopSignal stop = new StopSignal();
    private final AtomicLong filesShipped = new AtomicLong();
    private final AtomicLong bytesShipped = new AtomicLong();
    private final AtomicLong bytesResumed = new AtomicLong();
    private final AtomicLong filesSkipped = new AtomicLong();
    private final AtomicLong verifyFailures = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong scans = new AtomicLong();
    private final AtomicLong lagBytes = new AtomicLong();
    private final AtomicLong lagFiles = new AtomicLong();
    private final AtomicLong lastSegmentOffset = new AtomicLong(-1);
    /** For status; written by the task thread, read by anyone. */
    private volatile String lastFile = "";
    /** Set when opened (start(), or run()'s loop, null until then), read by close() on another thread to abort a socket transfer. */
    private volatile ShipTarget target;
    private ShipSettings settings;
    private String name = "?";
    /** Names the target confirmed (shipped or already there); task thread only. */
    private final Set<String> shipped = new HashSet<>();
    /** The names the last scan listed, to discard the parts of those retention deleted since; task thread only. */
    private Set<String> listed = Set.of();
    /** Whether the target's parts were looked at since it was opened ({@link #discardOrphanedParts}); task thread only. */
    private boolean partsChecked;
    private boolean warnedNoCheckpoint;
    private Clock clock;

    @Override
    public void run(TaskContext context) throws Exception {
        readSettings(context);
        try {
            while (!stop.isStopped()) {
                try {
                    if (target == null) {
                        // here, not before the loop: an archive directory that cannot be created or opened yet (a
                        // mount not there, a full disk) is a target failure like any other, retried every interval.ms
                        openTarget();
                    }
                    shipOnce();
                } catch (Manifest.DamagedException e) {
                    throw e; // for good: it takes someone to look at the manifest
                } catch (IOException | java.io.UncheckedIOException e) {
                    ShipTarget t = target;
                    if (t != null) {
                        t.abort();
                    }
                    if (!stop.isStopped()) { // closing a socket to stop is not an error
                        errors.incrementAndGet();
                        LOG.warn("{}: shipping to {} failed, will retry in {} ms: {}", name, describeTarget(),
                                settings.interval().toMillis(), e.toString());
                    }
                }
                if (stop.await(settings.interval())) {
                    break;
                }
            }
        } finally {
            ShipTarget t = target;
            if (t != null) {
                t.close();
            }
        }
    }

    /**
     * Reads and checks every setting without opening anything, so a bad configuration fails
     * before any connector starts ({@link ShipSettings} names the field).
     */
    public void configure(dev.ferry.connect.ConnectorConfig config) {
        ShipSettings.of(config);
    }

    /** Reads the settings and opens the target; separate from {@link #run} so tests can drive {@link #shipOnce} directly. */
    void start(TaskContext context) throws IOException {
        readSettings(context);
        openTarget();
    }

    private void readSettings(TaskContext context) {
        this.name = context.config().name();
        this.settings = ShipSettings.of(context.config());
        this.clock = context.clock();
        LOG.info("{}: shipping sealed files of {} to {} every {} ms (indexes: {}, verify: {}{})", name, settings.logDir(),
                describeTarget(), settings.interval().toMillis(), settings.includeIndexes(), settings.verify(),
                settings.force() ? "" : ", force: false (nothing is fsynced: durability is left to the OS's write-back)");
    }

    /** Opens the target (an archive directory: creates it and opens its manifest); the next scan then looks for orphaned parts. */
    private void openTarget() throws IOException {
        Transfer transfer = new Transfer(Transfer.DEFAULT_CHUNK_BYTES, settings.maxBytesPerSecond(), clock, stop);
        if (settings.targetDir().isPresent()) {
            target = new DirectoryTarget(settings.targetDir().get(), transfer, settings.verify(), settings.force());
        } else {
            target = new SocketTarget(settings.target().get(), settings.connectTimeout(), settings.readTimeout(),
                    settings.writeTimeout(), transfer, settings.verify(), clock);
        }
        partsChecked = false;
    }

    /** For logs, also before the target is open: "directory /backup/broker-a" or "receiver 10.0.0.7:7070". */
    private String describeTarget() {
        ShipTarget t = target;
        if (t != null) {
            return t.describe();
        }
        return settings.targetDir().map(d -> "directory " + d)
                .orElseGet(() -> "receiver " + settings.target().get().getHostString() + ":" + settings.target().get().getPort());
    }

    /**
     * One scan: ships every sealed file the target does not have, oldest first, until done or
     * stopped. Returns how many files were shipped (not counting those already there).
     */
    int shipOnce() throws IOException, InterruptedException {
        scans.incrementAndGet();
        List<ShipFile> files = SealedFiles.scan(settings.logDir(), settings.includeIndexes());
        if (files.isEmpty() && SealedFiles.readCheckpoint(settings.logDir()).isEmpty() && !warnedNoCheckpoint) {
            warnedNoCheckpoint = true;
            LOG.info("{}: {} has no valid checkpoint yet: nothing counts as sealed until the broker writes one", name,
                    settings.logDir());
        }
        Set<String> current = new HashSet<>();
        long lag = 0;
        int pending = 0;
        for (ShipFile f : files) {
            current.add(f.name());
            if (shipped.contains(f.name()) && !target.stillHas(f)) {
                // deleted from the archive since (by an operator, after ArchiveCheck found it BAD or SHORT): ship it again
                LOG.info("{}: {} is no longer in {} (deleted?): shipping it again", name, f.name(), target.describe());
                shipped.remove(f.name());
            }
            if (!shipped.contains(f.name())) {
                lag += f.length();
                pending++;
            }
        }
        shipped.retainAll(current); // forget files retention deleted
        discardOrphanedParts(files, current);
        lagBytes.set(lag);
        lagFiles.set(pending);
        int count = 0;
        for (ShipFile f : files) {
            if (stop.isStopped()) {
                break;
            }
            if (shipped.contains(f.name())) {
                continue;
            }
            ShipTarget.Outcome outcome = shipOne(f);
            if (outcome instanceof ShipTarget.Outcome.Stopped) {
                break;
            }
            if (outcome instanceof ShipTarget.Outcome.Mismatch) {
                continue; // counted and logged; the next scan tries again
            }
            if (outcome instanceof ShipTarget.Outcome.Shipped s) {
                count++;
                filesShipped.incrementAndGet();
                bytesResumed.addAndGet(s.resumedFrom());
                lastFile = f.name();
                if (f.kind() == ShipFile.Kind.SEGMENT) {
                    lastSegmentOffset.set(Long.parseLong(f.source().getFileName().toString()));
                }
                LOG.info("{}: shipped {} ({} bytes{}{})", name, f.name(), f.length(),
                        s.resumedFrom() > 0 ? ", resumed at " + s.resumedFrom() : "",
                        s.crc().isPresent() ? ", crc32c " + Checksums.hex(s.crc().getAsInt()) : ", unverified");
            }
            // shipped now, or already there: either way the target has it, or retention took it
            shipped.add(f.name());
            lagBytes.addAndGet(-f.length());
            lagFiles.decrementAndGet();
        }
        return count;
    }

    /**
     * Deletes the parts of files retention deleted before they were shipped, which no scan lists
     * any more (a part is otherwise deleted only when the file is found gone as it is about to be
     * shipped): those of the files the last scan listed and this one does not, and, at the first
     * scan after the target was opened, every part whose source is not in the data directory (left
     * by a shipper that was stopped, crashed or failing while retention deleted its file). Skipped
     * while the scan lists nothing (no checkpoint, or the data directory not there): every part
     * would look orphaned then.
     */
    private void discardOrphanedParts(List<ShipFile> files, Set<String> current) throws IOException {
        if (files.isEmpty()) {
            return;
        }
        for (String gone : listed) {
            if (!current.contains(gone)) {
                target.discard(gone);
            }
        }
        listed = current;
        if (!partsChecked) {
            for (String part : target.partNames()) {
                if (!current.contains(part) && !java.nio.file.Files.exists(settings.logDir().resolve(part))) {
                    LOG.info("{}: deleting {}{} in {}: its file is no longer in {} (retention)", name, part, ArchiveDir.PART_SUFFIX,
                            target.describe(), settings.logDir());
                    target.discard(part);
                }
            }
            partsChecked = true;
        }
    }

    /** Ships one file, retrying once at once on a checksum mismatch; a deleted source is skipped. */
    private ShipTarget.Outcome shipOne(ShipFile f) throws IOException, InterruptedException {
        FileChannel source;
        try {
            source = FileChannel.open(f.source(), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            LOG.info("{}: {} was deleted (retention) before it was shipped: skipped", name, f.name());
            filesSkipped.incrementAndGet();
            target.discard(f.name());
            return new ShipTarget.Outcome.AlreadyThere();
        }
        try (source) {
            for (int attempt = 1; ; attempt++) {
                ShipTarget.Outcome o = target.ship(f, source, bytesShipped::addAndGet);
                if (!(o instanceof ShipTarget.Outcome.Mismatch m)) {
                    return o;
                }
                verifyFailures.incrementAndGet();
                if (attempt == 2) {
                    LOG.error("{}: {}: checksum of the copy is {} (expected: {} as the source); will retry at the next scan",
                            name, f.name(), Checksums.hex(m.copy()), Checksums.hex(m.source()));
                    return o;
                }
                LOG.warn("{}: {}: checksum of the copy is {} (expected: {}); shipping it again from byte 0", name, f.name(),
                        Checksums.hex(m.copy()), Checksums.hex(m.source()));
            }
        }
    }

    /**
     * Counters for the status report: {@code filesShipped}, {@code bytesShipped} (bytes sent in
     * this run, resends included), {@code bytesResumed} (bytes not sent again thanks to a
     * resume), {@code filesSkipped} (deleted by retention first), {@code verifyFailures},
     * {@code errors}, {@code scans}, {@code lagBytes}/{@code lagFiles} (sealed, not yet
     * shipped, as of the last scan) and {@code lastSegmentOffset} (base offset of the last
     * segment shipped, -1 for none).
     */
    @Override
    public Map<String, Long> progress() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("filesShipped", filesShipped.get());
        m.put("bytesShipped", bytesShipped.get());
        m.put("bytesResumed", bytesResumed.get());
        m.put("filesSkipped", filesSkipped.get());
        m.put("verifyFailures", verifyFailures.get());
        m.put("errors", errors.get());
        m.put("scans", scans.get());
        m.put("lagBytes", lagBytes.get());
        m.put("lagFiles", lagFiles.get());
        m.put("lastSegmentOffset", lastSegmentOffset.get());
        return m;
    }

    /** The relative path of the last file shipped, "" before the first. */
    public String lastFile() {
        return lastFile;
    }

    /** Stops: the current transfer ends within one chunk (a socket is closed at once); {@link #run} then returns. */
    @Override
    public void close() {
        stop.stop();
        ShipTarget t = target;
        if (t != null) {
            t.abort();
        }
    }
}
