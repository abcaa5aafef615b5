package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The offset index of one (topic, queue): where each message of the queue lies in the commit
 * log. Kept in segment files of {@code entriesPerFile} fixed-size entries, each file named by
 * the 20-digit queue offset of its first entry, so finding offset <i>n</i> is arithmetic.
 *
 * <pre>
 * index file header (16 bytes)
 * offset size field
 *   0     4   magic            0x46494458 ("FIDX")
 *   4     2   version          1
 *   6     2   reserved         0
 *   8     8   baseOffset       queue offset of the first entry (the file's name)
 * entry (20 bytes), entry for queue offset n at 16 + 20 * (n - baseOffset)
 *   0     8   physicalOffset   of the record in the commit log
 *   8     4   size             of the record in bytes; 0 = no entry (never written)
 *  12     8   tagHash          {@link TagHash} of the record's tags, 0 if none
 * </pre>
 *
 * <p>An entry whose physicalOffset lies below the commit log's first segment is one whose record
 * retention deleted; a rebuild writes one such entry, at position 0 with size 1, for the last
 * offset of a queue it found no record of ({@link #continueAt}).
 *
 * <p>Entries are derived data: recovery rewrites them from the commit log, so their flush is
 * lazy. An entry is valid when its size is positive and it points at a record of this queue
 * with this queue offset.
 *
 * <p><b>Two ends.</b> {@link #nextOffset()} is the next queue offset the appender assigns (it
 * counts every record appended to the queue); {@link #indexedOffset()} the end of the entries
 * written, which the {@link IndexDispatcher} moves once it has indexed the records in between. A
 * reader that wants an offset between the two waits for the dispatcher
 * ({@link IndexDispatcher#awaitIndexed}).
 *
 * <p><b>Thread safety.</b> The appender (the store's append lock holder) calls {@link #reserve} and
 * {@link #assigned}; a dispatcher pass (on the dispatcher's thread or a thread helping it, one at a
 * time under its lock) calls {@link #write} and {@link #publishIndexed}; recovery, before either
 * runs, calls {@link #put} and {@link #truncateFrom}; retention calls {@link #trimBefore} under the
 * append lock, alongside the dispatcher (it deletes only files wholly below the indexed entries,
 * which the dispatcher no longer writes); {@link #prepare}, on the thread creating a topic's
 * queues, runs alongside all of them but only makes a new queue's first file, under the monitor,
 * and touches none of their fields. Readers read entries below {@code indexedOffset}, which is
 * volatile: its write after the entries' bytes publishes them to readers that read it first. Files
 * are created under the index's monitor (the appender reserves them, recovery may create them,
 * {@link #prepare} makes the first one on the thread that creates the queues, and none is made
 * after {@link #close}). A file's mapping is released as soon as the file is deleted or the index
 * closed and no reader holds it: readers (and the checkpointer's force) take a reference for the
 * time they read ({@link IndexFile#retain}), so none touches unmapped memory, and the disk space
 * and the mapping of a file retention deleted come back at once, not when the garbage collector
 * gets to its buffer (a broker with many queues would otherwise keep thousands of deleted files
 * mapped, against the kernel's limit on mappings per process). The appender and the dispatcher take
 * none: retention deletes only files wholly below the indexed entries, where neither writes, and
 * close unmaps only once both have stopped (if a dispatcher pass did not stop in time, close leaves
 * the mappings to the garbage collector: {@link SharedMapping#abandon}).
 */
final class OffsetIndex {
    static final int MAGIC = 0x46494458;
    static final short VERSION = 1;
    static final int HEADER_SIZE = 16;
    static final int ENTRY_SIZE = 20;
    static final int ENTRY_PHYSICAL_OFFSET = 0;
    static final int ENTRY_SIZE_OFFSET = ENTRY_PHYSICAL_OFFSET + 8;
    static final int ENTRY_TAG_HASH_OFFSET = ENTRY_SIZE_OFFSET + 4;

    final String topic;
    final int queueId;
    private final Path dir;
    private final int entriesPerFile;
    private final ConcurrentSkipListMap<Long, IndexFile> files = new ConcurrentSkipListMap<>();
    /** End of the written entries; volatile to publish them (see class comment). */
    private volatile long indexedOffset;
    /** Smallest queue offset still held; volatile because retention moves it while readers read. */
    private volatile long minOffset;
    /** Offset up to which entries were forced; read and written by the checkpointer thread only. */
    private long forcedOffset;
    /*
     * The appender's two fields, written or read on every append to the queue, lie between 64 bytes
     * of padding on either side, so that no other field shares their cache line: the dispatcher,
     * on the other core, writes indexedOffset and the pass fields once per pass, and with more
     * queues than records in a pass, a shared line moved between the two cores on every append
     * (1,000 queues, 100-byte records: 7-15 ns more per append for the writer). HotSpot lays
     * out long fields in declaration order, ahead of narrower ones; OffsetIndexLayoutTest checks
     * the distances on the running JVM.
     */
    @SuppressWarnings("unused")
    private long pad00, pad01, pad02, pad03, pad04, pad05, pad06, pad07;
    /**
     * The next queue offset the appender assigns. The appender writes it with a release store (no
     * fence on the append path: {@link #APPEND_OFFSET}); readers read it as a volatile.
     */
    private volatile long appendOffset;
    /** Queue offsets below it have their entry space reserved; appender only. */
    private long reservedEnd;
    @SuppressWarnings("unused")
    private long pad10, pad11, pad12, pad13, pad14, pad15, pad16, pad17;
    /** The file the appender reserved in last; appender only. */
    private IndexFile appendTail;
    /** An index file was shorter than its fixed size when opened (outside damage): entries may be lost. */
    private boolean cut;
    /** See {@link #damageAtOpen}; set by the constructor only. */
    private String damageAtOpen;
    /** The queue's directory exists; under the monitor (files are created there). */
    private boolean dirCreated;
    /** {@link #close} ran: no file is created any more; under the monitor. */
    private boolean closed;
    /** A file was created since the last force: its directory entry needs an fsync; volatile, set when one is created, cleared by the checkpointer. */
    private volatile boolean newFiles;
    /**
     * The file entries were written to last; used by dispatcher passes (recovery before them).
     * Retention clears it if it deletes that file, which it never does while a pass writes there.
     */
    private IndexFile tail;
    // this queue's entries in the dispatcher's current pass (see IndexDispatcher.pass), the pass's only:
    // the first queue offset (MAX_VALUE: none yet), how many, the next expected, and where the run starts
    long passFirst = Long.MAX_VALUE;
    int passCount;
    long passNext;
    int passStart;

    private static final java.lang.invoke.VarHandle APPEND_OFFSET;
    private static final java.lang.invoke.VarHandle INDEXED_OFFSET;

    static {
        try {
            APPEND_OFFSET = java.lang.invoke.MethodHandles.lookup().findVarHandle(OffsetIndex.class, "appendOffset", long.class);
            INDEXED_OFFSET = java.lang.invoke.MethodHandles.lookup().findVarHandle(OffsetIndex.class, "indexedOffset", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * One index file. {@code filled}: bytes known not to be a hole (zeros are written ahead with
     * {@code write()} before a page is touched through the mapping, because a first fault on a
     * hole of a large mapping costs milliseconds here: the kernel reads around it).
     *
     * <p>The index dispatcher fills ahead: when it writes an entry within {@link #fillLead} of
     * {@code filled}, it writes the next step of zeros itself, in its pass ({@link #fillAhead}). The
     * appender, which reserves entries before the dispatcher writes them, fills only when it finds
     * its entry in a hole ({@link #fillTo}): the first entries of a file, or a dispatcher far
     * behind. Until session 17 the appender queued each step on a filler thread, and waking that
     * thread cost the append path more than the step: 29 of 710 samples of the writer in a
     * 1,000-queue run. Fills are serialized by the file's monitor; {@code filled} is volatile
     * because the appender and the dispatcher read it without the monitor, and it only grows.
     */
    private static final class IndexFile {
        final long base;
        final Path path;
        final FileChannel channel;
        final MappedByteBuffer map;
        volatile long filled;
        /** Readers' references to {@link #map}: released when the index deleted or closed the file and the last reader is done. */
        final SharedMapping mapping;

        IndexFile(long base, Path path, FileChannel channel, MappedByteBuffer map, long filled) {
            this.base = base;
            this.path = path;
            this.channel = channel;
            this.map = map;
            this.filled = filled;
            this.mapping = new SharedMapping(channel, map);
        }

        /** The appender's reservation: makes sure bytes below {@code end} are not a hole, filling them itself if needed. */
        void fillTo(long end) {
            if (end > filled) {
                fill(end);
            }
        }

        /**
         * The dispatcher's write (and recovery's): as {@link #fillTo}, and when {@code end} comes within
         * {@link #fillLead} of the zeros, writes the next step now, so that the appender finds its next
         * entries filled. The step ahead is best effort: if it fails (a full disk), the appender meets
         * the hole and its append fails before anything is written; the dispatcher's entry is safe.
         */
        void fillAhead(long end) {
            fillTo(end);
            long f = filled;
            if (end > f - fillLead(f) && f < map.capacity()) {
                try {
                    fill(f + fillStep(f));
                } catch (UncheckedIOException e) {
                    // left to the appender, which reports it with the append that needs the space
                }
            }
        }

        /** Writes zeros from {@code filled} up to at least {@code end}, a whole step at least, capped at the file's size. */
        synchronized void fill(long end) {
            long f = filled;
            filled = Zeros.fillAhead(channel, f, end, fillStep(f), map.capacity(), "index file", path);
        }

        /** Takes a reader reference; false if the file was already deleted or closed and released. */
        boolean retain() {
            return mapping.retain();
        }

        void release() {
            mapping.release();
        }
    }

    /** The largest zero-fill step of an index file: one {@code write()} of 64 KiB (3,276 entries). */
    private static final int FILL_STEP = 64 * 1024;
    /** The smallest: one page. */
    private static final int MIN_FILL_STEP = 4096;

    /**
     * How far a file filled up to {@code filled} bytes is filled at its next step: as far again,
     * from one page up to {@link #FILL_STEP}. A queue's file grows in steps that double, so a queue
     * holding a few hundred entries gets a few pages of zeros, not 64 KiB: a topic of 1,000 queues
     * of 1,000 entries each (20 KB) filled 72 KiB per queue before (70 MiB of zeros written and
     * kept in the page cache, for 20 MiB of entries), 32 KiB now. A busy queue reaches 64 KiB steps
     * after its first 1,600 entries.
     */
    private static long fillStep(long filled) {
        return Math.min(FILL_STEP, Math.max(MIN_FILL_STEP, filled));
    }

    /**
     * How close to {@code filled} the dispatcher's entries come before it writes the next step: a
     * quarter of the step (16 KiB, 819 entries, for a busy queue; the dispatcher follows the
     * appender by a few dozen records). Half a step would fill a file to four times its entries
     * while the steps double.
     */
    private static long fillLead(long filled) {
        return fillStep(filled) / 4;
    }

    OffsetIndex(Path dir, String topic, int queueId, int entriesPerFile) {
        this(dir, topic, queueId, entriesPerFile, -1);
    }

    /**
     * Opens the queue's index files in {@code dir} (none: an empty queue). {@code recordedEnd}: the
     * queue's index end as the last checkpoint recorded it, -1 if unknown; it tells the open where in
     * the last file the entries are ({@link #runEndAtOpen}).
     */
    OffsetIndex(Path dir, String topic, int queueId, int entriesPerFile, long recordedEnd) {
        this.dir = dir;
        this.topic = topic;
        this.queueId = queueId;
        this.entriesPerFile = entriesPerFile;
        try {
            for (long base : FileNames.list(dir)) {
                files.put(base, openFile(dir.resolve(FileNames.name(base)), base));
            }
            dropEmptyLastFiles();
            damageAtOpen = firstDamage();
        } catch (RuntimeException | Error e) {
            close(true); // the files opened before a damaged one are not left open
            throw e;
        }
        if (!files.isEmpty()) {
            minOffset = files.firstKey();
            // files are created when their first offset is written, so those before the last are full
            long next = files.lastKey();
            IndexFile f = files.lastEntry().getValue();
            int end = runEndAtOpen(f, recordedEnd);
            if (end > 0) {
                next = f.base + end;
            }
            indexedOffset = Math.max(next, minOffset);
            appendOffset = indexedOffset;
            // past its last entry the file may be a hole (created sparse, filled only ahead of its writer):
            // fill from there again, so that no entry is ever written into a hole (see reserve)
            f.filled = Math.min(f.filled, position(f, Math.max(next, f.base)));
        }
    }

    /**
     * At open: one past the slot of the last entry of {@code f}'s run of entries (the queue's end
     * is {@code f.base} plus that), 0 if it holds none. A file's entries are one run: they are
     * written in offset order, from its first slot, or from the middle in a queue's first file (a
     * queue re-indexed after retention deleted the records before, or one that continues a deleted
     * topic's offsets), after empty slots.
     *
     * <p>Without {@code recordedEnd} (no checkpoint, or one of version 1) the run is looked for from
     * the first slot. With it, the run is looked for where the checkpoint put the queue's end: entries
     * below it were forced before the checkpoint was written, and those written since follow it. A
     * file that begins at or past the recorded end (a queue the checkpoint does not list, whose
     * recorded end is 0, or a file made since) holds entries only from its first slot: if that slot
     * is empty the file is taken for empty, even if later slots hold entries (its first page was lost
     * in a machine crash): recovery indexes them again, since their records lie past the
     * checkpoint's offsets (PowerLossTest). Why: a queue that has no entries (a topic's idle queues) has a file that is a
     * hole past its first page, and looking through all of its slots read 6 MB of zeros into the
     * page cache at every open, 300,000 entries a file: a store of 1,000 idle queues took 9.6 s to
     * open on the build VM, and held 6 GB of zero pages afterwards (IdleQueueOpenTest). Where the
     * recorded end does not match what is on disk (index data deleted or damaged), the slots are
     * read from the first as before, and the checkpoint's check of the queues' ends
     * ({@link Checkpoint#missingIndexData}) decides.
     */
    private int runEndAtOpen(IndexFile f, long recordedEnd) {
        int from = 0;
        if (recordedEnd >= 0) {
            int s = (int) Math.min(Math.max(recordedEnd - f.base, 0), entriesPerFile);
            if (s > 0 && written(f, s - 1)) {
                from = s - 1; // the run reaches the recorded end: it goes on from there, if at all
            } else if (s == 0 && !written(f, 0)) {
                return 0; // made since the checkpoint, or idle: a first entry here would be in its first slot
            }
        }
        int i = from;
        while (i < entriesPerFile && !written(f, i)) {
            i++;
        }
        while (i < entriesPerFile && written(f, i)) {
            i++;
        }
        return i == entriesPerFile && !written(f, entriesPerFile - 1) ? 0 : i;
    }

    /**
     * At open: what is wrong with the files before the last, said in words (see
     * {@link #damageAtOpen}), or null. Such a file must be full; only the first may have empty
     * leading entries (a queue re-indexed from the middle of it, after retention). Its first and
     * last entries are read, not every one: a page lost in between (a machine crash) goes unseen.
     */
    private String firstDamage() {
        IndexFile previous = null;
        for (IndexFile f : files.values()) {
            if (previous != null) {
                long expected = previous.base + entriesPerFile;
                if (f.base != expected) {
                    return "had no index file " + FileNames.name(expected) + " between two others (index files deleted?)";
                }
                boolean first = previous.base == files.firstKey();
                if (!written(previous, entriesPerFile - 1) || !first && !written(previous, 0)) {
                    return "had index file " + FileNames.name(previous.base) + " not full, before a later one (a rebuild cut short, "
                            + "or index files damaged?)";
                }
            }
            previous = f;
        }
        return null;
    }

    /** True if the entry in slot {@code i} of {@code f} was written (its size is positive). */
    private static boolean written(IndexFile f, int i) {
        return f.map.getInt(HEADER_SIZE + i * ENTRY_SIZE + ENTRY_SIZE_OFFSET) > 0;
    }

    /**
     * At open: last files without any entry, after a file that is not full, were created by the
     * reservation of a batch that was then refused (a full disk), or by the appender ahead of a
     * dispatcher that had not caught up when the process died; they hold nothing and would make
     * the queue look longer than it is, so they go.
     */
    private void dropEmptyLastFiles() {
        while (files.size() >= 2) {
            IndexFile last = files.lastEntry().getValue();
            IndexFile before = files.lowerEntry(last.base).getValue();
            if (written(last, 0) || written(before, entriesPerFile - 1)) { // the last holds something, or the one before is full
                return;
            }
            deleteFile(last);
        }
    }

    /** The next queue offset the appender will assign: every record appended to the queue lies below it. */
    long nextOffset() {
        return appendOffset;
    }

    /** End of the indexed entries: offsets below it are readable. */
    long indexedOffset() {
        return indexedOffset;
    }

    /** The appender has written the record of {@code next - 1}; called after the record is written. */
    void assigned(long next) {
        APPEND_OFFSET.setRelease(this, next);
    }

    long minOffset() {
        return minOffset;
    }

    /**
     * What was wrong at open with this index's files before the last, or null: a file missing
     * between two others, or one whose last entry is empty (or, but for the first, whose first
     * entry is). Files are made in order (every offset
     * the appender assigns reserves its entry, and the dispatcher writes a queue's entries in
     * order), retention deletes them from the front and recovery from the back, last file first,
     * so either is damage: files deleted or lost by other hands, or a rebuild that a crash cut short
     * while it wrote a file again. The open then indexes the whole commit log again
     * ({@link Checkpoint#missingIndexData}), which writes such files anew, and trims the index for
     * retention only after that: before, {@link #trimBefore} would take the missing or empty
     * entries for expired ones and delete every file before them.
     */
    String damageAtOpen() {
        return damageAtOpen;
    }

    /** True if a file of this index was found cut short at open; recovery then rebuilds it from the whole log. */
    boolean wasCut() {
        return cut;
    }

    /**
     * A queue without files: creates the file its first entry goes to, so the first append does
     * not pay for it. Only the file's first page is written (its first 204 entries); the index
     * dispatcher writes further zeros ahead of the queue's entries in steps that double up to 64 KiB
     * ({@link #fillStep}), so a queue that is never written keeps 8 KiB of disk (that page, and
     * the one the file's last byte is in), not 72 (a topic of 1,000 idle queues: 12 MiB with its
     * folders, instead of 75).
     *
     * <p>Any thread: it leaves the appender's fields alone and decides under the monitor, where
     * files are created. A queue that has files is left as it is (its appender makes the next one
     * it needs; making it here, from a stale {@code appendOffset}, could bring back a file
     * retention just deleted).
     */
    synchronized void prepare() {
        if (files.isEmpty()) {
            createIfAbsent(baseOf(appendOffset));
        }
    }

    /**
     * Makes sure the entry for {@code queueOffset} can be written without needing disk space: its
     * file exists and its bytes are not a hole. The appender calls it before it writes the record,
     * so a full disk fails the append before anything is written (a store into a hole of the mapping
     * on a full disk would fault, and the JVM reports that late and elsewhere).
     */
    void reserve(long queueOffset) {
        if (queueOffset < reservedEnd) {
            return; // the appender's usual case: one field of this object, no file touched
        }
        IndexFile f = appendTail;
        if (!holds(f, queueOffset)) {
            f = fileFor(queueOffset, true);
            appendTail = f;
        }
        f.fillTo(position(f, queueOffset) + ENTRY_SIZE);
        // entries below `filled` are safe, and the dispatcher moves it on ahead of them: come back once past it
        long safeEntries = (f.filled - HEADER_SIZE) / ENTRY_SIZE;
        reservedEnd = f.base + Math.max(queueOffset + 1 - f.base, safeEntries);
    }

    /**
     * Writes the entries of queue offsets {@code first} to {@code first + count - 1}, whose fields are
     * {@code physical}, {@code sizes} and {@code tagHashes} at {@code from} to {@code from + count - 1},
     * without publishing them ({@link #publishIndexed} does). A dispatcher pass only: it writes each
     * queue's entries of the pass as one run, so a file's fill and tail are checked once per run, not
     * per entry.
     */
    void writeRun(long first, long[] physical, int[] sizes, long[] tagHashes, int from, int count) {
        long queueOffset = first;
        int i = from;
        int end = from + count;
        while (i < end) {
            IndexFile f = tailFor(queueOffset);
            int n = (int) Math.min(end - i, f.base + entriesPerFile - queueOffset); // the rest of the run, or of the file
            int p = position(f, queueOffset);
            f.fillAhead(p + (long) n * ENTRY_SIZE);
            for (int last = i + n; i < last; i++, p += ENTRY_SIZE) {
                putEntry(f.map, p, physical[i], sizes[i], tagHashes[i]);
            }
            queueOffset += n;
        }
    }

    /** The file of {@code queueOffset}, made if missing, kept as the writers' {@link #tail}. */
    private IndexFile tailFor(long queueOffset) {
        IndexFile f = tail;
        if (!holds(f, queueOffset)) {
            f = fileFor(queueOffset, true);
            tail = f;
        }
        return f;
    }

    private static void putEntry(MappedByteBuffer map, int p, long physicalOffset, int size, long tagHash) {
        map.putLong(p + ENTRY_PHYSICAL_OFFSET, physicalOffset);
        map.putInt(p + ENTRY_SIZE_OFFSET, size);
        map.putLong(p + ENTRY_TAG_HASH_OFFSET, tagHash);
    }

    /**
     * Writes the entry for {@code queueOffset} without publishing it ({@link #publishIndexed} does).
     * Recovery only (dispatcher passes write runs: {@link #writeRun}).
     */
    void write(long queueOffset, long physicalOffset, int size, long tagHash) {
        IndexFile f = tailFor(queueOffset);
        int p = position(f, queueOffset);
        f.fillAhead(p + ENTRY_SIZE); // recovery did not reserve it
        putEntry(f.map, p, physicalOffset, size, tagHash);
    }

    /**
     * Makes the entries below {@code next} readable (they were written with {@link #write}). A
     * dispatcher pass only. A release store: the entries' bytes are visible to a reader that reads
     * the new end, and no reader waits on this field (a reader that finds an offset unindexed runs a
     * pass itself: {@link IndexDispatcher#awaitIndexed}), so the fence of a volatile store, paid
     * once per queue per pass, bought nothing.
     */
    void publishIndexed(long next) {
        INDEXED_OFFSET.setRelease(this, next);
    }

    /**
     * Recovery: writes the entry for {@code queueOffset}; past the current end it moves both ends,
     * and below the first offset it moves that. Recovery puts only records the commit log holds, so
     * one below the first offset is readable: the open's trim for retention ({@link #trimBefore})
     * took its entry for one of a deleted record because the entry was empty, its page lost in a
     * machine crash, and left the queue starting after it (its messages were served to nobody).
     */
    void put(long queueOffset, long physicalOffset, int size, long tagHash) {
        boolean empty = indexedOffset == minOffset;
        write(queueOffset, physicalOffset, size, tagHash);
        if (queueOffset >= indexedOffset) {
            if (empty) {
                minOffset = queueOffset;
            }
            indexedOffset = queueOffset + 1;
            appendOffset = Math.max(appendOffset, indexedOffset);
        } else if (queueOffset < minOffset) {
            minOffset = queueOffset;
        }
    }

    /**
     * Recovery, after a rebuild, for a queue left without entries below the end the checkpoint
     * recorded: retention had deleted every record of it, so the commit log holds nothing to index.
     * Writes one entry for {@code next - 1} at commit-log position 0, below the log's first
     * segment ({@code minPhysical > 0}): what retention leaves of a queue's last record. The
     * queue's offsets then continue at {@code next}, now and after every later open (which reads a
     * queue's end from the entries of its last file), instead of starting again at 0 under
     * consumers that had committed offsets up to {@code next}.
     */
    void continueAt(long next, long minPhysical) {
        if (indexedOffset != minOffset || next <= indexedOffset || minPhysical <= 0) {
            throw new IllegalStateException(topic + "/" + queueId + ": cannot continue at " + next + " (entries " + minOffset
                    + ".." + indexedOffset + ", log starts at " + minPhysical + ")");
        }
        // the entries of deleted records left in the file of next - 1 go first: the open after
        // this one takes a file's entries for its end only up to the first empty slot after them
        for (long off = baseOf(next - 1); off < indexedOffset; off++) {
            clear(off);
        }
        put(next - 1, 0, 1, 0);
        trimBefore(minPhysical);
    }

    /**
     * Reads up to {@code max} entries from {@code from} (which must be in [min, next)) into the
     * arrays; returns how many were read.
     */
    int read(long from, int max, long[] physical, int[] sizes, long[] tagHashes) {
        long end = Math.min(indexedOffset, from + max);
        int n = 0;
        IndexFile f = null;
        try {
            for (long off = from; off < end; off++, n++) {
                if (f == null || off - f.base >= entriesPerFile) {
                    if (f != null) {
                        f.release();
                    }
                    f = retainFileFor(off);
                    if (f == null) {
                        break;
                    }
                }
                int p = position(off);
                physical[n] = f.map.getLong(p + ENTRY_PHYSICAL_OFFSET);
                sizes[n] = f.map.getInt(p + ENTRY_SIZE_OFFSET);
                tagHashes[n] = f.map.getLong(p + ENTRY_TAG_HASH_OFFSET);
            }
        } finally {
            if (f != null) {
                f.release();
            }
        }
        return n;
    }

    /** Where the record of {@code queueOffset} lies in the commit log; -1 if its file is gone. */
    long physicalOffset(long queueOffset) {
        IndexFile f = retainFileFor(queueOffset);
        if (f == null) {
            return -1;
        }
        try {
            return f.map.getLong(position(queueOffset) + ENTRY_PHYSICAL_OFFSET);
        } finally {
            f.release();
        }
    }

    /** The size of the record of {@code queueOffset}; 0 if its file is gone or the entry was never written. */
    int size(long queueOffset) {
        IndexFile f = retainFileFor(queueOffset);
        if (f == null) {
            return 0;
        }
        try {
            return f.map.getInt(position(queueOffset) + ENTRY_SIZE_OFFSET);
        } finally {
            f.release();
        }
    }

    /** The file holding {@code queueOffset} with a reader reference taken (release it), or null if there is none. */
    private IndexFile retainFileFor(long queueOffset) {
        IndexFile f = files.get(baseOf(queueOffset));
        return f != null && f.retain() ? f : null;
    }

    /** Recovery: removes the entries at and after {@code queueOffset}. */
    void truncateFrom(long queueOffset) {
        if (queueOffset >= indexedOffset) {
            return;
        }
        long keepBase = baseOf(queueOffset);
        // the files after the kept one go first, last first, and then the kept one's entries are cleared: a
        // crash halfway leaves a shorter index, never a gap or a file with empty entries before a later one
        // (which the next open would take for damage: damageAtOpen)
        for (IndexFile f : files.tailMap(keepBase, false).descendingMap().values()) {
            deleteFile(f);
        }
        for (long off = queueOffset; off < Math.min(indexedOffset, keepBase + entriesPerFile); off++) {
            clear(off);
        }
        indexedOffset = Math.max(queueOffset, minOffset);
        appendOffset = indexedOffset;
        reservedEnd = 0;
    }

    /** Recovery: empties the entry of {@code queueOffset}, if its file exists. */
    private void clear(long queueOffset) {
        IndexFile f = fileFor(queueOffset, false);
        if (f != null) {
            int p = position(queueOffset);
            f.map.putLong(p + ENTRY_PHYSICAL_OFFSET, 0);
            f.map.putInt(p + ENTRY_SIZE_OFFSET, 0);
            f.map.putLong(p + ENTRY_TAG_HASH_OFFSET, 0);
        }
    }

    /**
     * Retention: forgets the entries whose record lies below {@code minPhysical} (entries of
     * one queue are in commit-log order, so a binary search finds the first one to keep) and
     * deletes index files that hold only such entries. Returns the new minimum offset.
     */
    long trimBefore(long minPhysical) {
        long lo = minOffset;
        long hi = indexedOffset;
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            if (physicalOffset(mid) < minPhysical) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        minOffset = lo;
        // keep the file of the last entry even when every entry expired: it remembers nextOffset
        long keepBase = baseOf(Math.min(lo, Math.max(indexedOffset - 1, 0)));
        for (IndexFile f : files.headMap(keepBase, false).values()) {
            deleteFile(f);
        }
        return lo;
    }

    /**
     * Forces to disk the index files written since the last call, and the directory entries of
     * files created since then (creation itself does not wait for the directory: the entries are
     * derived data, and a checkpoint only claims them once this has run). Called by the
     * checkpointer thread only.
     */
    void force() {
        long next = indexedOffset;
        long from = forcedOffset;
        if (next > from) {
            for (IndexFile f : files.subMap(baseOf(Math.max(from, 0)), true, baseOf(Math.max(next - 1, 0)), true).values()) {
                if (f.retain()) { // retention may delete it meanwhile: a deleted file needs no force
                    try {
                        f.map.force();
                    } finally {
                        f.release();
                    }
                }
            }
            forcedOffset = next;
        }
        if (newFiles) {
            newFiles = false;
            FileNames.fsyncDirectory(dir);
        }
    }

    /**
     * Lets go of every file: with {@code unmap} (the appender and the dispatcher have stopped) each
     * mapping goes once no reader holds it; without (a dispatcher pass may still be writing) only the
     * channels are closed and the mappings are left to the garbage collector.
     */
    synchronized void close(boolean unmap) {
        closed = true; // under the monitor: a file another thread is creating is made before this and let go below
        for (IndexFile f : files.values()) {
            if (unmap) {
                f.mapping.releaseOwner();
            } else {
                f.mapping.abandon();
            }
        }
    }

    private long baseOf(long queueOffset) {
        return queueOffset - Math.floorMod(queueOffset, entriesPerFile);
    }

    private int position(long queueOffset) {
        return HEADER_SIZE + (int) Math.floorMod(queueOffset, entriesPerFile) * ENTRY_SIZE;
    }

    /** True if {@code f} (null: no file) holds the entry for {@code queueOffset}; no division: the writers' check of their cached file. */
    private boolean holds(IndexFile f, long queueOffset) {
        return f != null && queueOffset >= f.base && queueOffset - f.base < entriesPerFile;
    }

    /** Where the entry for {@code queueOffset} lies in {@code f}, the file holding it (no division: the appender's path). */
    private static int position(IndexFile f, long queueOffset) {
        return HEADER_SIZE + (int) (queueOffset - f.base) * ENTRY_SIZE;
    }

    /** The file holding {@code queueOffset}; with {@code create}, created if missing. Writers cache the result (a lookup divides). */
    private IndexFile fileFor(long queueOffset, boolean create) {
        long base = baseOf(queueOffset);
        IndexFile f = files.get(base);
        return f == null && create ? createIfAbsent(base) : f;
    }

    /** Under the monitor: the appender (reserving), recovery or the dispatcher (writing) and {@link #prepare} may all ask for a file. */
    private synchronized IndexFile createIfAbsent(long base) {
        IndexFile f = files.get(base);
        if (f == null) {
            if (closed) {
                throw new LogException("offset index of " + topic + "/" + queueId + " is closed");
            }
            f = createFile(base);
            files.put(base, f);
        }
        return f;
    }

    private void deleteFile(IndexFile f) {
        files.remove(f.base);
        if (tail == f) {
            tail = null;
        }
        if (appendTail == f) {
            appendTail = null;
            reservedEnd = 0;
        }
        try {
            Files.deleteIfExists(f.path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete index file " + f.path, e);
        } finally {
            f.mapping.releaseOwner();
        }
    }

    /**
     * Creates an index file in place (no temp file and rename: the entries are derived data,
     * and a file cut short by a crash is detected at open and re-indexed from the commit log).
     */
    private IndexFile createFile(long base) {
        Path path = dir.resolve(FileNames.name(base));
        try {
            if (!dirCreated) {
                Files.createDirectories(dir);
                dirCreated = true;
            }
            FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                // the first page is written with write(), not first touched through the mapping: a
                // first fault on a hole of a large mapping costs milliseconds here (read-around of holes)
                int firstPage = (int) Math.min(4096, fileSize());
                writeHeader(ch, base, firstPage);
                ch.write(java.nio.ByteBuffer.allocate(1), fileSize() - 1L);
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, fileSize());
                newFiles = true;
                return new IndexFile(base, path, ch, map, firstPage);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create index file " + path + ": " + e.getMessage(), e);
        }
    }

    /** Writes the file header with {@code write()}, followed by zeros up to {@code length} bytes. */
    private static void writeHeader(FileChannel ch, long base, int length) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(length);
        b.putInt(MAGIC).putShort(VERSION).putShort((short) 0).putLong(base).clear();
        while (b.hasRemaining()) {
            ch.write(b, b.position());
        }
    }

    private IndexFile openFile(Path path, long base) {
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long found = ch.size();
            if (found < fileSize()) {
                cut = true;
                ch.write(java.nio.ByteBuffer.allocate(1), fileSize() - 1L);
            }
            long known = Math.min(found, fileSize());
            if (found < HEADER_SIZE) {
                // the header again, with write() (not through the mapping: it may be a hole), and kept below `filled`
                writeHeader(ch, base, HEADER_SIZE);
                known = HEADER_SIZE;
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, fileSize());
            if (map.getInt(0) != MAGIC || map.getShort(4) != VERSION || map.getLong(8) != base) {
                CorruptRecordException e = new CorruptRecordException(path, 0, "index header: magic 0x"
                        + Integer.toHexString(map.getInt(0)) + " version " + map.getShort(4) + " base " + map.getLong(8)
                        + " (expected: 0x" + Integer.toHexString(MAGIC) + ", " + VERSION + ", " + base + ")");
                new SharedMapping(ch, map).releaseOwner();
                throw e;
            }
            // a file found cut short was extended sparse: only its first `found` bytes are known not to be a hole
            return new IndexFile(base, path, ch, map, known);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open index file " + path, e);
        }
    }

    private long fileSize() {
        return HEADER_SIZE + (long) entriesPerFile * ENTRY_SIZE;
    }
}
