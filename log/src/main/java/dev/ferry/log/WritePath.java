package dev.ferry.log;

import java.nio.ByteBuffer;

/**
 * How the appender's bytes reach the segment files. {@link CommitLog} decides where a record goes
 * (which segment, which position) and hands the writing to one of two paths, chosen by the flush
 * mode when the store opens:
 * <ul>
 *   <li>{@link MappedWritePath}: straight into the segments' mappings, over space the
 *   {@link SegmentFiller} zero-filled ahead of the appender (SYNC flush, and ASYNC with staged
 *   writes off);</li>
 *   <li>{@link StagedWritePath}: into a {@link StagingRing} that a committer thread copies into the
 *   segment files with {@code FileChannel.write} (ASYNC flush, the default).</li>
 * </ul>
 *
 * <p>The appender's calls for one record, in order: {@link #checkWritable}, (at a roll-over)
 * {@link #beforeRollOver} and {@link #endSegment}, {@link #awaitSpace}, {@link #writeBuffer},
 * {@link #writeBase}, {@link #wrote}. A batch calls {@link #reserve} once first.
 *
 * <p><b>Thread safety.</b> Everything but {@link #ensureWritten} and {@link #waitNanos} is called by
 * the appender (under the store's append lock) or by {@link CommitLog} while no append runs.
 */
sealed interface WritePath permits MappedWritePath, StagedWritePath {

    /** Before an append or a batch writes anything: fails it if the path cannot take bytes now (a full disk). */
    void checkWritable();

    /**
     * A record that does not fit in the active segment {@code s} ends it: called before the next
     * segment is taken, with the end the record will have there. A failure here fails the append
     * with nothing written.
     */
    void beforeRollOver(Segment s, long recordEnd);

    /** Writes {@code s}'s end-of-segment marker (and the zeros after it) in place of its remaining bytes. */
    void endSegment(Segment s);

    /** Waits until bytes up to {@code end} (in the active segment) may be written; a failure fails the append. */
    void awaitSpace(long end);

    /**
     * Before a batch whose records end at {@code end}: waits until all of its space is prepared,
     * so that a failure (a full disk) fails the batch before its first record, not halfway (the
     * records written would be published by the next append). {@code nextSegmentBase}: the base of
     * the segment the batch rolls over into, or -1 if it stays in the active one.
     */
    void reserve(long end, long nextSegmentBase);

    /**
     * Where the appender writes {@code length} bytes at {@code pos} of {@code s}: the bytes go at
     * buffer index {@code pos - writeBase()}. The buffer is the appender's own: it may move its
     * position and limit.
     */
    ByteBuffer writeBuffer(Segment s, int pos, int length);

    /** The segment position at index 0 of the last {@link #writeBuffer}. */
    int writeBase();

    /** The appender wrote {@code length} bytes at {@code pos} of {@code s} into the last {@link #writeBuffer}. */
    void wrote(Segment s, int pos, int length);

    /**
     * Makes every published byte below {@code upTo} readable through the segment files, writing
     * what is only staged if need be (a failure, a full disk, throws {@link LogException}). Any thread.
     */
    void ensureWritten(long upTo);

    /** Time the appender waited for space on this path, in nanoseconds. Any thread. */
    long waitNanos();

    /**
     * The log ends at {@code end} and no append follows: writes what is staged and releases what
     * the path holds. Called once, after the segment filler is closed.
     */
    void close(long end);
}
