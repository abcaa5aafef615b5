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
    private final ConnectionHandler.Replier replier;
    private boolean failed;

    FrameDecoder(Limits limits, ConnectionHandler.Replier replier) {
        this.limits = limits;
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
                return;
            }
            in.skipBytes(Frames.LENGTH_FIELD_SIZE);
            out.add(in.readRetainedSlice(length));
        }
    }
}
