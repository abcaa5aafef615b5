package dev.ferry.gateway;

import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splits the byte stream after the handshake into frames ({@link Frames}: u32 length + payload)
 * and passes each payload on as a retained slice, without copying. The length is checked
 * against the frame limit as soon as its 4 bytes are there, before any buffer grows for the
 * payload; a frame over the limit is answered with {@link Status#FRAME_TOO_LARGE} (request id 0:
 * the request was never read) and the connection is closed, since the stream cannot be
 * resynchronised. The error goes down the pipeline as a {@link BadStream}, behind the frames
 * read before it: the connection handler answers those first and only then writes the error and
 * closes. Written from here at once, the error closed the connection before a SEND in the same
 * read was answered, and a message that was stored looked lost to its client, which sent it again.
 *
 * <p><b>Incomplete frames.</b> A frame begun is held in memory (up to a whole frame's size) until
 * its last byte, so a client that stops half-way through one, or sends it a few bytes at a time,
 * would hold that memory for good. A frame must be complete {@code frameTimeoutMs} of reading
 * time after its first byte: time the broker does not read the connection (its replies are
 * piling up unsent, see {@link ConnectionHandler#channelWritabilityChanged}) does not count, up to
 * {@value #MAX_PAUSED_TIMEOUTS} timeouts in all, after which a client that neither finishes its
 * frame nor reads its replies is closed too.
 *
 * <p><b>Memory for frames, all connections together.</b> A frame's announced length is reserved
 * from the gateway's {@link FrameBudget} as soon as its length prefix is read (and checked), before
 * the buffer grows for its payload; the frame is passed on as a {@link Frame}, which returns the
 * reservation when it is released: when its request has been decoded, or when it is dropped. So the
 * budget also covers frames put off while a connection's replies are not read, which returning it
 * at hand-on would have missed (a client can have a maximum frame put off that way). A frame
 * abandoned half read (the connection closed, failed or timed out) returns its reservation at once.
 * If the budget cannot cover a frame, the connection is not read ({@link ReadPause#WAITING_FOR_MEMORY}
 * tells the connection handler, which owns autoRead) until the budget grants it, first come first
 * served; then the bytes already here are decoded and reading resumes. Meanwhile it holds at most
 * what the read that brought the length prefix had read (one socket read), the rest stays in the
 * kernel, and the client sees TCP back-pressure, not an error. Time waiting for memory is not the
 * client's: a frame's timeout runs from when its memory was granted, and a half-close read while
 * waiting is taken up only after the frame was given its chance to complete. Not sharable: one per
 * connection.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    /** An incomplete frame is given at most this many frame timeouts of wall time, paused or not. */
    static final int MAX_PAUSED_TIMEOUTS = 4;

    /**
     * Told to the connection handler (a user event) as this connection stops and may resume being
     * read for want of {@link FrameBudget} memory: it owns the channel's autoRead, also paused
     * for unsent replies.
     */
    enum ReadPause { WAITING_FOR_MEMORY, MEMORY_GRANTED }

    private final Limits limits;
    private final long frameTimeoutNanos;
    private final FrameBudget budget;
    private ChannelHandlerContext ctx;
    private boolean failed;
    /** Bytes reserved for the frame at the head of the buffer, -1 if none; event loop only (as every field below). */
    private long reservation = -1;
    /** This connection's place in the budget's queue, null if not waiting. */
    private Wait waiting;
    /** The client shut its output while this connection waited for memory: taken up once it is granted. */
    private ChannelInputShutdownEvent shutdownWhileWaiting;
    /** The channel closed or this decoder left it: a grant arriving now is returned at once. */
    private boolean gone;
    /** When the incomplete frame now held began (its memory granted), -1 if none. */
    private long frameStart = -1;
    /** Time the connection was not read since {@link #frameStart}, pauses that ended. */
    private long pausedNanos;
    /** When the current pause of reading began, -1 if reading. */
    private long pausedSince = -1;
    private ScheduledFuture<?> stallCheck;

    FrameDecoder(Limits limits, long frameTimeoutMs, FrameBudget budget) {
        this.limits = limits;
        this.frameTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(frameTimeoutMs);
        this.budget = budget;
        setCumulator(this::cumulate);
    }

    /** A read buffer larger than this and more than twice what it must hold is replaced by one of the right size. */
    static final int COMPACT_ABOVE = 64 << 10;

    /**
     * As {@link #MERGE_CUMULATOR}, and an empty read (see {@link #compactIfOversized}) replaces an
     * oversized read buffer by a copy of what it holds. The buffer grows to a frame's size while
     * the frame is read; the next frame's first bytes, read with the frame's end, stayed in it, so
     * a connection kept a frame limit's worth of memory (for as long as the next frame took, up to
     * four frame timeouts) while the budget counted the next frame's few bytes, and connections
     * doing so one after the other held many times the budget.
     */
    private ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        if (!in.isReadable() && cumulation.isReadable() && oversized(cumulation)) {
            ByteBuf compact = alloc.buffer(cumulation.readableBytes());
            compact.writeBytes(cumulation);
            cumulation.release(); // frames passed on as slices of it hold their own references
            in.release();
            return compact;
        }
        return MERGE_CUMULATOR.cumulate(alloc, cumulation, in);
    }

    /** More than {@link #COMPACT_ABOVE} and twice what it holds, or will once the head frame (reserved) is whole. */
    private boolean oversized(ByteBuf b) {
        long needed = Math.max(b.readableBytes(), reservation >= 0 ? Frames.LENGTH_FIELD_SIZE + reservation : 0);
        return b.capacity() > COMPACT_ABOVE && b.capacity() > 2 * needed;
    }

    /** At the end of a read: an oversized read buffer is replaced (see {@link #cumulate}) by an empty read. */
    private void compactIfOversized(ChannelHandlerContext ctx) throws Exception {
        ByteBuf b = internalBuffer();
        if (!failed && b.isReadable() && oversized(b)) {
            channelRead(ctx, Unpooled.EMPTY_BUFFER); // decodes nothing new: what is held was decoded as far as it goes
        }
    }

    /** A place in the budget's queue: the grant is taken up on the connection's event loop. */
    private final class Wait implements FrameBudget.Waiter {
        private final long bytes;

        Wait(long bytes) {
            this.bytes = bytes;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public void granted() {
            try {
                ctx.executor().execute(() -> memoryGranted(this));
            } catch (RejectedExecutionException e) {
                budget.release(bytes); // the event loop is gone (gateway closed): nobody will read the frame
            }
        }
    }

    /**
     * The byte stream cannot be split into frames any further: the connection handler answers the
     * frames passed on before this, then answers this as a connection-level error (request id 0)
     * and closes the connection.
     */
    record BadStream(Status status, String message) {
        Command error() {
            return Command.builder().kind(dev.ferry.protocol.Kind.RESPONSE).code(RequestCode.HEARTBEAT).requestId(0)
                    .status(status).message(message).build();
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        this.ctx = ctx;
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (waiting != null) {
            return; // the rest of the last read: held, not decoded, until the head frame's memory is granted
        }
        boolean completed = false;
        while (in.readableBytes() >= Frames.LENGTH_FIELD_SIZE) {
            int length = in.getInt(in.readerIndex());
            try {
                Frames.checkLength(length, limits);
            } catch (CodecException e) {
                // behind the frames already in out: they are answered first
                fail();
                in.skipBytes(in.readableBytes());
                out.add(new BadStream(Status.FRAME_TOO_LARGE, e.getMessage()));
                return;
            }
            if (reservation < 0) {
                Wait wait = new Wait(length);
                if (!budget.reserve(wait)) {
                    // not read until granted: the connection handler turns autoRead off now, so the read
                    // loop stops after this read and the rest of the frame stays in the kernel
                    waiting = wait;
                    frameStart = -1; // its time runs once its memory is granted
                    ctx.fireUserEventTriggered(ReadPause.WAITING_FOR_MEMORY);
                    return;
                }
                reservation = length;
            }
            if (in.readableBytes() < Frames.LENGTH_FIELD_SIZE + length) {
                break; // the rest of this frame is yet to come
            }
            in.skipBytes(Frames.LENGTH_FIELD_SIZE);
            out.add(new Frame(in.readRetainedSlice(length), budget, reservation));
            reservation = -1; // the frame's now: returned when it is released
            completed = true;
        }
        if (!in.isReadable()) {
            frameStart = -1;
        } else if (frameStart < 0 || completed) {
            frameStart = System.nanoTime(); // a new frame begun
            pausedNanos = 0;
            if (stallCheck == null) {
                stallCheck = ctx.executor().schedule(() -> checkStalled(ctx), frameTimeoutNanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    /**
     * The input ended (the client shut its output, or the connection closed): a frame begun and not
     * complete never will be. While the channel is still open (a half-close) it is answered as a
     * bad stream, behind the frames before it, so the client is told why the rest went unanswered.
     */
    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        decode(ctx, in, out);
        if (!failed && waiting == null && in.isReadable() && ctx.channel().isActive()) {
            fail();
            int received = in.readableBytes();
            in.skipBytes(received);
            out.add(new BadStream(Status.BAD_REQUEST, "frame incomplete: " + received
                    + " bytes received, then the client shut its output (expected: a whole frame)"));
        }
    }

    private void checkStalled(ChannelHandlerContext ctx) {
        stallCheck = null;
        if (failed || frameStart < 0 || !ctx.channel().isActive()) {
            return;
        }
        long now = System.nanoTime();
        long elapsed = now - frameStart;
        long paused = pausedNanos + (pausedSince >= 0 ? now - Math.max(pausedSince, frameStart) : 0);
        long reading = elapsed - paused;
        long cap = frameTimeoutNanos > Long.MAX_VALUE / MAX_PAUSED_TIMEOUTS ? Long.MAX_VALUE : MAX_PAUSED_TIMEOUTS * frameTimeoutNanos;
        if (reading < frameTimeoutNanos && elapsed < cap) {
            long next = Math.min(frameTimeoutNanos - reading, cap - elapsed);
            stallCheck = ctx.executor().schedule(() -> checkStalled(ctx), Math.max(next, 1), TimeUnit.NANOSECONDS);
            return;
        }
        int received = actualReadableBytes();
        fail();
        ctx.fireChannelRead(new BadStream(Status.BAD_REQUEST, "frame incomplete: " + received + " bytes received, the rest not within "
                + TimeUnit.NANOSECONDS.toMillis(reading >= frameTimeoutNanos ? frameTimeoutNanos : cap) + " ms"
                + (reading >= frameTimeoutNanos ? "" : " while the client did not read its replies") + " (expected: a whole frame)"));
        // fired from a timer, not a socket read: end it as a read ends, or the connection handler takes
        // itself to be inside a read for good and leaves what it writes unflushed (its client, reading
        // again, then waited for ever for replies that were never sent)
        ctx.fireChannelReadComplete();
    }

    /**
     * {bytes of the budget reserved for the frame being read (0 if none), capacity of the buffer
     * holding what was read and not yet passed on}; for tests and diagnostics, event loop only.
     */
    long[] heldMemory() {
        return new long[] {Math.max(reservation, 0), internalBuffer().capacity()};
    }

    /** Bytes read and not yet passed on as frames; event loop only. */
    int bufferedBytes() {
        return actualReadableBytes();
    }

    /**
     * The budget granted this connection's head frame its memory (on the event loop): its time
     * starts now, the connection handler may read again, and the bytes already here are decoded at
     * once, since the frame may be complete and no read would come for it. A grant that finds the
     * connection gone (or its wait withdrawn) is returned.
     */
    private void memoryGranted(Wait wait) {
        if (wait != waiting || gone || failed) {
            budget.release(wait.bytes);
            return;
        }
        waiting = null;
        reservation = wait.bytes;
        frameStart = System.nanoTime();
        pausedNanos = 0;
        if (stallCheck == null) {
            stallCheck = ctx.executor().schedule(() -> checkStalled(ctx), frameTimeoutNanos, TimeUnit.NANOSECONDS);
        }
        try {
            channelRead(ctx, Unpooled.EMPTY_BUFFER); // decodes what is here, and passes the frames on
            ChannelInputShutdownEvent shutdown = shutdownWhileWaiting;
            if (shutdown != null && waiting == null) {
                // before the grant is told: the connection handler must not turn reading on again once
                // the input is shut (epoll then fails the connection, see ConnectionHandler.updateAutoRead)
                shutdownWhileWaiting = null;
                userEventTriggered(ctx, shutdown);
            }
            if (waiting == null) {
                ctx.fireUserEventTriggered(ReadPause.MEMORY_GRANTED);
            }
            // as a read ends (see checkStalled): the connection handler flushes what it wrote
            channelReadComplete(ctx);
        } catch (Exception e) {
            ctx.fireExceptionCaught(e);
        }
    }

    /**
     * Not while waiting for memory: ByteToMessageDecoder asks for one more read at the end of a
     * read that passed nothing on while autoRead is off (it takes the frame to need more bytes),
     * and the waiting connection was read on, its whole frame into memory.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        compactIfOversized(ctx);
        if (waiting != null) {
            discardSomeReadBytes();
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    /**
     * A half-close read while this connection waits for memory is held back: the frames before it,
     * already here, are still to be decoded (and may be complete), which only the grant allows.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent shutdown && waiting != null && !failed) {
            shutdownWhileWaiting = shutdown;
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    /** The stream cannot be read further: what the head frame holds of the budget, or waits for, is given up. */
    private void fail() {
        failed = true;
        frameStart = -1;
        abandonFrame();
    }

    private void abandonFrame() {
        if (reservation >= 0) {
            long bytes = reservation;
            reservation = -1;
            budget.release(bytes);
        }
        Wait wait = waiting;
        if (wait != null) {
            waiting = null;
            budget.withdraw(wait); // if it was granted meanwhile, memoryGranted returns it, not finding it waiting
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        // the connection handler stops reading while the channel is not writable: not the client's time
        long now = System.nanoTime();
        if (!ctx.channel().isWritable()) {
            if (pausedSince < 0) {
                pausedSince = now;
            }
        } else if (pausedSince >= 0) {
            if (frameStart >= 0) {
                pausedNanos += now - Math.max(pausedSince, frameStart);
            }
            pausedSince = -1;
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (stallCheck != null) {
            stallCheck.cancel(false); // else the closed channel stays referenced until it runs
            stallCheck = null;
        }
        try {
            super.channelInactive(ctx); // decodes what is left (complete frames are passed on) first
        } finally {
            gone = true;
            abandonFrame();
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        gone = true;
        abandonFrame();
    }
}
