package dev.ferry.log;

import java.nio.ByteBuffer;

/**
 * Writes records straight into the segments' mappings, over space the {@link SegmentFiller} has
 * zero-filled (so that the blocks are reserved and a full disk is an error, not a SIGBUS) ahead of
 * the appender. Used under SYNC flush (the group commit forces the mapped bytes) and under ASYNC
 * when staged writes are off. The appender writes through the filler's write windows, small
 * mappings it unmaps once the appender is past them; a record across two windows goes through
 * the segment's own mapping.
 *
 * <p><b>Thread safety.</b> The appender's (see {@link WritePath}).
 */
final class MappedWritePath implements WritePath {
    private final SegmentFiller filler;
    private final long fillAheadBytes;
    /** The appender wakes the filler when its end passes this. */
    private long fillWakeAt;
    /** The appender's current write window. */
    private SegmentFiller.Window window;
    private int writeBase;

    MappedWritePath(SegmentFiller filler, long fillAheadBytes) {
        this.filler = filler;
        this.fillAheadBytes = fillAheadBytes;
    }

    @Override
    public void checkWritable() {
        // a full disk shows when the filler cannot prepare space: awaitSpace fails
    }

    @Override
    public void beforeRollOver(Segment s, long recordEnd) {
        // the filler creates the next segment; taking it waits for that
    }

    @Override
    public void endSegment(Segment s) {
        RecordCodec.writeEndOfSegment(s.map, s.writePosition, s.remaining());
    }

    @Override
    public void awaitSpace(long end) {
        if (end > fillWakeAt) {
            filler.wake();
            fillWakeAt = end + fillAheadBytes / 4;
        }
        filler.awaitFilled(end);
    }

    @Override
    public void reserve(long end, long nextSegmentBase) {
        filler.awaitFilled(end); // the filler prepares in log order: the next segment too
    }

    @Override
    public ByteBuffer writeBuffer(Segment s, int pos, int length) {
        SegmentFiller.Window w = filler.windowFor(window, s, pos);
        window = w;
        if (w != null && w.covers(s, pos, length)) {
            writeBase = w.from();
            return w.buffer();
        }
        writeBase = 0;
        return s.map.duplicate(); // readers share s.map: its limit must not move
    }

    @Override
    public int writeBase() {
        return writeBase;
    }

    @Override
    public void wrote(Segment s, int pos, int length) {
        // the bytes are in the segment's page cache already
    }

    @Override
    public void ensureWritten(long upTo) {
        // published bytes are in the segments already
    }

    @Override
    public long waitNanos() {
        return 0; // the filler counts the appender's waits
    }

    @Override
    public void close(long end) {
        if (window != null) {
            Unmapper.unmap(window.buffer());
            window = null;
        }
    }
}
