package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * Staged writes (ASYNC flush): the appender writes each record into a small ring of memory that
 * is a mapped file, and a committer thread copies the ring into the segment files with
 * {@code FileChannel.write}, each time {@link #COMMIT_STEP} bytes were appended and at least every
 * {@code commitIntervalMs} (LogConfig).
 *
 * <p><b>Why.</b> Writing records straight into the segment's mapping needs its pages prepared
 * first (a zero {@code write()} that reserves the blocks, so that a full disk is an error and not
 * a SIGBUS): the pages are then written twice, once with zeros by the filler and once with the
 * records by the appender, whose stores miss the cache. Here the appender writes into a ring whose
 * pages are always there (no fill ahead, no fault), and the committer's {@code write()} is exactly
 * the raw sequential write a file system does best: it allocates each page-cache page and fills it once, and a full disk is an
 * {@code IOException} (ENOSPC), never a fault. Measured on the 2-core VM of docs/PERFORMANCE.md
 * ("Session 6"), 1 KiB records went from a median of 0.465 of the raw {@code FileChannel.write}
 * rate (the mapped path, same build, alternating runs) to 0.564.
 *
 * <p><b>Nothing acknowledged is lost to a crash of the process.</b> The ring is a shared mapping
 * of the file {@code staging} in the store's directory, so an appended record is in the page cache
 * as soon as the append returns, as with a mapped segment. After a crash, {@link Recovery} asks
 * {@link #recordAt} for the record at each position past the log's last whole record and writes
 * back what it finds ({@link #recordAt} verifies length, magic, position and CRC first). The ring is
 * zeroed (and forced) each time a store opens, so it only ever holds records of one run of the
 * store, whose positions never repeat: a stale record cannot match a position it was not written
 * at.
 *
 * <p><b>Readers and the flusher</b> see the segment files, so they call {@link #commit} for what
 * they need first ({@link CommitLog#ensureWritten}); one commit runs at a time.
 *
 * <p><b>A full disk.</b> The file also holds a reserve: {@link #reserveBytes} of zeros written
 * after the ring, real blocks on disk. A commit that fails (ENOSPC) gives them back to the file
 * system (it truncates the file to the ring's end) and tries again, so everything appended so far
 * still reaches the segment files and stays readable; from then on appends fail with the error, before
 * they write anything, until the committer thread manages to write the reserve again (it tries
 * every second), which is when there is room again. Only if the reserve does not cover it (another
 * process takes the freed space first) does the commit fail; the records then stay in the ring, in
 * the page cache, reads of them fail with the error, and a later commit or the next open writes them.
 *
 * <h2>File format ({@code staging})</h2>
 *
 * <table>
 *   <caption>staging file</caption>
 *   <tr><th>offset</th><th>size</th><th>field</th></tr>
 *   <tr><td>0</td><td>4</td><td>magic {@code 0x46535447} ("FSTG")</td></tr>
 *   <tr><td>4</td><td>2</td><td>version (1)</td></tr>
 *   <tr><td>6</td><td>2</td><td>reserved (0)</td></tr>
 *   <tr><td>8</td><td>4</td><td>ring size R in bytes, a power of two</td></tr>
 *   <tr><td>12</td><td>4084</td><td>zero</td></tr>
 *   <tr><td>4096</td><td>R</td><td>the ring: the log byte at physical offset p is at 4096 + (p mod R)</td></tr>
 *   <tr><td>4096 + R</td><td>R + 1 MiB</td><td>the reserve: zeros; absent (the file ends at the ring) while the disk is
 *   full</td></tr>
 * </table>
 *
 * <p>The ring holds the log's bytes exactly as the segments will: records in the format of
 * {@link RecordLayout}, and at a segment's end its end-of-segment marker and the zeros after it. A
 * record may wrap from the ring's end to its start.
 *
 * <p><b>Thread safety.</b> {@link #target}, {@link #put} and {@link #awaitSpace} are the
 * appender's (under the store's append lock); {@link #commit} runs under the ring's own lock, on any
 * thread; {@link #committedOffset} may be read by anyone.
 */
final class StagingRing {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StagingRing.class);
    static final String FILE = "staging";
    static final int MAGIC = 0x46535447;
    static final short VERSION = 1;
    static final int HEADER = 4096;
    /** The appender wakes the committer each time this many bytes were staged. */
    static final int COMMIT_STEP = 256 << 10;
    private static final long RESERVE_RETRY_NS = 1_000_000_000L;

    private final Path path;
    private final FileChannel channel;
    private final MappedByteBuffer map;
    private final int ringBytes;
    private final long mask;
    /** Where each position's segment is (the commit log's lookup). */
    private final LongFunction<Segment> segmentFor;
    /** The appender's view of the ring (its position and limit are the appender's to move). */
    private final ByteBuffer appenderView;
    /** The committer's view; under {@link #commitLock}. */
    private final ByteBuffer commitView;
    private final ReentrantLock commitLock = new ReentrantLock();
    /** Time the appender spent committing to make room in the ring; written by the appender, read by anyone. */
    private volatile long waitNanos;
    /** The end of what the appender staged; appender only. */
    private long stagedEnd;
    /** The appender wakes the committer when {@link #stagedEnd} passes this; appender only. */
    private long wakeAt;
    /** Everything below is in the segment files; written under the commit lock. */
    private volatile long committedOffset;
    /** The end the committer thread commits up to (the log's published end). */
    private final LongSupplier publishedEnd;
    private final Thread thread;
    /** The committer thread commits at least this often (when anything was appended). */
    private final long commitIntervalNs;
    private volatile boolean stopping;
    /**
     * Null while the reserve is on disk; else why it was given back (a commit's error, "No space
     * left on device"): appends fail with it. Written under the commit lock.
     */
    private volatile IOException diskFull;
    private long lastReserveTry;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set (under the commit lock) once the ring is unmapped: no commit may read it any more. */
    private boolean unmapped;

    private StagingRing(Path path, FileChannel channel, MappedByteBuffer map, int ringBytes, LongFunction<Segment> segmentFor,
                        long end, LongSupplier publishedEnd, int commitIntervalMs, boolean committer) {
        this.commitIntervalNs = commitIntervalMs * 1_000_000L;
        this.path = path;
        this.channel = channel;
        this.map = map;
        this.ringBytes = ringBytes;
        this.mask = ringBytes - 1L;
        this.segmentFor = segmentFor;
        this.appenderView = map.duplicate();
        this.commitView = map.duplicate();
        this.stagedEnd = end;
        this.committedOffset = end;
        this.wakeAt = end + COMMIT_STEP;
        this.publishedEnd = publishedEnd;
        this.thread = committer ? new Thread(this::run, "ferry-committer") : null;
    }

    /** Starts the committer thread, once the ring's state is set. */
    private void startCommitter() {
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * The ring a store that opens finds in {@code dir} (left by its last run), for recovery to read
     * records from; null if there is none or it is not a staging file of this format.
     */
    static StagingRing openForRecovery(Path dir) {
        Path path = dir.resolve(FILE);
        if (!Files.isRegularFile(path)) {
            return null;
        }
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                long size = ch.size();
                if (size < HEADER) {
                    ch.close();
                    return null;
                }
                ByteBuffer header = ByteBuffer.allocate(12);
                while (header.hasRemaining() && ch.read(header, header.position()) > 0) {
                    // reads the fixed fields
                }
                int ring = header.getInt(8);
                if (header.getInt(0) != MAGIC || header.getShort(4) != VERSION || Integer.bitCount(ring) != 1
                        || size < HEADER + (long) ring) {
                    LOG.warn("{}: not a staging file of this version (size {}); recovery does not read it", path, size);
                    ch.close();
                    return null;
                }
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, HEADER + (long) ring);
                return new StagingRing(path, ch, map, ring, p -> null, 0, () -> 0, 1, false);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates (or recreates) the ring of {@code ringBytes} (a power of two) in {@code dir} for a
     * store whose log ends at {@code end}: header and zeros, forced to disk before it is used (the
     * reserve is written only if the file does not hold it already), and starts the committer thread.
     * Zeros go over the blocks the file already has, so a store that stopped while the disk was full
     * (its reserve given back, the file ending at the ring) opens again on a disk that is still
     * full: if the reserve finds no room, the ring starts as a commit that found the disk full
     * leaves it (reads work, appends fail until the committer writes the reserve again).
     */
    static StagingRing create(Path dir, int ringBytes, long end, LongFunction<Segment> segmentFor,
                              LongSupplier publishedEnd, int commitIntervalMs) {
        if (Integer.bitCount(ringBytes) != 1) {
            throw new IllegalArgumentException("ring size " + ringBytes + " (expected: a power of two)");
        }
        Path path = dir.resolve(FILE);
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                long ringEnd = HEADER + (long) ringBytes;
                long whole = ringEnd + reserveBytes(ringBytes);
                // every byte below `whole` is rewritten except a reserve already there (zeros, never written
                // otherwise); the file keeps its blocks, so rewriting them needs no new space
                long size = ch.size();
                if (size > whole) {
                    ch.truncate(whole);
                }
                ByteBuffer header = ByteBuffer.allocate(HEADER);
                header.putInt(0, MAGIC).putShort(4, VERSION).putInt(8, ringBytes);
                while (header.hasRemaining()) {
                    ch.write(header, header.position());
                }
                // real blocks: the mapping can never fault on a full disk; then the reserve
                Zeros.write(ch, HEADER, ringEnd);
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, ringEnd);
                StagingRing ring = new StagingRing(path, ch, map, ringBytes, segmentFor, end, publishedEnd, commitIntervalMs, true);
                IOException noRoom = size == whole ? null : ring.writeReserve();
                if (noRoom != null) {
                    if (!OutOfSpace.is(noRoom, path, whole - ringEnd)) {
                        throw noRoom;
                    }
                    ring.diskFull = noRoom;
                    ring.lastReserveTry = System.nanoTime();
                    LOG.error("no room for the {} bytes of the reserve in {} ({}): the store opens, appends fail until the"
                            + " reserve can be written", reserveBytes(ringBytes), path, noRoom.getMessage());
                }
                ch.force(true);
                ring.startCommitter();
                return ring;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + path + ": " + e.getMessage(), e);
        }
    }

    /** Removes a ring left by an earlier run (the store now writes through mappings). */
    static void delete(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(FILE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }

    int ringBytes() {
        return ringBytes;
    }

    /** The reserve a ring of {@code ringBytes} keeps on disk: all it can hold, and 1 MiB for the file system's own blocks. */
    static long reserveBytes(int ringBytes) {
        return ringBytes + (1L << 20);
    }

    long committedOffset() {
        return committedOffset;
    }

    /** Time the appender spent committing because the ring was full, in nanoseconds. */
    long waitNanos() {
        return waitNanos;
    }

    /**
     * Recovery: a heap copy of the whole record the ring holds for physical offset {@code phys},
     * verified as {@link RecordCodec#check} verifies one in a segment (its stored position must be
     * {@code phys}), or null if the ring holds none there. {@code maxLength}: the room left in
     * the segment.
     */
    ByteBuffer recordAt(long phys, int maxLength) {
        int lengthField = getInt(phys);
        if (lengthField < RecordLayout.MIN_RECORD_SIZE || lengthField > Math.min(maxLength, ringBytes)) {
            return null;
        }
        // magic and position before the whole length is allocated: stale ring bytes can hold any length up to the ring's
        ByteBuffer head = ByteBuffer.allocate(RecordLayout.MIN_RECORD_SIZE);
        copyOut(phys, head);
        if (head.getShort(RecordLayout.MAGIC_OFFSET) != RecordLayout.MAGIC || head.getLong(RecordLayout.PHYSICAL_OFFSET_OFFSET) != phys) {
            return null;
        }
        ByteBuffer copy = ByteBuffer.allocate(lengthField);
        copyOut(phys, copy);
        copy.clear();
        return RecordCodec.check(copy, 0, lengthField, phys) instanceof RecordCodec.Whole ? copy : null;
    }

    /**
     * Recovery: true if the ring holds, at {@code phys}, the end-of-segment marker of a segment
     * with {@code remaining} bytes left there.
     */
    boolean endOfSegmentAt(long phys, int remaining) {
        ByteBuffer header = ByteBuffer.allocate(RecordLayout.END_MARKER_SIZE);
        copyOut(phys, header);
        return header.getInt(RecordLayout.LENGTH_OFFSET) == remaining
                && header.getShort(RecordLayout.MAGIC_OFFSET) == RecordLayout.END_OF_SEGMENT_MAGIC;
    }

    /**
     * Appender: the buffer to write a record of {@code length} bytes at {@code phys} into, at index
     * {@link #index}{@code (phys)}; null if the record wraps around the ring's end (write it
     * elsewhere and {@link #put} it).
     */
    ByteBuffer target(long phys, int length) {
        return index(phys) + length <= HEADER + ringBytes ? appenderView : null;
    }

    /** The index in {@link #target}'s buffer of physical offset {@code phys}. */
    int index(long phys) {
        return HEADER + (int) (phys & mask);
    }

    /** Appender: copies {@code src} (position to limit) into the ring at {@code phys}, wrapping at its end. */
    void put(long phys, ByteBuffer src) {
        int at = index(phys);
        int first = Math.min(src.remaining(), HEADER + ringBytes - at);
        appenderView.put(at, src, src.position(), first);
        appenderView.put(HEADER, src, src.position() + first, src.remaining() - first);
    }

    /**
     * Appender, before it writes bytes up to {@code end}: makes room for them in the ring,
     * committing what it staged before if it must (a failure here, a full disk, fails the append
     * with nothing written).
     */
    void awaitSpace(long end) {
        if (end - committedOffset > ringBytes) {
            long start = System.nanoTime();
            try {
                commit(stagedEnd);
            } finally {
                waitNanos += System.nanoTime() - start;
            }
            if (end - committedOffset > ringBytes) {
                throw new LogException("staging ring of " + ringBytes + " bytes cannot hold a write up to " + end
                        + " (committed " + committedOffset + ")");
            }
        }
    }

    /**
     * Appender, before an append or a batch writes anything: fails it if a commit found the disk
     * full and the reserve is not back yet.
     */
    void checkWritable() {
        IOException full = diskFull;
        if (full != null) {
            throw new DiskFullException("cannot append: the disk is full (" + full.getMessage() + "); appends resume once space is"
                    + " freed", full);
        }
    }

    /** Appender: it wrote everything below {@code end}; wakes the committer every {@link #COMMIT_STEP}. */
    void staged(long end) {
        stagedEnd = end;
        if (end >= wakeAt) {
            wakeAt = end + COMMIT_STEP;
            LockSupport.unpark(thread);
        }
    }

    /** Commits everything published if the segment files do not hold every byte below {@code upTo} yet. Any thread. */
    void ensureCommitted(long upTo) {
        if (committedOffset < upTo) {
            commit(publishedEnd.getAsLong());
        }
    }

    /**
     * Copies the ring's bytes from the committed offset up to {@code upTo} into the segment files
     * ({@code FileChannel.write}, split where a segment or the ring ends). Any thread; one at a time.
     */
    void commit(long upTo) {
        if (upTo <= committedOffset) {
            return;
        }
        boolean interrupted = Thread.interrupted(); // a channel write on an interrupted thread closes the channel
        commitLock.lock();
        try {
            if (unmapped) {
                throw new LogException("store is closed: cannot commit " + path);
            }
            long from = committedOffset;
            for (int closedByInterrupt = 0; from < upTo; ) {
                Segment s = segmentFor.apply(from);
                if (s == null) {
                    throw new LogException("no segment holds position " + from + " of the staged log");
                }
                long end = Math.min(upTo, s.endOffset());
                int at = index(from);
                int n = (int) Math.min(end - from, HEADER + (long) ringBytes - at);
                commitView.limit(at + n).position(at);
                try {
                    FileChannel ch = s.commitChannel();
                    long filePos = from - s.baseOffset;
                    while (commitView.hasRemaining()) {
                        filePos += ch.write(commitView, filePos);
                    }
                } catch (java.nio.channels.ClosedByInterruptException e) {
                    // another thread interrupted this one during the write: the next try opens a new channel
                    interrupted |= Thread.interrupted();
                    if (++closedByInterrupt > 3) {
                        throw new LogException("cannot write the commit log at " + from + ": interrupted", e);
                    }
                    continue;
                } catch (IOException e) {
                    if (diskFull == null && OutOfSpace.is(e, s.path, upTo - from) && releaseReserve(e)) {
                        continue; // the same piece again, into the space the reserve held
                    }
                    throw new LogException("cannot write the commit log at " + from + " (" + s.path + "): " + e.getMessage(), e);
                }
                from += n;
                committedOffset = from;
                if (from == s.endOffset()) {
                    s.closeCommitChannel(); // the appender has moved to the next segment for good
                }
            }
        } finally {
            commitLock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * A commit failed: gives the reserve's blocks back to the file system, so that what is staged
     * can be written, and makes appends fail from now on. Under the commit lock. False if the file
     * could not be truncated.
     */
    private boolean releaseReserve(IOException cause) {
        try {
            channel.truncate(HEADER + (long) ringBytes);
        } catch (IOException e) {
            cause.addSuppressed(e);
            return false;
        }
        diskFull = cause;
        lastReserveTry = System.nanoTime();
        LOG.error("cannot write the commit log ({}): gave back the {} bytes reserved in {} to write what was appended;"
                + " appends fail until the reserve can be written again", cause.getMessage(), reserveBytes(ringBytes), path);
        return true;
    }

    /** Committer thread, while the disk is full: writes the reserve again, once a second; appends resume when it succeeds. */
    private void tryRestoreReserve() {
        if (System.nanoTime() - lastReserveTry < RESERVE_RETRY_NS) {
            return;
        }
        commitLock.lock();
        try {
            lastReserveTry = System.nanoTime();
            if (writeReserve() == null) {
                diskFull = null;
                LOG.info("the reserve in {} is written again: appends resume", path);
            }
        } finally {
            commitLock.unlock();
        }
    }

    /**
     * Writes the reserve's zeros after the ring; returns null, or the error after giving back what
     * was written of it (the file ends at the ring again).
     */
    private IOException writeReserve() {
        long end = HEADER + (long) ringBytes;
        try {
            Zeros.write(channel, end, end + reserveBytes(ringBytes));
            return null;
        } catch (IOException e) {
            try {
                channel.truncate(end);
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            return e;
        }
    }

    /** The committer thread: commits what was published each time the appender wakes it. */
    private void run() {
        while (!stopping) {
            LockSupport.parkNanos(this, commitIntervalNs);
            try {
                if (diskFull != null) {
                    tryRestoreReserve();
                    LockSupport.parkNanos(this, RESERVE_RETRY_NS / 10);
                }
                commit(publishedEnd.getAsLong());
            } catch (LogException e) {
                // a full disk: readers and the appender see the error on their own commits; retry at the next wake-up
                LOG.debug("commit failed; retrying", e);
            } catch (RuntimeException | Error e) {
                // the thread goes on: without it the ring is committed only by readers, the flusher and a full ring
                LOG.error("committer: unexpected failure; retrying in 1 s", e);
                LockSupport.parkNanos(this, RESERVE_RETRY_NS);
            }
        }
    }

    /**
     * Stops the committer thread, commits {@code end} and unmaps the ring; again: nothing. A commit
     * that comes after (a reader that still held the ring) fails with "store is closed".
     */
    void close(long end) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        stopping = true;
        if (thread != null) {
            LockSupport.unpark(thread);
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (thread != null) {
                commit(end);
            }
        } finally {
            commitLock.lock();
            try {
                unmapped = true;
                Unmapper.unmap(map);
            } finally {
                commitLock.unlock();
            }
            try {
                channel.close();
            } catch (IOException e) {
                LOG.warn("closing {}: {}", path, e.toString());
            }
        }
    }

    private int getInt(long phys) {
        ByteBuffer four = ByteBuffer.allocate(4);
        copyOut(phys, four);
        return four.getInt(0);
    }

    /** Copies ring bytes from {@code phys} on into {@code dst} (position to limit), wrapping at the ring's end. */
    private void copyOut(long phys, ByteBuffer dst) {
        int at = index(phys);
        int first = Math.min(dst.remaining(), HEADER + ringBytes - at);
        dst.put(dst.position(), map, at, first);
        dst.put(dst.position() + first, map, HEADER, dst.remaining() - first);
        dst.position(dst.limit());
    }
}
