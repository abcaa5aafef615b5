package dev.ferry.gateway;

import io.netty.buffer.ByteBuf;
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
    private final ByteBuf payload;
    private final FrameBudget budget;
    private final long reserved;

    Frame(ByteBuf payload, FrameBudget budget, long reserved) {
        this.payload = payload;
        this.budget = budget;
        this.reserved = reserved;
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
