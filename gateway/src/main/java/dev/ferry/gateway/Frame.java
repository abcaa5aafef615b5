package dev.ferry.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.AbstractReferenceCounted;

/**
 * A request frame's payload as the {@link FrameDecoder} passes it on, with the bytes it holds of
 * the {@link FrameBudget}: they are returned when the frame is released, by whichever path
 * releases it (carried out, put off and carried out later, dropped with a closing connection, or
 * released by Netty at the pipeline's tail). So memory counts against the budget for as long as
 * the request's buffer is held, also while a connection whose replies are not read holds frames
 * put off, and is returned exactly once ({@link AbstractReferenceCounted} deallocates once).
 *
 * <p>Reference counted as one: release it, not its payload. Event loop only, as any message.
 */
final class Frame extends AbstractReferenceCounted {
    private ByteBuf payload;
    private final FrameBudget budget;
    private final long reserved;

    Frame(ByteBuf payload, FrameBudget budget, long reserved) {
        this.payload = payload;
        this.budget = budget;
        this.reserved = reserved;
    }

    /**
     * Makes this frame hold its own bytes, not a view of a much larger buffer: called when it is
     * put off (its client does not read its replies), for an unknown time. The decoder passes
     * frames on as slices of its read buffer, so a small frame read with the end of a large one
     * kept the large one's whole buffer alive after the large frame was done and had returned its
     * reservation: a few bytes counted against the budget, a frame limit's worth held, on every
     * connection doing so. A payload that is at least half of the buffer it is a view of is kept
     * as it is (its reservation covers at least half of what it holds, as a read buffer's own
     * rounding up does). Returns this; event loop only.
     */
    Frame compact() {
        int length = payload.readableBytes();
        if (backing().capacity() > 2L * length) {
            ByteBuf copy = Unpooled.copiedBuffer(payload);
            ByteBuf view = payload;
            payload = copy;
            view.release();
        }
        return this;
    }

    /** The bytes of the budget this frame holds. */
    long reserved() {
        return reserved;
    }

    /**
     * Bytes of memory this frame keeps from being freed: the capacity of the buffer its payload is
     * a view of (the decoder's whole read buffer, for a slice), else the payload's own. For tests
     * and diagnostics; event loop only.
     */
    long heldCapacity() {
        return backing().capacity();
    }

    /** The buffer whose memory the payload is (a view of). */
    ByteBuf backing() {
        ByteBuf b = payload;
        while (b.unwrap() != null) {
            b = b.unwrap();
        }
        return b;
    }

    /** The payload (without its length prefix); valid until this frame is released. */
    ByteBuf payload() {
        return payload;
    }

    @Override
    protected void deallocate() {
        try {
            payload.release();
        } finally {
            budget.release(reserved);
        }
    }

    @Override
    public Frame touch(Object hint) {
        payload.touch(hint);
        return this;
    }
}
