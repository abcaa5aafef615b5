package dev.ferry.gateway;

import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
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
 * frame nor reads its replies is closed too. Not sharable: one per connection.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    /** An incomplete frame is given at most this many frame timeouts of wall time, paused or not. */
    static final int MAX_PAUSED_TIMEOUTS = 4;

    private final Limits limits;
    private final long frameTimeoutNanos;
    private boolean failed;
    /** When the incomplete frame now held began, -1 if none; event loop only (as every field below). */
    private long frameStart = -1;
    /** Time the connection was not read since {@link #frameStart}, pauses that ended. */
    private long pausedNanos;
    /** When the current pause of reading began, -1 if reading. */
    private long pausedSince = -1;
    private ScheduledFuture<?> stallCheck;

    FrameDecoder(Limits limits, long frameTimeoutMs) {
        this.limits = limits;
        this.frameTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(frameTimeoutMs);
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
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        boolean completed = false;
        while (in.readableBytes() >= Frames.LENGTH_FIELD_SIZE) {
            int length = in.getInt(in.readerIndex());
            try {
                Frames.checkLength(length, limits);
            } catch (CodecException e) {
                // behind the frames already in out: they are answered first
                failed = true;
                in.skipBytes(in.readableBytes());
                frameStart = -1;
                out.add(new BadStream(Status.FRAME_TOO_LARGE, e.getMessage()));
                return;
            }
            if (in.readableBytes() < Frames.LENGTH_FIELD_SIZE + length) {
                break; // the rest of this frame is yet to come
            }
            in.skipBytes(Frames.LENGTH_FIELD_SIZE);
            out.add(in.readRetainedSlice(length));
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
        if (!failed && in.isReadable() && ctx.channel().isActive()) {
            failed = true;
            int received = in.readableBytes();
            in.skipBytes(received);
            frameStart = -1;
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
        failed = true;
        ctx.fireChannelRead(new BadStream(Status.BAD_REQUEST, "frame incomplete: " + actualReadableBytes() + " bytes received, the rest not within "
                + TimeUnit.NANOSECONDS.toMillis(reading >= frameTimeoutNanos ? frameTimeoutNanos : cap) + " ms"
                + (reading >= frameTimeoutNanos ? "" : " while the client did not read its replies") + " (expected: a whole frame)"));
        // fired from a timer, not a socket read: end it as a read ends, or the connection handler takes
        // itself to be inside a read for good and leaves what it writes unflushed (its client, reading
        // again, then waited for ever for replies that were never sent)
        ctx.fireChannelReadComplete();
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
        super.channelInactive(ctx);
    }
}
