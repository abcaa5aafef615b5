package dev.ferry.log;

import java.nio.ByteBuffer;

/**
 * Staged writes (ASYNC flush, the default): the appender writes each record into the
 * {@link StagingRing}, whose committer thread copies it into the segment files with
 * {@code FileChannel.write}; readers, retention and the flusher commit what they need first
 * ({@link #ensureWritten}). The segments' space needs no filling ahead (the {@link SegmentFiller}
 * only creates the next segment), and a full disk is an error of a commit, which the ring turns
 * into failed appends before anything is written ({@link #checkWritable}). Why this path is faster
 * than writing through the mappings: see {@link StagingRing}.
 *
 * <p><b>Thread safety.</b> The appender's (see {@link WritePath}); {@link #ensureWritten} and
 * {@link #waitNanos} on any thread.
 */
final class StagedWritePath implements WritePath {
    private final StagingRing ring;
    private final SegmentFiller filler;
    /** Where a record that wraps around the ring's end is written first. */
    private ByteBuffer wrapBuffer;
    /** The last {@link #writeBuffer} was {@link #wrapBuffer}. */
    private boolean wrapped;
    private int writeBase;

    StagedWritePath(StagingRing ring, SegmentFiller filler) {
        this.ring = ring;
        this.filler = filler;
    }

    @Override
    public void checkWritable() {
        ring.checkWritable();
    }

    @Override
    public void beforeRollOver(Segment s, long recordEnd) {
        ring.awaitSpace(recordEnd); // before anything is written: a full disk fails the append here
    }

    /**
     * The rest of {@code s} (an end-of-segment marker, then zeros) goes into the ring like any
     * appended bytes, so commits copy the log's bytes as they are.
     */
    @Override
    public void endSegment(Segment s) {
        // smaller than a record; once per segment
        ring.put(s.baseOffset + s.writePosition, RecordCodec.endOfSegment(s.remaining()));
        ring.staged(s.endOffset());
    }

    @Override
    public void awaitSpace(long end) {
        ring.awaitSpace(end);
    }

    @Override
    public void reserve(long end, long nextSegmentBase) {
        ring.awaitSpace(end);
        if (nextSegmentBase >= 0) {
            filler.awaitFilled(nextSegmentBase + 1); // the next segment exists: the roll-over cannot fail halfway through
        }
    }

    @Override
    public ByteBuffer writeBuffer(Segment s, int pos, int length) {
        long phys = s.baseOffset + pos;
        ByteBuffer target = ring.target(phys, length);
        if (target != null) {
            writeBase = pos - ring.index(phys);
            return target;
        }
        if (wrapBuffer == null || wrapBuffer.capacity() < length) {
            wrapBuffer = ByteBuffer.allocate(length);
        }
        wrapped = true;
        writeBase = pos;
        return wrapBuffer;
    }

    @Override
    public int writeBase() {
        return writeBase;
    }

    /** A record that wraps around the ring goes into it now; the committer is woken every {@link StagingRing#COMMIT_STEP} bytes. */
    @Override
    public void wrote(Segment s, int pos, int length) {
        long phys = s.baseOffset + pos;
        if (wrapped) {
            wrapped = false;
            wrapBuffer.limit(length).position(0);
            ring.put(phys, wrapBuffer);
            wrapBuffer.clear();
        }
        ring.staged(phys + length);
    }

    @Override
    public void ensureWritten(long upTo) {
        ring.ensureCommitted(upTo);
    }

    @Override
    public long waitNanos() {
        return ring.waitNanos();
    }

    /** Commits what is left; if that fails (a full disk) it stays in the ring for the next open. */
    @Override
    public void close(long end) {
        ring.close(end);
    }
}
