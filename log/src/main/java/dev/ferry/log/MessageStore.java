package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ferry's storage engine: one commit log shared by every topic, plus an offset index per
 * (topic, queue) and a key index. This class wires the parts together (the composition root)
 * and is the engine's public face; each part lives in its own class.
 *
 * <pre>
 * DIR/commitlog/NNNNNNNNNNNNNNNNNNNN        segments ({@link RecordLayout})
 * DIR/index/TOPIC/QUEUE/NNNNNNNNNNNNNNNNNNNN offset index files ({@link OffsetIndex})
 * DIR/keyindex/NNNNNNNNNNNNNNNNNNNN         key index files ({@link KeyIndex})
 * DIR/staging                               staged writes: the ring appends go into first ({@link StagingRing})
 * DIR/checkpoint                            {@link Checkpoint}
 * DIR/queue-floors                          first offsets of topics created again ({@link QueueFloors})
 * DIR/abort                                 exists while the store is open: found at open = last run crashed
 * DIR/lock                                  held (file lock) while open, so two processes never share a store
 * </pre>
 *
 * <p><b>Durability contract.</b> {@link #append} returns once the record is in the page cache
 * ({@link FlushMode#ASYNC}: with staged writes, the page cache of the staging ring) or once an
 * fsync covering it has returned ({@link FlushMode#SYNC}). A record that was returned for under
 * SYNC survives a machine crash; under ASYNC it survives a process crash. A record is readable when
 * {@code append} returns, not before: its queue offset is assigned by the appender, its
 * offset-index entry written by the {@link IndexDispatcher} a pass later, its bytes copied from the
 * staging ring into the segment files by a commit, and a read waits for (or runs) what it needs of
 * both.
 *
 * <p><b>Thread safety.</b> Safe for any number of threads. Appends are serialized by one lock
 * (they are a few hundred nanoseconds of copying); reads take no lock.
 */
public final class MessageStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MessageStore.class);
    /** The last periodic checkpoint failed for a full disk (logged once). Only the checkpoint thread reads and writes it. */
    private boolean checkpointDiskFull;
    /**
     * When an index reservation last logged a full disk (0: never): at most once a minute, as each
     * queue's index runs out on its own, and one append's success says nothing of the others'.
     * Under the append lock.
     */
    private long indexSpaceFullLoggedNanos;
    private static final Pattern TOPIC_NAME = Pattern.compile("[A-Za-z0-9._%|-]+");

    private final LogConfig config;
    private final FileChannel lockChannel;
    private final FileLock fileLock;
    private final CommitLog log;
    private final QueueTable queues;
    /**
     * Where queues of topics created again start: every read takes its first offset from {@link #firstOffset}.
     * (Queue offsets; unrelated to the retention floor, a commit-log position.)
     */
    private final QueueFloors floors;
    private final KeyIndex keys;
    private final Flusher flusher;
    private final IndexDispatcher dispatcher;
    private final Retention retention;
    private final ScheduledExecutorService scheduler;
    private final RecoveryReport recoveryReport;
    private final ReentrantLock appendLock = new ReentrantLock();
    /** The store host as written into records: 8 bytes (IPv4) or 20 (IPv6). */
    private final byte[] storeHost;
    private long lastStoreTimestamp;
    /** Writes the appender's records; guarded by the append lock. */
    private final RecordWriter recordWriter;
    /** Set once by close(); volatile so every thread's next call sees it. */
    private volatile boolean closed;

    private MessageStore(LogConfig config, FileChannel lockChannel, FileLock fileLock, CommitLog log, QueueTable queues,
                         QueueFloors floors, KeyIndex keys, RecoveryReport recoveryReport, long lastStoreTimestamp,
                         LongSupplier retentionFloor, Supplier<String> floorHolder) {
        this.config = config;
        this.lockChannel = lockChannel;
        this.fileLock = fileLock;
        this.log = log;
        this.queues = queues;
        this.floors = floors;
        this.keys = keys;
        this.recoveryReport = recoveryReport;
        this.lastStoreTimestamp = lastStoreTimestamp;
        boolean v4 = config.storeHost().getAddress() == null || config.storeHost().getAddress() instanceof java.net.Inet4Address;
        this.storeHost = RecordCodec.hostBytes(config.storeHost(), v4 ? 0 : RecordLayout.FLAG_IPV6_HOSTS);
        this.recordWriter = new RecordWriter(storeHost);
        this.flusher = new Flusher(config, log);
        this.dispatcher = new IndexDispatcher(log.writtenOffset(), config.maxBatchMessages(), keys);
        this.retention = new Retention(config, log, queues, keys, appendLock, dispatcher::position, () -> closed, retentionFloor,
                floorHolder);
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ferry-checkpoint-retention");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::runRetentionQuietly, config.retentionCheckIntervalMs(),
                config.retentionCheckIntervalMs(), TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::checkpointQuietly, config.checkpointIntervalMs(), config.checkpointIntervalMs(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Opens (and recovers, if needed) the store in {@code config.dir()}, creating it if missing.
     * If opening fails after the parts were built (a full disk during a rebuild of the indexes, say), they are
     * closed again, the commit log's filler thread stopped and the lock released, so the open can be
     * retried in the same process once the cause is gone.
     */
    public static MessageStore open(LogConfig config) {
        return open(config, () -> Long.MAX_VALUE, "nothing");
    }

    /**
     * As {@link #open(LogConfig)}, with a retention floor: {@code retentionFloor} returns the lowest
     * commit-log position that the store's user still needs ({@link Long#MAX_VALUE}: none), and
     * retention deletes only segments wholly below it, whatever {@code retentionMs} and {@code
     * retentionBytes} ask. The broker's delayed messages need one: their schedule records must stay
     * until they are delivered, which may be after the time limit. While the floor holds back
     * segments the limits ask to delete, retention logs one warning naming them and {@code
     * floorHolder} (what needs the floor, as a noun phrase), and one line when it no longer does.
     *
     * <p>The floor is asked by retention (on its thread, or {@link #runRetention}'s caller's), under
     * the append lock, once a pass that would delete something: no append runs meanwhile, so a floor
     * computed from a queue's end holds for the pass. It may read the store, never append to it; an
     * exception fails the pass, which then deletes nothing. Retention may run as soon as the store is open, so the floor must be valid
     * from then on (0 keeps everything, for a user that finds its floor only once it has loaded).
     */
    public static MessageStore open(LogConfig config, LongSupplier retentionFloor, String floorHolder) {
        return open(config, retentionFloor, () -> floorHolder);
    }

    /**
     * Why the store's folder or its lock file could not be made or opened, for an operator: a file
     * system exception's message is often just the path (the folder is a regular file, a parent is
     * not writable), which says nothing the path before it did not.
     */
    static String openFailure(Path dir, IOException e) {
        if (e instanceof java.nio.file.FileAlreadyExistsException f) {
            return dir.toString().equals(f.getFile()) ? "it exists and is not a directory" : f.getFile() + " exists and is not a directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException f) {
            return "permission denied on " + f.getFile();
        }
        if (e instanceof java.nio.file.NoSuchFileException f) {
            return "no such file or directory: " + f.getFile();
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getFile() == null ? f.getReason() : f.getFile() + ": " + f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * As {@link #open(LogConfig, LongSupplier, String)}, with what holds the floor asked each time
     * the warning is logged: a user whose floor is 0 while it loads says so then, not what holds it
     * once loaded (the broker: its delayed messages).
     */
    public static MessageStore open(LogConfig config, LongSupplier retentionFloor, Supplier<String> floorHolder) {
        Path dir = config.dir();
        FileChannel lockChannel;
        FileLock fileLock;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                FileNames.fsyncDirectory(dir.toAbsolutePath().getParent()); // else a power loss can take the new store's folder away
            }
            lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                fileLock = lockChannel.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                lockChannel.close();
                throw new LogException(dir + " is already open in this process (lock held on " + dir.resolve("lock") + ")");
            }
            if (fileLock == null) {
                lockChannel.close();
                throw new LogException(dir + " is in use by another process (lock held on " + dir.resolve("lock") + ")");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open store " + dir + ": " + openFailure(dir, e), e);
        }
        CommitLog log = null;
        QueueTable queues = null;
        KeyIndex keys = null;
        try {
            Path abort = dir.resolve("abort");
            boolean crashed = Files.exists(abort);
            // the marker goes down before recovery starts: an open that is killed or fails halfway (a key
            // index rebuilt after the operator deleted it, cut short inside an entry) is a crash to the next
            if (!crashed) {
                try {
                    Files.createFile(abort);
                    FileNames.fsyncDirectory(dir);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot create " + abort + ": " + e.getMessage(), e);
                }
            }
            log = new CommitLog(dir.resolve("commitlog"), config.segmentBytes(), config.preTouch(), config.fillAheadBytes(),
                    config.flushMode() == FlushMode.SYNC, config.staged() ? config.stagingRingBytes() : 0, config.commitIntervalMs());
            Optional<Checkpoint> checkpoint = Checkpoint.read(dir);
            queues = new QueueTable(dir.resolve("index"), indexEntriesPerFile(dir, config.indexEntriesPerFile()), checkpoint);
            keys = new KeyIndex(dir.resolve("keyindex"), config.keyIndexSlots(), config.keyIndexEntries());
            if (crashed) {
                keys.dropUncounted();
            }
            long[] lastTs = new long[1];
            // forget entries of deleted segments first: recovery would take them for damage and
            // drop them, restarting a queue that retention emptied at its first index file's base
            // (an index with a file missing or not full before a later one waits for the rebuild to write it)
            for (OffsetIndex q : queues.all()) {
                if (q.damageAtOpen() == null) {
                    q.trimBefore(log.minOffset());
                }
            }
            String missing = checkpoint.isPresent() ? checkpoint.get().missingIndexData(queues, keys) : queues.damageAtOpen();
            if (missing == null) {
                missing = keys.damageAtOpen();
            }
            if (missing == null && checkpoint.isPresent() && checkpoint.get().rebuilding()) {
                missing = "a rebuild of the indexes was cut short";
            }
            if (missing != null && checkpoint.isPresent()) {
                // a rebuild cut short by any crash must run again: the flag says so to the next open
                checkpoint.get().rebuildingOne().write(dir);
            }
            // Recovery.run closes the ring, whatever happens
            RecoveryReport report = new Recovery(log, queues, keys, StagingRing.openForRecovery(dir), missing)
                    .run(crashed, checkpoint, lastTs);
            for (OffsetIndex q : queues.all()) {
                q.trimBefore(log.minOffset());
            }
            keys.recovered(log.writtenOffset());
            if (missing != null && checkpoint.isPresent()) {
                continueShortQueues(checkpoint.get(), log, queues);
            }
            try {
                writeCheckpoint(config, log, queues, keys, log.writtenOffset()); // recovery indexed everything
            } catch (UncheckedIOException e) {
                // on a full disk the last checkpoint may stay, if it is still true of the indexes: recovery dropped no
                // entry it counts (else the next open would take them for lost and rebuild) and no rebuild ran (its
                // flag stays set until a checkpoint clears it); a crash before the next one recovers from it again.
                // (Any I/O error counts as a full disk when less than 1 MiB is free: at worst the new checkpoint was put in
                // place and only its folder's fsync failed, which is as good.)
                boolean lastStillTrue = missing == null
                        && (checkpoint.isEmpty() || checkpoint.get().missingIndexData(queues, keys) == null);
                if (!lastStillTrue || !OutOfSpace.is(e.getCause(), dir, 0)) {
                    throw e;
                }
                LOG.error("cannot write the checkpoint at open ({}): the disk is full; opening with the last one, a new one"
                        + " is retried in the background", e.getMessage());
            }
            QueueFloors floors = QueueFloors.read(dir);
            dropPassedFloors(floors, queues); // before any append: a floor lowered here must be on disk first
            return new MessageStore(config, lockChannel, fileLock, log, queues, floors, keys, report, lastTs[0], retentionFloor,
                    floorHolder);
        } catch (RuntimeException | Error e) {
            RuntimeException failure = releaseParts(dir, log, queues, true, keys, lockChannel, fileLock, null);
            if (failure != null) {
                e.addSuppressed(failure);
            }
            throw e;
        }
    }

    /** {@link QueueFloors#dropPassed} with the queues' first indexed offsets and ends. */
    private static void dropPassedFloors(QueueFloors floors, QueueTable queues) {
        boolean lowered = floors.dropPassed((topic, q) -> {
            OffsetIndex index = queues.get(topic, q);
            return index == null ? -1 : index.minOffset();
        }, (topic, q) -> {
            OffsetIndex index = queues.get(topic, q);
            return index == null ? 0 : index.nextOffset();
        });
        if (lowered) {
            LOG.warn("queue floors above their queue's end (the end was lost in a machine crash) were lowered to it: {}", floors.all());
        }
    }

    /**
     * After a rebuild: a queue whose index still ends below what the checkpoint recorded had its
     * records deleted (by retention: it has no entry left, and the log no longer starts at 0) or
     * lost (past the log's end, in a machine crash). One without entries continues at the recorded
     * end; any other continues where its index ends, which reuses offsets, and is named in an error.
     */
    private static void continueShortQueues(Checkpoint checkpoint, CommitLog log, QueueTable queues) {
        for (Checkpoint.ShortQueue q : checkpoint.shortQueues(queues)) {
            OffsetIndex index = queues.get(q.topic(), q.queueId());
            if ((index == null || index.indexedOffset() == index.minOffset()) && log.minOffset() > 0) {
                queues.getOrCreate(q.topic(), q.queueId()).continueAt(q.recordedEnd(), log.minOffset());
                LOG.warn("queue {} after the rebuild: the log holds none of its records (retention deleted them, or the newest were"
                        + " lost past the log's end); its offsets continue at {}", q, q.recordedEnd());
            } else {
                LOG.error("queue {} after the rebuild: the records between are gone (lost in a machine crash?); its next"
                        + " messages get offsets again from where its index now ends", q);
            }
        }
    }

    public LogConfig config() {
        return config;
    }

    /** What recovery found when this store was opened. */
    public RecoveryReport recoveryReport() {
        return recoveryReport;
    }

    /**
     * Appends one message and waits until it is durable per the flush mode (see the class
     * comment). Throws {@link InvalidMessageException} before writing anything if the message
     * breaks a limit.
     */
    public AppendResult append(LogMessage message) {
        if (config.flushMode() == FlushMode.ASYNC) {
            return appendToLog(message);
        }
        try {
            return appendAsync(message).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /**
     * Appends one message; the future completes when it is durable per the flush mode (at once
     * under ASYNC). Limits are checked before anything is written.
     */
    public CompletableFuture<AppendResult> appendAsync(LogMessage m) {
        AppendResult result = appendToLog(m);
        if (config.flushMode() == FlushMode.ASYNC) {
            return CompletableFuture.completedFuture(result);
        }
        return durable(result);
    }

    /**
     * Completes with {@code result} once it is on disk; fails with {@link FlushNotConfirmedException}
     * (the record stays written) if the fsync fails or has not come back after {@code syncFlushTimeoutMs}.
     */
    private CompletableFuture<AppendResult> durable(AppendResult result) {
        return durable(List.of(result)).thenApply(r -> result);
    }

    private CompletableFuture<List<AppendResult>> durable(List<AppendResult> results) {
        AppendResult last = results.get(results.size() - 1);
        long end = last.physicalOffset() + last.size();
        return flusher.whenFlushed(end)
                .orTimeout(config.syncFlushTimeoutMs(), TimeUnit.MILLISECONDS)
                .handle((v, t) -> {
                    if (t == null) {
                        return results;
                    }
                    Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                    if (cause instanceof TimeoutException) {
                        throw new FlushNotConfirmedException("flush of " + last.messageId() + " not confirmed within "
                                + config.syncFlushTimeoutMs() + " ms (the message is written)", results, true, null);
                    }
                    throw new FlushNotConfirmedException("flush of " + last.messageId() + " failed (the message is written): "
                            + cause.getMessage(), results, false, cause);
                });
    }

    /**
     * Appends messages as one contiguous run, in order, under one hold of the append lock, and
     * waits (once) until the last is durable per the flush mode. Every message is checked
     * first: if one breaks a limit (each message's, or the batch's {@code maxBatchMessages} /
     * {@code maxBatchBytes}), {@link InvalidMessageException} names it and nothing is written.
     *
     * <p><b>All or nothing.</b> Every record but the last carries
     * {@link RecordLayout#FLAG_BATCH_CONTINUES}, so recovery drops a batch cut short by a crash
     * whole. Readers see none of a batch until all of it is written: the log's end is published,
     * and the batch's index slots handed to the dispatcher, only after its last record.
     */
    public CompletableFuture<List<AppendResult>> appendBatchAsync(List<LogMessage> batch) {
        if (batch.size() > config.maxBatchMessages()) {
            throw InvalidMessageException.overLimit("batch: " + batch.size() + " messages (expected: <= maxBatchMessages "
                    + config.maxBatchMessages() + ")");
        }
        int[] lengths = new int[batch.size()];
        int[] hostFlags = new int[batch.size()];
        long total = 0;
        for (int i = 0; i < batch.size(); i++) {
            LogMessage m = batch.get(i);
            try {
                validate(m);
                if (queues.get(m.topic, m.queueId) == null) {
                    validateTopic(m);
                }
                hostFlags[i] = RecordCodec.hostFlags(m, storeHost);
                lengths[i] = checkedLength(m, hostFlags[i]);
            } catch (InvalidMessageException e) {
                throw InvalidMessageException.prefixed("batch message " + i + ": ", e);
            }
            total += lengths[i];
        }
        if (batch.size() > 1 && total > Math.min(config.maxBatchBytes(), config.segmentBytes())) {
            // within one segment's size a batch crosses at most one segment end, and the space of all
            // its records is then prepared before the first is written (see CommitLog.reserve)
            throw InvalidMessageException.overLimit("batch: " + total + " bytes stored (expected: <= maxBatchBytes " + config.maxBatchBytes()
                    + " and <= segmentBytes " + config.segmentBytes() + ")");
        }
        long keyCount = batch.stream().mapToLong(m -> m.keys.size()).sum();
        if (keyCount > config.keyIndexEntries()) {
            // the key index reserves a batch's entries in one file before the first record is written
            throw InvalidMessageException.overLimit("batch: " + keyCount + " keys (expected: <= keyIndexEntries " + config.keyIndexEntries() + ")");
        }
        List<AppendResult> results;
        appendLock.lock();
        try {
            results = batch.size() == 1 ? List.of(writeLocked(batch.get(0), lengths[0], hostFlags[0]))
                    : writeBatchLocked(batch, lengths, hostFlags);
        } finally {
            appendLock.unlock();
        }
        if (config.flushMode() == FlushMode.ASYNC || results.isEmpty()) {
            return CompletableFuture.completedFuture(results);
        }
        return durable(results);
    }

    /**
     * Writes a batch: first reserves the space of every index entry (a full disk fails the batch
     * here, with nothing written), then writes every record (all but the last flagged "batch
     * continues"), then claims their key entries and publishes the new end for the dispatcher, which
     * writes the index entries; the caller holds the append lock.
     */
    private List<AppendResult> writeBatchLocked(List<LogMessage> batch, int[] lengths, int[] hostFlags) {
        if (closed) {
            throw closedError();
        }
        log.checkWritable();
        int n = batch.size();
        OffsetIndex[] indexes = new OffsetIndex[n];
        long[] queueOffsets = new long[n];
        java.util.IdentityHashMap<OffsetIndex, long[]> next = new java.util.IdentityHashMap<>(2);
        int keyCount = 0;
        for (int i = 0; i < n; i++) {
            LogMessage m = batch.get(i);
            LogMessage before = i == 0 ? null : batch.get(i - 1);
            OffsetIndex q = before != null && before.topic.equals(m.topic) && before.queueId == m.queueId
                    ? indexes[i - 1] // a producer's batch is one queue's: its topic is one String, equals at its first test
                    : queues.get(m.topic, m.queueId);
            if (q == null) {
                validateTopic(m);
                q = queues.getOrCreate(m.topic, m.queueId);
            }
            indexes[i] = q;
            long[] nextOffset = next.computeIfAbsent(q, k -> new long[] {k.nextOffset()});
            queueOffsets[i] = nextOffset[0]++;
            reserveIndex(q, queueOffsets[i]);
            keyCount += m.keys.size();
        }
        reserveKeys(keyCount);
        dispatcher.reserveSlots(n);
        log.reserve(lengths, n);
        List<AppendResult> results = new ArrayList<>(n);
        long end = -1;
        // one store time for the whole batch, as for one append: it is written at once (a clock read per
        // record was a tenth of a small record's append)
        long storeTimestamp = Math.max(config.clock().millis(), lastStoreTimestamp);
        lastStoreTimestamp = storeTimestamp;
        for (int i = 0; i < n; i++) {
            LogMessage m = batch.get(i);
            long queueOffset = queueOffsets[i];
            Segment s = log.segmentForAppend(lengths[i]);
            int pos = s.writePosition;
            long phys = s.baseOffset + pos;
            int batchFlags = i < n - 1 ? RecordLayout.FLAG_BATCH_CONTINUES : 0;
            java.nio.ByteBuffer target = log.writeBuffer(s, pos, lengths[i]);
            recordWriter.write(target, pos - log.writeBase(), m, lengths[i], hostFlags[i], batchFlags, queueOffset, phys, storeTimestamp);
            log.wrote(s, pos, lengths[i]);
            s.writePosition = pos + lengths[i];
            results.add(new AppendResult(m.topic, m.queueId, queueOffset, phys, lengths[i], storeTimestamp));
            end = phys + lengths[i];
        }
        // from here on nothing can fail: offsets are assigned and slots handed over only for a batch that is all written
        keys.claim(keyCount);
        for (int i = 0; i < n; i++) {
            AppendResult r = results.get(i);
            indexes[i].assigned(r.queueOffset() + 1);
            dispatcher.add(indexes[i], r.queueOffset(), r.physicalOffset(), r.size(), batch.get(i), storeTimestamp);
        }
        log.publish(end);
        dispatcher.publish(); // the dispatcher indexes the batch from here
        return results;
    }

    /**
     * Before a record is written: its offset-index entry will not need disk space. A full disk (or
     * another I/O error) fails the append here, with nothing written.
     */
    private void reserveIndex(OffsetIndex q, long queueOffset) {
        try {
            q.reserve(queueOffset);
        } catch (UncheckedIOException e) {
            throw indexSpaceFailure(e);
        }
    }

    /**
     * An index reservation's failure as the append's: a full disk is a {@link DiskFullException},
     * logged here at most once a minute (a refused append is not logged by the broker), anything
     * else a {@link LogException}. Under the append lock.
     */
    private LogException indexSpaceFailure(UncheckedIOException e) {
        IOException full = diskFull(e);
        if (full == null) {
            return new LogException(e.getMessage(), e);
        }
        long now = System.nanoTime();
        if (indexSpaceFullLoggedNanos == 0 || now - indexSpaceFullLoggedNanos > TimeUnit.MINUTES.toNanos(1)) {
            indexSpaceFullLoggedNanos = now == 0 ? 1 : now;
            LOG.error("{}: the disk is full; appends that need index space fail until space is freed (said at most once a minute)",
                    e.getMessage());
        }
        return new DiskFullException("cannot append: the disk is full (" + e.getMessage() + "); appends resume once space is freed", e);
    }

    /** As {@link #reserveIndex}, for {@code keyCount} key-index entries. */
    private void reserveKeys(int keyCount) {
        if (keyCount == 0) {
            return;
        }
        try {
            keys.reserve(keyCount, log.writtenOffset(), lastStoreTimestamp, dispatcher::awaitAll);
        } catch (UncheckedIOException e) {
            throw indexSpaceFailure(e);
        }
    }

    private int checkedLength(LogMessage m, int hostFlags) {
        int length = RecordCodec.recordSize(m, hostFlags);
        if (length > config.segmentBytes()) {
            throw InvalidMessageException.overLimit("record: " + length + " bytes (expected: <= segmentBytes " + config.segmentBytes() + ")");
        }
        return length;
    }

    /** Writes the record; durability is the caller's business. */
    private AppendResult appendToLog(LogMessage m) {
        validate(m);
        int hostFlags = RecordCodec.hostFlags(m, storeHost);
        int length = checkedLength(m, hostFlags);
        appendLock.lock();
        try {
            return writeLocked(m, length, hostFlags);
        } finally {
            appendLock.unlock();
        }
    }

    /** Writes one record (its index entries are the dispatcher's); the caller holds the append lock. */
    private AppendResult writeLocked(LogMessage m, int length, int hostFlags) {
        if (closed) {
            throw closedError();
        }
        log.checkWritable();
        OffsetIndex q = queues.get(m.topic, m.queueId);
        if (q == null) {
            validateTopic(m);
            q = queues.getOrCreate(m.topic, m.queueId);
        }
        long queueOffset = q.nextOffset();
        reserveIndex(q, queueOffset);
        reserveKeys(m.keys.size());
        dispatcher.reserveSlots(1);
        long storeTimestamp = Math.max(config.clock().millis(), lastStoreTimestamp);
        lastStoreTimestamp = storeTimestamp;
        Segment s = log.segmentForAppend(length);
        int pos = s.writePosition;
        long phys = s.baseOffset + pos;
        java.nio.ByteBuffer target = log.writeBuffer(s, pos, length);
        recordWriter.write(target, pos - log.writeBase(), m, length, hostFlags, 0, queueOffset, phys, storeTimestamp);
        log.wrote(s, pos, length);
        s.writePosition = pos + length;
        // from here on nothing can fail: the offset is assigned and the slot handed over only for a written record
        keys.claim(m.keys.size());
        q.assigned(queueOffset + 1);
        dispatcher.add(q, queueOffset, phys, length, m, storeTimestamp);
        log.publish(phys + length);
        dispatcher.publish(); // the dispatcher writes the offset-index entry from here
        return new AppendResult(m.topic, m.queueId, queueOffset, phys, length, storeTimestamp);
    }

    /**
     * Creates the offset indexes of queues 0..{@code count}-1 of {@code topic} now (a broker
     * does this when a topic is created), so first appends do not pay for creating files.
     *
     * <p>Only the queues' table entries are made under the append lock; their folders and first
     * index files are created after it is released. Creating 1,000 queues' files took up to 2.6 s
     * on the build VM (ext4 allocates inodes slowly after many deletions), and appends to every
     * other topic waited that long while the lock was held. An append to one of the new queues
     * meanwhile creates its file itself, or finds it made (both under the index's monitor).
     *
     * @throws LogException if the store is closed, before or during the creation (queues not
     *                      reached by then have no files; their first appends would make them)
     */
    public void createQueues(String topic, int count) {
        validateTopic(LogMessage.builder(topic, 0, new byte[0]).build());
        if (count < 1 || count > config.maxQueuesPerTopic()) {
            throw new InvalidMessageException("queues: " + count + " (expected: 1.." + config.maxQueuesPerTopic() + ")");
        }
        OffsetIndex[] created = new OffsetIndex[count];
        appendLock.lock();
        try {
            if (closed) {
                throw closedError();
            }
            for (int q = 0; q < count; q++) {
                created[q] = queues.getOrCreate(topic, q);
            }
        } finally {
            appendLock.unlock();
        }
        for (OffsetIndex q : created) {
            q.prepare(); // throws if a close let go of the index meanwhile
        }
    }

    /** Checks the topic name; only needed when a queue is first written (names of existing queues passed). */
    private void validateTopic(LogMessage m) {
        if (m.topicBytes.length == 0 || m.topicBytes.length > config.maxTopicBytes() || !TOPIC_NAME.matcher(m.topic).matches()
                || m.topic.equals(".") || m.topic.equals("..")) {
            throw new InvalidMessageException("topic: '" + (m.topic.length() > 64 ? m.topic.substring(0, 64) + "..." : m.topic)
                    + "' (" + m.topicBytes.length + " bytes) (expected: 1.." + config.maxTopicBytes()
                    + " characters of [A-Za-z0-9._%|-], not . or ..)");
        }
    }

    private void validate(LogMessage m) {
        if (m.queueId < 0 || m.queueId >= config.maxQueuesPerTopic()) {
            throw new InvalidMessageException("queueId: " + m.queueId + " (expected: 0.." + (config.maxQueuesPerTopic() - 1) + ")");
        }
        // the user's limits: the broker's internal properties are not counted (LogMessage.Builder.internalProperty)
        int userProperties = m.propertyCount - m.internalPropertyCount;
        if (userProperties > config.maxProperties()) {
            throw InvalidMessageException.overLimit("properties: " + userProperties + " (expected: <= " + config.maxProperties()
                    + ", tags and keys included)");
        }
        int userBytes = m.encodedProperties.length - m.internalPropertyBytes;
        if (userBytes > config.maxPropertiesBytes()) {
            throw InvalidMessageException.overLimit("properties: " + userBytes + " bytes encoded (expected: <= "
                    + config.maxPropertiesBytes() + ")");
        }
        if (m.keys.size() > config.keyIndexEntries()) {
            throw InvalidMessageException.overLimit("keys: " + m.keys.size() + " (expected: <= keyIndexEntries " + config.keyIndexEntries() + ")");
        }
        if (m.bodyLength > config.maxBodyBytes()) {
            throw InvalidMessageException.overLimit("body: " + m.bodyLength + " bytes (expected: <= " + config.maxBodyBytes() + ")");
        }
    }

    /** How long one read runs its property filter before it answers with the entries examined so far. */
    static final long FILTER_BUDGET_NANOS = 10_000_000;

    /** Reads up to {@code maxMessages} / about {@code maxBytes} (at least one message) from {@code offset}. */
    public ReadResult read(String topic, int queueId, long offset, int maxMessages, int maxBytes) {
        return read(topic, queueId, offset, maxMessages, maxBytes, null);
    }

    /**
     * As {@link #read(String, int, long, int, int)}, skipping entries whose tag hash fails
     * {@code tagFilter} (confirm a match against the stored tag: hashes can collide). Skipped
     * entries still advance {@link ReadResult#nextOffset()}.
     */
    public ReadResult read(String topic, int queueId, long offset, int maxMessages, int maxBytes, LongPredicate tagFilter) {
        return read(topic, queueId, offset, maxMessages, maxBytes, tagFilter, null);
    }

    /**
     * As {@link #read(String, int, long, int, int, LongPredicate)}, and an entry whose tag hash
     * passes is kept only if {@code propertyFilter} (null = all) accepts the record's properties,
     * decoded from the mapped record (tags as {@link LogMessage#TAGS}, keys as
     * {@link LogMessage#KEYS}): this is where a tag match is confirmed exactly and where SQL
     * filters run. The returned regions hold only accepted records; rejected ones still advance
     * {@link ReadResult#nextOffset()}. At most about 1,024 entries are examined per read when
     * filtering, and the property filter runs for at most {@value #FILTER_BUDGET_NANOS} ns (past
     * that the read ends after the entry under test), so a read may return no message and a
     * {@code nextOffset} past the start. The budget bounds what a client's expression can cost
     * the thread that reads for it: an event loop, or the thread whose append wakes a long poll.
     */
    public ReadResult read(String topic, int queueId, long offset, int maxMessages, int maxBytes, LongPredicate tagFilter,
                           Predicate<Map<String, String>> propertyFilter) {
        OffsetIndex q = queues.get(topic, queueId);
        if (q == null) {
            if (offset != 0) {
                throw new OffsetOutOfRangeException(topic, queueId, offset, 0, 0);
            }
            return new ReadResult(0, 0, 0, new long[0], new long[0], new int[0], 0, List.of());
        }
        long assigned = q.nextOffset();
        if (offset < firstOffset(q) || offset > assigned) {
            throw outOfRange(q, offset);
        }
        int want = (int) Math.min(Math.max(maxMessages, 1), assigned - offset);
        if (want > 0) {
            // appended, maybe not indexed yet: waits a pass of the dispatcher at most
            dispatcher.awaitIndexed(q, offset + want - 1);
        }
        long next = want > 0 ? q.indexedOffset() : offset; // at the end: the dispatcher may not have caught up, nothing to read anyway
        int scan = tagFilter == null && propertyFilter == null ? want : (int) Math.min(next - offset, Math.max(want, 1024));
        long[] phys = new long[scan];
        int[] sizes = new int[scan];
        long[] tags = new long[scan];
        int n = readEntries(q, topic, queueId, offset, scan, phys, sizes, tags);
        if (n > 0) {
            log.ensureWritten(phys[n - 1] + sizes[n - 1]); // staged writes: the records must be in the segment files
        }
        long[] outOffsets = new long[Math.min(n, want)];
        long[] outPhys = new long[outOffsets.length];
        int[] outSizes = new int[outOffsets.length];
        List<ReadResult.Region> regions = new ArrayList<>();
        Segment seg = null;
        long regionStart = -1;
        long regionEnd = -1;
        int count = 0;
        long bytes = 0;
        long nextOffset = offset;
        long filterStart = propertyFilter == null ? 0 : System.nanoTime();
        try {
            for (int i = 0; i < n && count < want; i++) {
                if (tagFilter != null && !tagFilter.test(tags[i])) {
                    nextOffset = offset + i + 1;
                    continue;
                }
                if (propertyFilter != null) {
                    if (i > 0 && System.nanoTime() - filterStart > FILTER_BUDGET_NANOS) {
                        break; // the entries before i are answered for: the next read goes on from there
                    }
                    if (!propertyFilter.test(propertiesAt(phys[i]))) {
                        nextOffset = offset + i + 1;
                        continue;
                    }
                }
                if (count > 0 && bytes + sizes[i] > maxBytes) {
                    break;
                }
                long p = phys[i];
                if (seg == null || p < seg.baseOffset || p >= seg.endOffset()) {
                    if (regionStart >= 0) {
                        regions.add(new ReadResult.Region(seg, regionStart, (int) (regionEnd - regionStart)));
                        regionStart = -1;
                    }
                    seg = log.segmentFor(p);
                    if (seg == null || !seg.retain()) {
                        seg = null;
                        throw indexGone(topic, queueId, offset + i, q);
                    }
                } else if (p != regionEnd) {
                    regions.add(new ReadResult.Region(seg, regionStart, (int) (regionEnd - regionStart)));
                    regionStart = -1;
                    seg.retain();
                }
                if (regionStart < 0) {
                    regionStart = p;
                }
                regionEnd = p + sizes[i];
                outOffsets[count] = offset + i;
                outPhys[count] = p;
                outSizes[count] = sizes[i];
                count++;
                bytes += sizes[i];
                nextOffset = offset + i + 1;
            }
            if (regionStart >= 0) {
                regions.add(new ReadResult.Region(seg, regionStart, (int) (regionEnd - regionStart)));
            }
        } catch (RuntimeException e) {
            new ReadResult(0, 0, 0, outOffsets, outPhys, outSizes, 0, regions).close();
            if (regionStart >= 0 && seg != null) {
                seg.release();
            }
            throw e;
        }
        return new ReadResult(nextOffset, firstOffset(q), q.nextOffset(), outOffsets, outPhys, outSizes, count, regions);
    }

    /**
     * The properties of the record at {@code phys}, read from its mapping; empty if its segment is
     * gone (the read then fails on it with the usual exception, or has filtered it out).
     */
    private Map<String, String> propertiesAt(long phys) {
        Segment s = log.segmentFor(phys);
        if (s == null || !s.retain()) {
            return Map.of();
        }
        try {
            return RecordCodec.properties(s.map, (int) (phys - s.baseOffset));
        } finally {
            s.release();
        }
    }

    /**
     * Copies up to {@code max} offset-index entries of {@code topic}/{@code queueId}, the first
     * that of queue offset {@code from}, into the arrays (record position, size, tag-hash field);
     * returns how many: 0 at the queue's end or for a queue that does not exist. The broker reads
     * its schedule topic's time index this way, without touching records. Throws
     * {@link OffsetOutOfRangeException} if {@code from} is below the queue's minimum (retention
     * deleted it, maybe while this ran: go on from {@link OffsetOutOfRangeException#earliest()}),
     * and {@link LogException} if the store is closed.
     */
    public int readIndex(String topic, int queueId, long from, int max, long[] physical, int[] sizes, long[] tagHashes) {
        OffsetIndex q = queues.get(topic, queueId);
        if (q == null || from >= q.nextOffset()) {
            return 0;
        }
        if (from < firstOffset(q)) {
            throw outOfRange(q, from);
        }
        dispatcher.awaitIndexed(q, Math.min(q.nextOffset(), from + Math.max(max, 1)) - 1);
        return readEntries(q, topic, queueId, from, max, physical, sizes, tagHashes);
    }

    /**
     * {@link OffsetIndex#read} of entries the caller knows are indexed: none read means their file
     * was let go of, and the read fails with why ({@link #indexGone}).
     */
    private int readEntries(OffsetIndex q, String topic, int queueId, long from, int max, long[] physical, int[] sizes,
                            long[] tagHashes) {
        int n = q.read(from, max, physical, sizes, tagHashes);
        if (n == 0 && max > 0) {
            throw indexGone(topic, queueId, from, q);
        }
        return n;
    }

    /**
     * Why a read found no index file or segment for {@code offset}, which was indexed: the store
     * was closed (its files let go of), or retention deleted the file meanwhile (the offset is then
     * below the queue's minimum).
     */
    private LogException indexGone(String topic, int queueId, long offset, OffsetIndex q) {
        return closed ? closedError() : gone(topic, queueId, offset, q);
    }

    private LogException gone(String topic, int queueId, long offset, OffsetIndex q) {
        if (offset < firstOffset(q)) {
            return outOfRange(q, offset);
        }
        return new SegmentDeletedException(q.physicalOffset(offset), log.minOffset());
    }

    /**
     * The message at {@code offset} of {@code topic}/{@code queueId}, decoded into a heap copy;
     * empty if there is none: retention deleted it (maybe while this ran), or it is not written yet.
     */
    public Optional<StoredMessage> readMessage(String topic, int queueId, long offset) {
        try {
            List<StoredMessage> found = readMessages(topic, queueId, offset, 1);
            return found.stream().findFirst();
        } catch (OffsetOutOfRangeException | SegmentDeletedException e) {
            return Optional.empty();
        }
    }

    /** Reads and decodes up to {@code maxMessages} messages into heap copies (tests and tools). */
    public List<StoredMessage> readMessages(String topic, int queueId, long offset, int maxMessages) {
        return readMessages(topic, queueId, offset, maxMessages, Integer.MAX_VALUE);
    }

    /** As {@link #readMessages(String, int, long, int)}, up to about {@code maxBytes} of records (at least one). */
    public List<StoredMessage> readMessages(String topic, int queueId, long offset, int maxMessages, int maxBytes) {
        try (ReadResult r = read(topic, queueId, offset, maxMessages, maxBytes)) {
            List<StoredMessage> out = new ArrayList<>(r.messageCount());
            for (int i = 0; i < r.messageCount(); i++) {
                out.add(r.message(i));
            }
            return out;
        }
    }

    /** Reads the record at {@code physicalOffset}, verifying it; empty if nothing whole is there. */
    public Optional<StoredMessage> readAt(long physicalOffset) {
        return Optional.ofNullable(atWholeRecord(physicalOffset, (s, pos) -> RecordCodec.decode(s.map, pos)));
    }

    /**
     * True if a whole record that passes its checks (CRC32C above all) is at {@code
     * physicalOffset}, without decoding it: what a copy of a stored message (a retry, a delayed
     * delivery) asks first, so that a record damaged on disk is never stored again under a fresh
     * checksum.
     */
    public boolean intact(long physicalOffset) {
        return atWholeRecord(physicalOffset, (s, pos) -> Boolean.TRUE) != null;
    }

    /** {@code then} applied to the record at {@code physicalOffset} if it is whole and passes its checks, else null. */
    private <T> T atWholeRecord(long physicalOffset, java.util.function.BiFunction<Segment, Integer, T> then) {
        if (physicalOffset < 0 || physicalOffset >= log.writtenOffset()) {
            return null;
        }
        log.ensureWritten(physicalOffset + 1); // the record there was published whole: this commits all of it
        Segment s = log.segmentFor(physicalOffset);
        if (s == null || !s.retain()) {
            return null;
        }
        try {
            int pos = (int) (physicalOffset - s.baseOffset);
            return RecordCodec.check(s.map, pos, s.size, s.baseOffset) instanceof RecordCodec.Whole ? then.apply(s, pos) : null;
        } finally {
            s.release();
        }
    }

    /** Looks a message up by its id ({@link MessageIds}), as {@link #readMessage} does. */
    public Optional<StoredMessage> readById(String messageId) {
        return readMessage(MessageIds.parse(messageId));
    }

    /**
     * The message whose id is the position {@code physicalOffset}, if its queue's offset index
     * points at that position. A client names ids (a query by id, a transaction's decision), and
     * a position inside another record's body can hold bytes shaped like a whole record, with a
     * CRC that matches, written by whoever sent that body; only a position the offset index holds
     * is a message. Empty also when the queue no longer holds that offset (retention).
     */
    public Optional<StoredMessage> readMessage(long physicalOffset) {
        Optional<StoredMessage> m = readAt(physicalOffset).filter(found -> indexedAt(found.topic(), found.queueId(), found.queueOffset(),
                physicalOffset));
        return answeredOpen(m);
    }

    /**
     * {@code answer}, unless the store closed while it was being found: a segment or index file
     * released by the close reads as absent, so a lookup racing a close would answer "nothing" or
     * "the queue's end" (a group reset by time would skip messages) instead of failing as a read does.
     */
    private <T> T answeredOpen(T answer) {
        if (closed) {
            throw closedError();
        }
        return answer;
    }

    private LogException closedError() {
        return new LogException("store " + config.dir() + " is closed");
    }

    private boolean indexedAt(String topic, int queueId, long queueOffset, long physicalOffset) {
        OffsetIndex q = queues.get(topic, queueId);
        if (q == null || queueOffset < firstOffset(q) || queueOffset >= q.nextOffset()) {
            return false;
        }
        dispatcher.awaitIndexed(q, queueOffset); // assigned, so indexed soon: the caller runs a pass if one is due
        return q.physicalOffset(queueOffset) == physicalOffset;
    }

    /** Messages of {@code topic} carrying {@code key}, newest first, at most {@code max}; every append that returned before is seen. */
    public List<StoredMessage> lookupByKey(String topic, String key, int max) {
        return lookupByKey(topic, key, max, Long.MAX_VALUE);
    }

    /**
     * As {@link #lookupByKey(String, String, int)}, stopping before the records found would pass
     * {@code maxBytes} (the first is returned whatever its size).
     */
    public List<StoredMessage> lookupByKey(String topic, String key, int max, long maxBytes) {
        dispatcher.awaitAll(); // the key index is the dispatcher's: as for an offset, the caller runs a pass if one is due
        List<StoredMessage> out = new ArrayList<>();
        long bytes = 0;
        // twice as many candidates as asked for (hash collisions share chains), saturated: max * 2 + 8 overflowed
        // for a max near Integer.MAX_VALUE (asking for "all") and the lookup found nothing
        int candidates = (int) Math.min(Integer.MAX_VALUE, (long) max * 2 + 8);
        for (long phys : keys.lookup(topic, key, candidates)) {
            Optional<StoredMessage> m = readAt(phys).filter(found -> found.topic().equals(topic) && found.keys().contains(key)
                    && found.queueOffset() >= floors.of(topic, found.queueId()));
            if (m.isPresent()) {
                if (!out.isEmpty() && bytes + m.get().size() > maxBytes) {
                    break;
                }
                out.add(m.get());
                bytes += m.get().size();
            }
            if (out.size() >= max) {
                break;
            }
        }
        return answeredOpen(out);
    }

    /**
     * The first queue offset whose store timestamp is at or after {@code timestamp}; the queue's
     * end if there is none. Binary search over the offset index (store times never go backwards).
     */
    public long offsetForTimestamp(String topic, int queueId, long timestamp) {
        OffsetIndex q = queues.get(topic, queueId);
        if (q == null) {
            return 0;
        }
        long hi = q.nextOffset();
        if (hi > 0) {
            dispatcher.awaitIndexed(q, hi - 1);
            log.ensureWritten(q.physicalOffset(hi - 1) + 1);
        }
        long lo = firstOffset(q);
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            long ts = storeTimestampAt(q.physicalOffset(mid));
            if (ts < timestamp) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return answeredOpen(lo);
    }

    private long storeTimestampAt(long phys) {
        Segment s = log.segmentFor(phys);
        if (s == null || !s.retain()) {
            return Long.MIN_VALUE;
        }
        try {
            return s.map.getLong((int) (phys - s.baseOffset) + RecordLayout.STORE_TIMESTAMP_OFFSET);
        } finally {
            s.release();
        }
    }

    /**
     * Earliest offset {@code topic}/{@code queueId} still holds (0 for an unknown queue): where
     * retention left its records, or its floor ({@link #startQueuesAtEnd}) if that is higher.
     */
    public long minOffset(String topic, int queueId) {
        OffsetIndex q = queues.get(topic, queueId);
        return q == null ? 0 : firstOffset(q);
    }

    /**
     * The queue's first offset as every reader sees it: its first indexed offset, or its floor if
     * that is higher (the offset index itself, and recovery and retention, know nothing of floors).
     */
    private long firstOffset(OffsetIndex q) {
        return Math.max(q.minOffset(), floors.of(q.topic, q.queueId));
    }

    /** {@code offset} is not in the queue; below it, says whether retention or the topic's re-creation left it out. */
    private OffsetOutOfRangeException outOfRange(OffsetIndex q, long offset) {
        long retained = q.minOffset();
        long floor = floors.of(q.topic, q.queueId);
        return new OffsetOutOfRangeException(q.topic, q.queueId, offset, Math.max(retained, floor), q.nextOffset(), floor > retained);
    }

    /**
     * Makes {@code topic} start empty: every queue of it the store has an index of gets its current
     * end as its first offset, so that the records it holds now are served to nobody (reads below
     * are {@link OffsetOutOfRangeException}, as for records retention deleted; queries by id, key
     * and time skip them), although they stay on disk until retention deletes them. Replaces the
     * floors the topic had; queues without records below their end get none. The floors are on
     * disk ({@link QueueFloors}: written whole, forced, renamed, folder forced) when this returns,
     * so a caller that makes the topic visible after it, as a broker re-creating a deleted topic
     * does, never shows the old records, whatever crash comes between. Messages appended to the
     * topic while this runs may fall on either side.
     *
     * @return the floors set, queue id to first offset
     */
    public Map<Integer, Long> startQueuesAtEnd(String topic) {
        if (closed) {
            throw closedError();
        }
        Map<Integer, Long> set = new java.util.TreeMap<>();
        for (int queueId : queues.queueIds(topic)) {
            OffsetIndex q = queues.get(topic, queueId);
            long end = q.nextOffset();
            if (end > q.minOffset()) {
                set.put(queueId, Math.max(end, floors.of(topic, queueId)));
            }
        }
        floors.replace(topic, set);
        return set;
    }

    /**
     * The offset the next message of {@code topic}/{@code queueId} will get: every message appended
     * so far lies below it (and can be read, see the class comment).
     */
    public long nextOffset(String topic, int queueId) {
        OffsetIndex q = queues.get(topic, queueId);
        return q == null ? 0 : q.nextOffset();
    }

    /** Topics that have at least one queue with an index. */
    public Set<String> topics() {
        return queues.topics();
    }

    /** Queue ids of {@code topic} that have an index. */
    public List<Integer> queueIds(String topic) {
        return queues.queueIds(topic);
    }

    /** End of the commit log: the physical offset the next record will get. */
    public long writtenOffset() {
        return log.writtenOffset();
    }

    /** How much of the commit log is known to be on disk. */
    public long flushedOffset() {
        return log.flushedOffset();
    }

    /** Earliest commit-log position still kept. */
    public long minPhysicalOffset() {
        return log.minOffset();
    }

    /** Bytes of commit-log segment files on disk. */
    public long commitLogBytes() {
        return log.totalBytes();
    }

    /**
     * fsync calls the flusher made on the commit log since open. With {@link #fsyncNanos()} this is
     * the hook metrics read (the log module stays free of metrics libraries): two monotonic
     * counters, cheap to read from any thread.
     */
    public long fsyncCount() {
        return flusher.fsyncCount();
    }

    /** Total time the flusher's fsyncs of the commit log took since open, in nanoseconds (see {@link #fsyncCount()}). */
    public long fsyncNanos() {
        return flusher.fsyncNanos();
    }

    /**
     * Time appends spent waiting for commit-log space to be prepared ({@link SegmentFiller}), in
     * nanoseconds since open: if it grows, appends outrun the filler (slow memory or disk).
     */
    public long spaceWaitNanos() {
        return log.spaceWaitNanos();
    }

    /**
     * Runs retention now (it also runs every {@code retentionCheckIntervalMs}), down to the retention
     * floor at most; returns segments deleted.
     */
    public int runRetention() {
        return retentionPass();
    }

    /** A retention pass; one that deleted something also drops the queue floors it passed. */
    private int retentionPass() {
        int deleted = retention.run();
        if (deleted > 0 && !floors.all().isEmpty()) {
            dropPassedFloors(floors, queues);
        }
        return deleted;
    }

    private void runRetentionQuietly() {
        try {
            retentionPass();
        } catch (RuntimeException e) {
            LOG.error("retention failed; will retry", e);
        }
    }

    /**
     * Forces the commit log up to what was appended so far (the flusher's fsync; no checkpoint,
     * indexes are rebuilt from the log after a crash anyway) and returns once it is on disk.
     */
    public void forceLog() {
        flusher.whenFlushed(log.writtenOffset()).join();
    }

    /** Forces everything appended so far to disk and writes a checkpoint. */
    public void flush() {
        flusher.whenFlushed(log.writtenOffset()).join();
        dispatcher.awaitAll();
        checkpoint();
    }

    /**
     * Waits until every message appended so far is in the offset indexes. Reads need not call it
     * (they wait for what they ask for); a benchmark does, to time appends including their indexing.
     */
    public void awaitIndexed() {
        dispatcher.awaitAll();
    }

    /**
     * Returns once every record appended so far is in the segment files (with staged writes, by
     * committing the staging ring; with writes through mappings it already is). Forces nothing to
     * disk: that is {@link #flush()}.
     */
    public void awaitWritten() {
        log.ensureWritten(log.writtenOffset());
    }

    /** Commit-log position below which every record is in the offset indexes (see {@link IndexDispatcher}). */
    public long indexedPhysicalOffset() {
        return dispatcher.position();
    }

    /**
     * The entries per offset-index file this store opens with: those of its files, whatever
     * {@code configured} says (a WARN when it differs), or {@code configured} for a store without
     * index files. See {@link QueueTable#entriesPerFileOnDisk}.
     */
    private static int indexEntriesPerFile(Path dir, int configured) {
        int onDisk = QueueTable.entriesPerFileOnDisk(dir.resolve("index"));
        if (onDisk == 0 || onDisk == configured) {
            return configured;
        }
        LOG.warn("index.entries.per.file (indexEntriesPerFile): {} (the offset-index files in {} hold {} entries each: keeping {}; to change it, stop,"
                + " delete that folder and start again, which indexes the whole commit log once)", configured, dir.resolve("index"), onDisk,
                onDisk);
        return onDisk;
    }

    private void checkpointQuietly() {
        try {
            checkpoint();
            if (checkpointDiskFull) {
                checkpointDiskFull = false;
                LOG.info("checkpoint written again: space was freed");
            }
        } catch (RuntimeException e) {
            IOException full = diskFull(e);
            if (full == null) {
                LOG.error("checkpoint failed; will retry", e);
            } else if (!checkpointDiskFull) {
                // one line per outage, not a stack trace every checkpoint.interval.ms for as long as the disk stays full
                checkpointDiskFull = true;
                LOG.error("cannot write the checkpoint ({}): the disk is full; the last one holds, retrying every {} ms", full.getMessage(),
                        config.checkpointIntervalMs());
            }
        }
    }

    /** The I/O error behind {@code t} if it says the disk is full (ENOSPC, EDQUOT), else null. */
    private IOException diskFull(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException io && OutOfSpace.is(io, config.dir(), 0)) {
                return io;
            }
        }
        return null;
    }

    /**
     * Forces the indexes written since the last checkpoint, then records how far the commit log
     * and the indexes are on disk. Runs on the background scheduler, apart from the flusher.
     */
    private synchronized void checkpoint() {
        writeCheckpoint(config, log, queues, keys, dispatcher.position());
    }

    /** {@code indexed}: where the dispatcher was before the indexes are forced (its passes write both indexes). */
    private static void writeCheckpoint(LogConfig config, CommitLog log, QueueTable queues, KeyIndex keys, long indexed) {
        // what the indexes hold before they are forced: the checkpoint may claim no more than is on disk
        Map<String, Map<Integer, Long>> queueEnds = queues.indexedEnds();
        // not past where the dispatcher was (read first, so every record below has its keys written): the key index's
        // next entry is then for a record at or past it (an end read past it could be lowered by that entry, and the next
        // open would take the key index for cut short)
        long keyIndexEnd = Math.min(keys.indexedEnd(), indexed);
        queues.forceAll();
        keys.force();
        new Checkpoint(log.flushedOffset(), indexed, config.clock().millis(), keyIndexEnd, queueEnds, false).write(config.dir());
    }

    /**
     * Flushes everything, writes the final checkpoint, removes the abort marker, releases the files.
     * A close from an interrupted thread (a shutdown hook, an executor shutting down) does all of it
     * too: the interrupt is set aside for the close and set again at its end, as the waits for the
     * store's threads and the checkpoint's file channel would otherwise stop at once.
     */
    @Override
    public void close() {
        boolean interrupted = Thread.interrupted();
        try {
            closeParts();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeParts() {
        appendLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            appendLock.unlock();
        }
        // not shutdownNow: its interrupt closed the channel of a checkpoint under way (ClosedByInterruptException, logged
        // as a failed checkpoint on a clean close); shutdown cancels the periodic tasks and lets a run under way finish
        scheduler.shutdown();
        try {
            // a retention pass or a checkpoint under way must not run on into the files closed below
            if (!scheduler.awaitTermination(10, TimeUnit.SECONDS)) {
                // now the interrupt: a long retention pass stops at its next file operation rather than run on into
                // the files closed below
                scheduler.shutdownNow();
                if (!scheduler.awaitTermination(5, TimeUnit.SECONDS)) {
                    LOG.warn("retention / checkpoint thread still busy after 15 s; closing anyway");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // every step runs even if one before it failed (a full disk, an I/O error): the files, the
        // mappings and the lock are released whatever happens, so the store can be opened again; the
        // abort marker goes only if the log and the checkpoint were written, else the next open recovers
        RuntimeException failure = runStep(dispatcher::awaitAll, null);
        failure = runStep(dispatcher::close, failure);
        failure = runStep(flusher::close, failure);
        failure = runStep(this::checkpoint, failure);
        if (failure == null) {
            failure = runStep(this::removeAbortMarker, null);
        }
        // a dispatcher pass that did not stop may still write through the offset indexes' mappings: they stay then
        failure = releaseParts(config.dir(), log, queues, dispatcher.stopped(), keys, lockChannel, fileLock, failure);
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Closes the parts an open made (null: not made yet) and releases the store's lock, each step
     * even if one before it failed; returns the first failure so far, later ones suppressed in it.
     * The end of {@link #close}, and what a failed {@link #open} undoes.
     */
    private static RuntimeException releaseParts(Path dir, CommitLog log, QueueTable queues, boolean unmapQueues, KeyIndex keys,
                                                 FileChannel lockChannel, FileLock fileLock, RuntimeException failure) {
        if (log != null) {
            failure = runStep(log::close, failure); // stops its filler thread, unmaps
        }
        if (queues != null) {
            failure = runStep(() -> queues.close(unmapQueues), failure);
        }
        if (keys != null) {
            failure = runStep(keys::close, failure);
        }
        try {
            fileLock.release();
            lockChannel.close();
        } catch (IOException e) {
            LOG.warn("cannot release {}", dir.resolve("lock"), e);
        }
        return failure;
    }

    /** Runs one step of {@link #close}; returns the first failure so far, later ones suppressed in it. */
    private static RuntimeException runStep(Runnable step, RuntimeException failure) {
        try {
            step.run();
            return failure;
        } catch (RuntimeException e) {
            if (failure == null) {
                return e;
            }
            failure.addSuppressed(e);
            return failure;
        }
    }

    /** The last step of a clean close: the next open will not take this run for a crash. */
    private void removeAbortMarker() {
        try {
            Files.deleteIfExists(config.dir().resolve("abort"));
            FileNames.fsyncDirectory(config.dir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove abort marker", e);
        }
    }
}
