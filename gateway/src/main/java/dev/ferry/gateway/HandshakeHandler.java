package dev.ferry.gateway;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Codecs;
import dev.ferry.protocol.Handshake;
import dev.ferry.protocol.HandshakeResult;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of every connection: reads the client's hello, answers with the codec it
 * chose (or why it refuses, then closes), and on success replaces itself with the frame
 * decoder and the connection handler for that codec. Bytes that followed the hello in the same
 * read are passed on to them. A connection that has not sent its hello within the handshake
 * timeout is closed: an open socket costs the broker a file descriptor and a channel.
 *
 * <p>A connection the {@link ConnectionLimiter} did not admit is still read up to its hello, and
 * only then refused with TOO_MANY_CONNECTIONS: closing a socket that holds unread bytes resets it,
 * and a client would then see a reset instead of the reason. It gets at most
 * {@value #REFUSED_HELLO_WAIT_MS} ms for that, since it is not counted. Not sharable: one per
 * connection.
 */
final class HandshakeHandler extends ByteToMessageDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(HandshakeHandler.class);
    /** How long a connection refused for the connection limits may take to send its hello. */
    static final long REFUSED_HELLO_WAIT_MS = 1_000;

    private final Codecs codecs;
    private final GatewayMetrics metrics;
    private final Function<Codec, ConnectionHandler> connections;
    private final Function<Codec, FrameDecoder> frames;
    private final long timeoutMs;
    /** Null if the connection limits admitted this connection, else why not. */
    private final String refusal;
    /** Set once the hello is answered (accepted or refused); event loop only. */
    private boolean answered;
    private ScheduledFuture<?> timeout;

    HandshakeHandler(Codecs codecs, GatewayMetrics metrics, long timeoutMs, String refusal, Function<Codec, FrameDecoder> frames,
                     Function<Codec, ConnectionHandler> connections) {
        this.codecs = codecs;
        this.metrics = metrics;
        this.timeoutMs = refusal == null ? timeoutMs : Math.min(timeoutMs, REFUSED_HELLO_WAIT_MS);
        this.refusal = refusal;
        this.frames = frames;
        this.connections = connections;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        timeout = ctx.executor().schedule(() -> {
            if (!answered && ctx.channel().isActive()) {
                metrics.connectionError("handshake", "TIMEOUT");
                LOG.info("closing connection from {}: no handshake within {} ms", ctx.channel().remoteAddress(), timeoutMs);
                ctx.close();
            }
        }, timeoutMs, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        timeout.cancel(false); // the handshake is done or the channel closed: the check would only hold on to it
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (answered) {
            // refused, and closing once the reply is written: bytes that arrive before the close are
            // discarded, not read as another hello (which answered BAD_HELLO again and counted it twice)
            in.skipBytes(in.readableBytes());
            return;
        }
        ByteBuffer view = in.nioBuffer(in.readerIndex(), Math.min(in.readableBytes(), Handshake.MAX_HELLO_BYTES));
        Hello hello;
        try {
            hello = Handshake.decodeHello(view);
        } catch (CodecException e) {
            refuse(ctx, in, new HelloReply(Handshake.VERSION, HandshakeResult.BAD_HELLO, truncate(e.getMessage())));
            return;
        }
        if (hello == null) {
            return;
        }
        in.skipBytes(view.position());
        HelloReply reply = refusal != null ? new HelloReply(Handshake.VERSION, HandshakeResult.TOO_MANY_CONNECTIONS, truncate(refusal))
                : Handshake.negotiate(hello, codecs);
        if (reply.result() != HandshakeResult.ACCEPTED) {
            refuse(ctx, in, reply);
            return;
        }
        Codec codec = codecs.get(reply.text());
        answered = true;
        ctx.writeAndFlush(Unpooled.wrappedBuffer(reply.encode()));
        ctx.pipeline().addAfter(ctx.name(), "frames", frames.apply(codec));
        ctx.pipeline().addAfter("frames", "connection", connections.apply(codec));
        ctx.pipeline().remove(this);
    }

    /**
     * The client shut its output (the channel allows half-closure, see {@link Gateway}): the bytes
     * left are decoded (a hello and frames behind it are served, then the connection handler closes
     * once they are answered); a hello still incomplete never will be, so the connection is closed.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        super.userEventTriggered(ctx, evt);
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent && !answered) {
            LOG.debug("closing connection from {}: it shut its output before its hello was complete", ctx.channel().remoteAddress());
            ctx.close();
        }
    }

    private void refuse(ChannelHandlerContext ctx, ByteBuf in, HelloReply reply) {
        answered = true;
        metrics.connectionError("handshake", reply.result().name());
        LOG.info("handshake refused from {}: {}", ctx.channel().remoteAddress(), reply.text());
        in.skipBytes(in.readableBytes());
        ctx.writeAndFlush(Unpooled.wrappedBuffer(reply.encode())).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * A connection that fails before its handshake (a reset, a client gone mid-hello) is an
     * expected condition: one line, no stack trace, instead of Netty's warning at the pipeline's tail.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        metrics.connectionError("io", "exception");
        Throwable c = cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof java.io.IOException) {
            LOG.debug("connection from {} failed before its handshake: {}", ctx.channel().remoteAddress(), c.toString());
        } else {
            LOG.warn("closing connection from {} before its handshake: {}", ctx.channel().remoteAddress(), c.toString());
        }
        ctx.close();
    }

    private static String truncate(String s) {
        return s.length() <= Handshake.MAX_TEXT_BYTES ? s : s.substring(0, Handshake.MAX_TEXT_BYTES);
    }
}
