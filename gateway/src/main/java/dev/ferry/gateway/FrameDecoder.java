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
 * resynchronised. Not sharable: one per connection.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    private final Limits limits;
    private final long frameTimeoutMs;
    private final ConnectionHandler.Replier replier;
    private boolean failed;
    /** Frames passed on so far; with {@link #stallCheck}, tells a frame that is still incomplete from a later one. */
    private long frames;
    /** The pending check of the incomplete frame, if any; event loop only. */
    private ScheduledFuture<?> stallCheck;

    FrameDecoder(Limits limits, long frameTimeoutMs, ConnectionHandler.Replier replier) {
        this.limits = limits;
        this.frameTimeoutMs = frameTimeoutMs;
        this.replier = replier;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= Frames.LENGTH_FIELD_SIZE) {
            int length = in.getInt(in.readerIndex());
            try {
                Frames.checkLength(length, limits);
            } catch (CodecException e) {
                failed = true;
                in.skipBytes(in.readableBytes());
                Command error = Command.builder().kind(dev.ferry.protocol.Kind.RESPONSE).code(RequestCode.HEARTBEAT)
                        .requestId(0).status(Status.FRAME_TOO_LARGE).message(e.getMessage()).build();
                replier.replyAndClose(ctx, error);
                return;
            }
            if (in.readableBytes() < Frames.LENGTH_FIELD_SIZE + length) {
                break; // the rest of this frame is yet to come
            }
            in.skipBytes(Frames.LENGTH_FIELD_SIZE);
            out.add(in.readRetainedSlice(length));
            frames++;
        }
        if (in.isReadable() && stallCheck == null) {
            armStallCheck(ctx);
        }
    }

    /**
     * A frame begun must be complete {@code frameTimeoutMs} later: its bytes so far are held in
     * memory (up to a whole frame's size), so a client that stops half-way through a frame, or
     * sends it a few bytes at a time, would otherwise hold them for good. Time the broker itself
     * does not read the connection (back-pressure on its replies) does not count.
     */
    private void armStallCheck(ChannelHandlerContext ctx) {
        long at = frames;
        stallCheck = ctx.executor().schedule(() -> {
            stallCheck = null;
            if (failed || !ctx.channel().isActive() || actualReadableBytes() == 0) {
                return;
            }
            if (frames != at || !ctx.channel().config().isAutoRead()) {
                armStallCheck(ctx); // a later frame, or not being read: it gets its own time
                return;
            }
            failed = true;
            int held = actualReadableBytes();
            Command error = Command.builder().kind(dev.ferry.protocol.Kind.RESPONSE).code(RequestCode.HEARTBEAT).requestId(0)
                    .status(Status.BAD_REQUEST).message("frame incomplete: " + held + " bytes received, the rest not within "
                            + frameTimeoutMs + " ms (expected: a whole frame)").build();
            replier.replyAndClose(ctx, error);
        }, frameTimeoutMs, TimeUnit.MILLISECONDS);
    }
}
