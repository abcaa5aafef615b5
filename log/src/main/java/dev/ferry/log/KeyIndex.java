package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Finds messages by key: a chain-hashed index from hash(topic, key) to commit-log positions,
 * in files of a fixed number of slots and entries, each named by the 20-digit physical offset
 * of the first record it indexes. When a file is full the next one starts.
 *
 * <pre>
 * header (64 bytes)
 * offset size field
 *   0     4   magic           0x464B4559 ("FKEY")
 *   4     2   version         1
 *   6     2   reserved
 *   8     4   slotCount
 *  12     4   entryCapacity
 *  16     4   entryCount      entries written (a crash may leave it behind the entries: the next open unlinks those)
 *  20     4   flags           bit 0: blocks reserved (slots zero-filled at creation; older files were sparse)
 *  24     8   beginPhysical   at or below the first record indexed (the log's end when the file was started)
 *  32     8   endPhysical     end (offset + size) of the last record indexed
 *  40     8   beginTimestamp  store timestamp when the file was started
 *  48     8   endTimestamp    store timestamp of the last record indexed
 *  56     8   reserved
 * slots: slotCount x 4 bytes at 64: number (1-based) of the newest entry of that hash bucket, 0 = none
 * entries: entryCapacity x 28 bytes after the slots
 *   0     8   keyHash         64-bit FNV-1a of "topic#key"
 *   8     8   physicalOffset
 *  16     8   storeTimestamp
 *  24     4   previous        number of the previous entry in the same bucket, 0 = none
 * </pre>
 *
 * <p>Hashes collide, entries can point at truncated or overwritten records after a crash, and
 * recovery may index a record twice: every lookup is confirmed against the record itself by
 * the caller, and results are de-duplicated by position.
 *
 * <p>Entries are written through the mapping, so their blocks are reserved first, by writing zeros
 * with {@code write()}: the slots when a file is created, the entries 1 MiB ahead
 * ({@link #reserve}, which the appender calls before it writes the record). On a full disk that
 * write fails cleanly; a store into a hole of the mapping would fault instead.
 *
 * <p><b>Who writes.</b> The {@link IndexDispatcher} writes the entries ({@link #add}), a step behind
 * the appender and in log order, as it writes the offset-index entries; recovery does before it
 * runs. The appender only claims room: {@link #reserve} before it writes a record, {@link #claim}
 * after. It starts a new file when the last one cannot take a record's keys, and first waits until
 * every record appended before is indexed, so the dispatcher always writes to the last file and
 * a file's name stays at or below every record it indexes.
 *
 * <p><b>Durability.</b> A new file is forced when it is made; entries reach the disk when a checkpoint
 * forces every file (before it records its index offset). A power loss between can keep a new file and
 * lose the last entries of the one before: recovery first deletes the files from there on
 * ({@link #dropAfterFirstGap}), then indexes keys past {@link #indexedEnd}.
 *
 * <p><b>Thread safety.</b> Each file's entries, count and fill are guarded by its monitor (the
 * dispatcher writes under it; lookups are rare). The appender's claim state is its own (under
 * the store's append lock) and takes the monitor only to fill ahead: taking it for every keyed
 * record contended with the dispatcher. Files are started by the appender and by recovery (by
 * the dispatcher only if the appender's claims were wrong); the list of files is a concurrent
 * map. A file retention deletes (never the last) or the store closes is marked released under
 * its monitor, where lookups look first, and unmapped once a force running outside the monitor
 * (a force of a full file takes long and must not hold up appends) has finished with it: see
 * {@link SharedMapping}.
 */
final class KeyIndex {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeyIndex.class);
    static final int MAGIC = 0x464B4559;
    static final short VERSION = 1;
    static final int HEADER_SIZE = 64;
    static final int SLOT_SIZE = 4;
    static final int ENTRY_SIZE = 28;
    private static final int SLOT_COUNT_OFFSET = 8;
    private static final int ENTRY_CAPACITY_OFFSET = 12;
    private static final int ENTRY_COUNT_OFFSET = 16;
    private static final int FLAGS_OFFSET = 20;
    /** Header flag: the file's header and slots were written, not left a hole (files of this version on). */
    private static final int FLAG_BLOCKS_RESERVED = 1;
    private static final int BEGIN_PHYSICAL_OFFSET = 24;
    private static final int END_PHYSICAL_OFFSET = 32;
    private static final int BEGIN_TIMESTAMP_OFFSET = 40;
    private static final int END_TIMESTAMP_OFFSET = 48;
    /** Entry bytes zero-filled ahead at a time (about 37,000 entries). */
    private static final int FILL_STEP = 1 << 20;

    private final Path dir;
    private final int slots;
    private final int capacity;
    private final ConcurrentSkipListMap<Long, KeyFile> files = new ConcurrentSkipListMap<>();
    // the appender's (under the store's append lock; set after recovery by recovered), apart from
    // the files the dispatcher writes: the file it claims entries in, the entries claimed there (written,
    // and those of records appended but not yet indexed) and the bytes of it known not to be a hole
    private KeyFile claimFile;
    private int claimed;
    private long claimFilled;

    /** Why the index lost a file at open (its newest, damaged), or null: recovery then indexes the whole log again. */
    private String damageAtOpen;

    KeyIndex(Path dir, int slots, int capacity) {
        this.dir = dir;
        this.slots = slots;
        this.capacity = capacity;
        try {
            List<Long> bases = FileNames.list(dir);
            for (long base : bases) {
                Path path = dir.resolve(FileNames.name(base));
                KeyFile f;
                try {
                    f = KeyFile.open(path, base);
                } catch (CorruptRecordException e) {
                    if (base != bases.get(bases.size() - 1)) {
                        throw e;
                    }
                    // the newest file, made less than a checkpoint ago: a power loss can leave it empty or short (its size
                    // reaches the disk with its blocks). The key index is derived data: the checkpoint's key end is then
                    // past the index's, and recovery indexes the log again.
                    LOG.warn("key index file {} is damaged ({}); deleting it, recovery indexes its keys again", path, e.getMessage());
                    damageAtOpen = "key index file " + path.getFileName() + " was damaged (" + e.getMessage() + ")";
                    try {
                        Files.delete(path);
                    } catch (IOException deleting) {
                        throw new UncheckedIOException("cannot delete damaged key index file " + path, deleting);
                    }
                    continue;
                }
                files.put(base, f);
            }
            Map.Entry<Long, KeyFile> last = files.lastEntry();
            if (last != null) {
                last.getValue().reserveWritten(); // the one file still written to: an earlier version left holes in it
            }
        } catch (RuntimeException e) {
            close(); // a damaged file, a full disk: nothing stays open
            throw e;
        }
    }

    /**
     * After a crash, before recovery: unlinks the entries an add cut short left past the count of
     * the last file, the only one written to ({@link KeyFile#dropUncounted}). A clean stop leaves
     * none: it waits for the dispatcher.
     */
    void dropUncounted() {
        Map.Entry<Long, KeyFile> last = files.lastEntry();
        if (last != null) {
            last.getValue().dropUncounted();
        }
    }

    /** Why the index lost its newest file at open, or null (see the constructor). */
    String damageAtOpen() {
        return damageAtOpen;
    }

    /**
     * End of the last record the last file indexed. Records below it need not be indexed again
     * once {@link #dropAfterFirstGap} has run (recovery): before, an earlier file may lack entries.
     */
    long indexedEnd() {
        Map.Entry<Long, KeyFile> last = files.lastEntry();
        return last == null ? 0 : last.getValue().endPhysical();
    }

    /**
     * Before recovery: deletes every file from the first place the index may lack entries on, so
     * that it is whole up to {@link #indexedEnd} (returned), past which recovery indexes keys again.
     *
     * <p>A new file is forced when it is made, the one before it only at the next checkpoint: a power
     * loss under ASYNC flush can keep the new file and lose the last entries of the one before (found
     * by a reviewer; {@code KeyIndexPowerLossTest}). Recovery indexed keys only past the last file's
     * end, so the records whose entries were lost, still in the log, were never found by key. A file's
     * entries cover the records from its name to the next file's name, those past its end being
     * records without keys; where a file ends below the next one's name, at or past
     * {@code durableEnd}, it may instead have lost entries. The files from there on are deleted
     * (their records lie past there, and the scan, which starts at or below {@code durableEnd},
     * indexes their keys again), rather than the lost keys added to the last file: that kept each file
     * to one stretch of the log, and a last file deleted later for starting past the log's end
     * ({@link #recovered}) would take the added entries with it.
     *
     * <p>At most the files made since the last checkpoint go, usually the last one or none; after
     * a clean stop none (the checkpoint covers every file). The last file left drops entries an add
     * cut short ({@link KeyFile#dropUncounted}): it is written to again. A crash before the open's
     * checkpoint can then find the index ending below the last checkpoint's key end, and the next
     * open rebuilds the indexes from the whole log: slower, not wrong.
     *
     * @param durableEnd every record below it has its entries on disk: the checkpoint's
     *                   indexFlushedOffset (the key files are forced before it is written), 0 if no
     *                   checkpoint is trusted (none, or a rebuild: it may have made files below it since)
     */
    long dropAfterFirstGap(long durableEnd) {
        long cut = -1;
        KeyFile previous = null;
        for (KeyFile f : files.values()) {
            if (previous != null && Math.max(previous.endPhysical(), durableEnd) < f.base) {
                cut = Math.max(previous.endPhysical(), durableEnd);
                break;
            }
            previous = f;
        }
        if (cut < 0) {
            return indexedEnd();
        }
        LOG.warn("recovery: key index file {} ends at {}, below the next file's name {}: a power loss may have lost its "
                + "last entries; deleting the files from {} on ({}), recovery indexes their keys again", previous.path,
                previous.endPhysical(), files.higherKey(previous.base), cut, files.tailMap(cut, true).keySet());
        for (Map.Entry<Long, KeyFile> e = files.lastEntry(); e != null && e.getKey() >= cut; e = files.lastEntry()) {
            files.remove(e.getKey());
            e.getValue().delete();
        }
        FileNames.fsyncDirectory(dir); // before files are made again below the deleted ones' names
        dropUncounted();
        return indexedEnd();
    }

    /**
     * Makes room for {@code keyCount} more entries without needing disk space later: writes zeros
     * ahead over the entries to come, past those of records appended but not yet indexed. The
     * appender calls it before it writes a record, so a full disk fails the append before anything
     * is written (a store into a hole of the mapping on a full disk would fault, and the JVM reports
     * that late and elsewhere), and {@link #claim} once the record is written.
     *
     * <p>If the last file cannot take them, the next one is started, named {@code nextBase} (the
     * log's end: at or below the first record it will index), once {@code awaitIndexed} has seen
     * every record appended so far indexed: the dispatcher then never has entries for an older file
     * left, and writes every entry to the last one.
     */
    void reserve(int keyCount, long nextBase, long storeTimestamp, Runnable awaitIndexed) {
        KeyFile f = claimFile;
        if (f == null || claimed + keyCount > f.capacity) {
            if (f != null) {
                awaitIndexed.run();
            }
            f = startFile(f, nextBase, storeTimestamp);
            claimFile = f;
            claimed = 0;
            claimFilled = 0;
        }
        int entries = claimed + keyCount;
        if (f.entriesStart() + (long) entries * ENTRY_SIZE > claimFilled) {
            claimFilled = f.fillFor(entries); // once per fill step: the file's monitor, which the dispatcher holds as it writes
        }
    }

    /**
     * After recovery, before the first append. A key index that ends past the log's end (a machine
     * crash took records whose keys were written) is set to end there, so that recovery at a later
     * open indexes the keys of records appended there since (it indexes keys only past the key
     * index's end). The appender claims from the last file's written entries on.
     *
     * <p>Files that start at or past the log's end are deleted first: a key file is forced when it is
     * made, the records before it under ASYNC flush need not be, so a power loss can keep a file
     * whose every entry is of a record the log lost. Kept, it stayed the last file with its end at
     * its name, above the log's: the dispatcher, which writes to the last file, found it full and
     * made a new file for every keyed record until the log passed it, and recovery after a later
     * crash added no keys below its end (found by a reviewer; {@code KeyIndexPowerLossTest}).
     */
    void recovered(long logEnd) {
        boolean deleted = false;
        // at the log's end too: a file is named by the first record it indexes, so one named logEnd holds only lost
        // records' entries (or none); kept, it filled with them, and the next file, named the same, replaced it
        for (Map.Entry<Long, KeyFile> e = files.lastEntry(); e != null && e.getKey() >= logEnd; e = files.lastEntry()) {
            LOG.warn("recovery: key index file {} starts past the commit log's end {} (a machine crash lost the records it "
                    + "indexed); deleted", e.getValue().path, logEnd);
            files.remove(e.getKey());
            e.getValue().delete();
            deleted = true;
        }
        if (deleted) {
            FileNames.fsyncDirectory(dir); // before anything is appended below the deleted files' names
        }
        Map.Entry<Long, KeyFile> last = files.lastEntry();
        claimFile = last == null ? null : last.getValue();
        claimed = 0;
        claimFilled = 0;
        if (claimFile != null) {
            claimFile.capEnd(logEnd);
            claimed = claimFile.written();
        }
    }

    /** The appender has written records with {@code keyCount} keys (after {@link #reserve}; 0: none): the dispatcher will index them. */
    void claim(int keyCount) {
        claimed += keyCount;
    }

    /**
     * Indexes the keys of one record, in commit-log order: the dispatcher, for a record the
     * appender claimed room for, and recovery.
     */
    void add(String topic, List<String> keys, long physicalOffset, int size, long storeTimestamp) {
        Map.Entry<Long, KeyFile> last = files.lastEntry();
        KeyFile f = last == null ? null : last.getValue();
        if (f == null || f.full(keys.size())) {
            f = startFile(f, physicalOffset, storeTimestamp); // recovery only: the appender's reserve started it otherwise
        }
        f.add(topic, keys, physicalOffset, size, storeTimestamp);
    }

    private KeyFile startFile(KeyFile last, long nextBase, long storeTimestamp) {
        long base = last == null ? nextBase : Math.max(nextBase, last.endPhysical());
        KeyFile f = KeyFile.create(dir, base, slots, capacity, storeTimestamp);
        files.put(base, f);
        return f;
    }

    /** Positions of records that may carry {@code key} in {@code topic}, newest first, distinct. */
    List<Long> lookup(String topic, String key, int max) {
        long hash = hash(topic, key);
        LinkedHashSet<Long> out = new LinkedHashSet<>(); // a set: a client may ask for 20,000
        for (KeyFile f : files.descendingMap().values()) {
            f.lookup(hash, max, out);
            if (out.size() >= max) {
                break;
            }
        }
        return new ArrayList<>(out);
    }

    /** Retention: deletes files whose every record lies below {@code minPhysical}. */
    void trimBefore(long minPhysical) {
        for (KeyFile f : files.values()) {
            if (f.endPhysical() <= minPhysical && f != files.lastEntry().getValue()) {
                files.remove(f.base);
                f.delete();
            }
        }
    }

    void force() {
        for (KeyFile f : files.values()) {
            f.force();
        }
    }

    void close() {
        for (KeyFile f : files.values()) {
            f.close();
        }
    }

    private static final long FNV_OFFSET_BASIS = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    /**
     * 64-bit FNV-1a of the UTF-8 bytes of {@code topic + "#" + key}, without building either:
     * every key of every keyed record is hashed, and the concatenation and its encoding had cost
     * as much as the rest of the hash.
     */
    static long hash(String topic, String key) {
        return fnv1a(fnv1a(fnv1a(FNV_OFFSET_BASIS, topic), "#"), key);
    }

    /** Continues {@code h} over the UTF-8 bytes of {@code s}: ASCII chars are their byte; from the first other char, its encoding. */
    private static long fnv1a(long h, String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                // i starts a code point (or an unpaired surrogate, which the encoder writes as '?' wherever it starts)
                for (byte b : s.substring(i).getBytes(StandardCharsets.UTF_8)) {
                    h = (h ^ (b & 0xff)) * FNV_PRIME;
                }
                return h;
            }
            h = (h ^ c) * FNV_PRIME;
        }
        return h;
    }

    private static final class KeyFile {
        final long base;
        final Path path;
        final FileChannel channel;
        final MappedByteBuffer map;
        final int slots;
        final int capacity;
        int count;
        /** Bytes known not to be a hole (their blocks are reserved); guarded by the monitor. */
        private long filled;
        /** Let go (deleted by retention, or the store closed): the mapping is not read again; guarded by the monitor. */
        private boolean released;
        /** Holds the mapping for forces, which run outside the monitor. */
        private final SharedMapping mapping;
        /** endPhysical as it was when the file was released. */
        private long releasedEndPhysical;

        private KeyFile(long base, Path path, FileChannel channel, MappedByteBuffer map) {
            this.base = base;
            this.path = path;
            this.channel = channel;
            this.map = map;
            this.mapping = new SharedMapping(channel, map);
            this.slots = map.getInt(SLOT_COUNT_OFFSET);
            this.capacity = map.getInt(ENTRY_CAPACITY_OFFSET);
            this.count = map.getInt(ENTRY_COUNT_OFFSET);
            this.filled = entriesStart() + (long) count * ENTRY_SIZE;
        }

        private int entriesStart() {
            return HEADER_SIZE + slots * SLOT_SIZE;
        }

        /** Makes sure the first {@code entries} entries are not a hole (zeros ahead, in whole steps); returns the bytes that are not. */
        synchronized long fillFor(long entries) {
            checkOpen();
            long end = entriesStart() + entries * ENTRY_SIZE;
            if (end > filled) {
                filled = Zeros.fillAhead(channel, filled, end, FILL_STEP, map.capacity(), "key index", path);
            }
            return filled;
        }

        synchronized int written() {
            return count;
        }

        /**
         * After a crash, for the file still written to: unlinks entries past the counted ones. An add
         * writes an entry, then points its slot at it, and counts it last; a crash in between leaves
         * a slot pointing past {@code count}. The next entry is written at {@code count + 1}, over
         * the uncounted one (or the fill ahead zeroes it), so the slot's chain would then run into
         * another key's entries or end there, and lookups of the keys further down it would find
         * nothing. Each such slot is set back to the first counted entry of its chain (an entry
         * links to the slot's head before it, written before the slot was); recovery indexes the
         * keys of records past the index's end again.
         */
        synchronized void dropUncounted() {
            int start = entriesStart();
            for (int i = 0; i < slots; i++) {
                int slot = HEADER_SIZE + i * SLOT_SIZE;
                int number = map.getInt(slot);
                if (number <= count) {
                    continue;
                }
                for (int guard = 0; number > count && number > 0 && guard < capacity; guard++) {
                    int previous = number <= capacity ? map.getInt(start + (number - 1) * ENTRY_SIZE + 24) : 0;
                    number = previous < number ? previous : 0;
                }
                map.putInt(slot, number <= count ? Math.max(number, 0) : 0);
            }
        }

        synchronized void capEnd(long logEnd) {
            checkOpen();
            if (map.getLong(END_PHYSICAL_OFFSET) > logEnd) {
                map.putLong(END_PHYSICAL_OFFSET, Math.max(logEnd, base));
            }
        }

        /**
         * Rewrites the header, the slots and the written entries with their own bytes, so their blocks
         * are reserved: files created before key files were filled ahead were sparse.
         */
        synchronized void reserveWritten() {
            if ((map.getInt(FLAGS_OFFSET) & FLAG_BLOCKS_RESERVED) != 0) {
                return;
            }
            try {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) Math.min(1 << 20, filled));
                for (long pos = 0; pos < filled; ) {
                    b.clear().limit((int) Math.min(b.capacity(), filled - pos));
                    map.get((int) pos, b.array(), 0, b.limit());
                    while (b.hasRemaining()) {
                        pos += channel.write(b, pos);
                    }
                }
                channel.force(false); // the rewritten bytes are on disk before the flag that says so
            } catch (IOException e) {
                throw new UncheckedIOException("cannot reserve key index " + path + ": " + e.getMessage(), e);
            }
            map.putInt(FLAGS_OFFSET, map.getInt(FLAGS_OFFSET) | FLAG_BLOCKS_RESERVED);
        }

        static KeyFile create(Path dir, long base, int slots, int capacity, long timestamp) {
            Path path = dir.resolve(FileNames.name(base));
            Path tmp = dir.resolve(FileNames.name(base) + ".tmp");
            long size = HEADER_SIZE + (long) slots * SLOT_SIZE + (long) capacity * ENTRY_SIZE;
            try {
                Files.createDirectories(dir);
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
                    java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(HEADER_SIZE);
                    h.putInt(MAGIC).putShort(VERSION).putShort((short) 0).putInt(slots).putInt(capacity).putInt(0).putInt(FLAG_BLOCKS_RESERVED)
                            .putLong(base).putLong(base).putLong(timestamp).putLong(timestamp).putLong(0).flip();
                    ch.write(h, 0);
                    ch.write(java.nio.ByteBuffer.allocate(1), size - 1); // the entries stay a hole until reserve() fills them ahead
                    ch.force(true); // the header and the size reach the disk before the name does
                    Zeros.write(ch, HEADER_SIZE, HEADER_SIZE + (long) slots * SLOT_SIZE); // slots are written anywhere: reserve them all
                }
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
                FileNames.fsyncDirectory(dir);
            } catch (IOException e) {
                try {
                    Files.deleteIfExists(tmp); // a full disk: do not leave the zeros written so far lying there
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw new UncheckedIOException("cannot create key index " + path + ": " + e.getMessage(), e);
            }
            return open(path, base);
        }

        static KeyFile open(Path path, long base) {
            try {
                FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size());
                String bad = headerProblem(ch.size(), map);
                if (bad != null) {
                    new SharedMapping(ch, map).releaseOwner();
                    throw new CorruptRecordException(path, 0, "key index header: " + bad);
                }
                return new KeyFile(base, path, ch, map);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open key index " + path, e);
            }
        }

        /**
         * What is wrong with a key file's header, checked before any of its numbers is used, or
         * null: the magic and version, and slot and entry counts that fit the file's size.
         */
        private static String headerProblem(long size, MappedByteBuffer map) {
            if (size < HEADER_SIZE || map.getInt(0) != MAGIC || map.getShort(4) != VERSION) {
                // what was found, not only what was expected: a wrong magic in a file of the right size read as if the size
                // were the problem
                return size + " bytes" + (size < 6 ? "" : ", magic 0x" + Integer.toHexString(map.getInt(0)) + ", version "
                        + map.getShort(4)) + " (expected: at least " + HEADER_SIZE + " bytes, magic 0x" + Integer.toHexString(MAGIC)
                        + ", version " + VERSION + ")";
            }
            int slots = map.getInt(SLOT_COUNT_OFFSET);
            int capacity = map.getInt(ENTRY_CAPACITY_OFFSET);
            int count = map.getInt(ENTRY_COUNT_OFFSET);
            if (slots <= 0 || capacity <= 0 || count < 0 || count > capacity
                    || HEADER_SIZE + (long) slots * SLOT_SIZE + (long) capacity * ENTRY_SIZE > size) {
                return "slots " + slots + ", capacity " + capacity + ", count " + count + " in a file of " + size
                        + " bytes (expected: positive slots and capacity, count <= capacity, and all of them within the file)";
            }
            return null;
        }

        synchronized boolean full(int more) {
            return count + more > capacity;
        }

        synchronized long endPhysical() {
            return released ? releasedEndPhysical : map.getLong(END_PHYSICAL_OFFSET);
        }

        /** Forces the file to disk unless it was let go; not under the monitor, so appends and lookups go on meanwhile. */
        void force() {
            if (mapping.retain()) {
                try {
                    map.force();
                } finally {
                    mapping.release();
                }
            }
        }

        private void checkOpen() {
            if (released) {
                throw new LogException("key index " + path + " is closed");
            }
        }

        /** Writes the entries, filling ahead first where no {@link #reserve} covered them (recovery). */
        synchronized void add(String topic, List<String> keys, long physicalOffset, int size, long storeTimestamp) {
            fillFor(count + keys.size()); // checks the file is open; fills only where no reserve did (recovery)
            int entriesStart = entriesStart();
            for (String key : keys) {
                long hash = hash(topic, key);
                int slot = HEADER_SIZE + (int) Math.floorMod(hash, (long) slots) * SLOT_SIZE;
                int number = count + 1;
                int p = entriesStart + count * ENTRY_SIZE;
                map.putLong(p, hash);
                map.putLong(p + 8, physicalOffset);
                map.putLong(p + 16, storeTimestamp);
                map.putInt(p + 24, map.getInt(slot));
                map.putInt(slot, number);
                count = number;
            }
            map.putInt(ENTRY_COUNT_OFFSET, count);
            map.putLong(END_PHYSICAL_OFFSET, physicalOffset + size);
            map.putLong(END_TIMESTAMP_OFFSET, storeTimestamp);
        }

        synchronized void lookup(long hash, int max, Set<Long> out) {
            if (released) {
                return; // deleted by retention since the caller listed it: its records are gone too
            }
            int entriesStart = entriesStart();
            int number = map.getInt(HEADER_SIZE + (int) Math.floorMod(hash, (long) slots) * SLOT_SIZE);
            int guard = 0;
            while (number > 0 && number <= capacity && out.size() < max && guard++ < capacity) {
                int p = entriesStart + (number - 1) * ENTRY_SIZE;
                if (map.getLong(p) == hash) {
                    out.add(map.getLong(p + 8));
                }
                int previous = map.getInt(p + 24);
                number = previous < number ? previous : 0;
            }
        }

        void delete() {
            close();
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete key index " + path, e);
            }
        }

        /**
         * Lets go of the file: no lookup reads it afterwards (they hold the monitor and look at
         * {@code released} first); the mapping goes once a force under way has finished.
         */
        synchronized void close() {
            if (released) {
                return;
            }
            releasedEndPhysical = map.getLong(END_PHYSICAL_OFFSET);
            released = true;
            mapping.releaseOwner();
        }
    }
}
