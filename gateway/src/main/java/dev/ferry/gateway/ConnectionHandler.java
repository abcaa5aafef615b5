package dev.ferry.gateway;

import dev.ferry.log.ReadResult;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.binary.BinaryCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.epoll.EpollSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection after its handshake: decodes each frame with the connection's codec, hands the
 * request to {@link Requests}, and writes the reply. Replies produced while the connection's
 * input is being read are flushed once at the end of the read (many pipelined requests, one
 * syscall); replies that complete later (long polls, SYNC flushes) are flushed at once.
 *
 * <p>A binary-codec FETCH reply is written as the command without its body, then the stored
 * records as file regions: with epoll, Netty's {@link DefaultFileRegion} (native sendfile); with
 * NIO, {@link SegmentFileRegion} ({@code FileChannel.transferTo}, sendfile too); with
 * {@code zeroCopy=false} (a TLS pipeline would need it), the mapped bytes as a buffer.
 *
 * <p>A frame that cannot be decoded is answered with an error whose request id is 0 (the id
 * could not be read) and the connection is closed; other connections are not affected.
 *
 * <p>Not sharable; all methods run on the connection's event loop except completions, which
 * hop onto it.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionHandler.class);

    /** Writes a connection-level error and closes the connection. */
    interface Replier {
        void replyAndClose(ChannelHandlerContext ctx, Command error);
    }

    private final Codec codec;
    private final BinaryCodec binary;
    private final Requests requests;
    private final LoadGate load;
    private final GatewayConfig config;
    private final GatewayMetrics metrics;
    private final AtomicInteger parkedFetches = new AtomicInteger();
    /** This connection as a transactional producer; set in handlerAdded, used on the event loop. */
    private ProducerConnection producer;
    private boolean inRead;
    private boolean flushPending;
    /**
     * A frame could not be decoded: the connection is answered and closed, and frames already read
     * behind it are dropped unanswered, not carried out (a client that sees the connection close
     * cannot tell which of them ran, and would send them again). Event loop only.
     */
    private boolean closing;

    ConnectionHandler(Codec codec, Requests requests, LoadGate load, GatewayConfig config, GatewayMetrics metrics) {
        this.codec = codec;
        this.binary = codec instanceof BinaryCodec b ? b : null;
        this.requests = requests;
        this.load = load;
        this.config = config;
        this.metrics = metrics;
    }

    static Replier replier(Codec codec, GatewayMetrics metrics) {
        return (ctx, error) -> {
            metrics.connectionError("frame", error.status().name());
            LOG.info("closing connection from {}: {}", ctx.channel().remoteAddress(), error.message());
            ctx.writeAndFlush(Unpooled.wrappedBuffer(codec.encodeFrame(error))).addListener(ChannelFutureListener.CLOSE);
        };
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        if (closing) {
            frame.release();
            return;
        }
        inRead = true;
        Command req;
        try {
            req = codec.decode(frame.nioBuffer(), config.limits());
        } catch (CodecException | RuntimeException e) {
            // a codec must throw only CodecException, but a bug there must not leak the frame
            if (e instanceof RuntimeException) {
                LOG.warn("{} codec failed on a frame (expected: CodecException)", codec.name(), e);
            }
            frame.release();
            closing = true;
            ctx.channel().config().setAutoRead(false);
            Status status = e instanceof CodecException c && c.limitExceeded() ? Status.LIMIT_EXCEEDED : Status.BAD_REQUEST;
            replier(codec, metrics).replyAndClose(ctx, connectionError(status, "bad frame: " + e.getMessage()));
            return;
        }
        long start = System.nanoTime();
        load.requestStarted();
        try {
            if (req.kind() == Kind.RESPONSE) {
                write(ctx, req, start, new Reply.Plain(requests.error(req, new Requests.RequestException(Status.BAD_REQUEST,
                        "kind: RESPONSE (expected: REQUEST or ONEWAY from a client)"))));
                return;
            }
            boolean parks = req.code() == RequestCode.FETCH && req.header(Headers.MAX_WAIT_MS) != null
                    && !"0".equals(req.header(Headers.MAX_WAIT_MS));
            if (parks && parkedFetches.get() >= config.maxParkedFetchesPerConnection()) {
                write(ctx, req, start, new Reply.Plain(requests.error(req, new Requests.RequestException(Status.BUSY,
                        "fetches waiting on this connection: " + parkedFetches.get() + " (limit "
                                + config.maxParkedFetchesPerConnection() + "); retry later"))));
                return;
            }
            CompletableFuture<Reply> reply = requests.handle(req, binary != null, (InetSocketAddress) ctx.channel().remoteAddress(),
                    producer);
            if (reply.isDone()) {
                write(ctx, req, start, reply.join());
            } else {
                if (parks) {
                    parkedFetches.incrementAndGet();
                }
                reply.whenComplete((r, t) -> {
                    try {
                        ctx.executor().execute(() -> {
                            if (parks) {
                                parkedFetches.decrementAndGet();
                            }
                            write(ctx, req, start, r != null ? r : new Reply.Plain(requests.error(req, t)));
                            ctx.flush();
                        });
                    } catch (RejectedExecutionException e) {
                        // the event loop is gone (gateway closed): nobody can be answered, but the
                        // records' segment references and the in-flight count must still be released
                        if (r instanceof Reply.Records records) {
                            records.records().close();
                        }
                        load.requestDone();
                    }
                });
            }
        } finally {
            frame.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inRead = false;
        if (flushPending) {
            flushPending = false;
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    /** Writes the reply (none for a one-way request) and reports the request as done, {@code start} being its decode time. */
    private void write(ChannelHandlerContext ctx, Command req, long start, Reply reply) {
        try {
            metrics.requestCompleted(req.code(), reply instanceof Reply.Plain p ? p.command().status() : Status.OK, System.nanoTime() - start);
            if (req.kind() == Kind.ONEWAY) {
                if (reply instanceof Reply.Records r) {
                    r.records().close();
                }
                return;
            }
            if (reply instanceof Reply.Plain p) {
                ctx.write(Unpooled.wrappedBuffer(encode(req, p.command())));
            } else if (reply instanceof Reply.Records r) {
                writeRecords(ctx, r.command(), r.records());
            }
            if (inRead) {
                flushPending = true;
            }
        } finally {
            load.requestDone();
        }
    }

    /**
     * The response as a frame; an error instead if it cannot be encoded, or if its frame would be
     * longer than the frame limit, which a client reads no further than (answers are sized to
     * fit: FETCH and QUERY_MESSAGE return half a frame of records at most; this is the backstop).
     */
    private java.nio.ByteBuffer encode(Command req, Command response) {
        try {
            java.nio.ByteBuffer frame = codec.encodeFrame(response);
            if (frame.remaining() - Frames.LENGTH_FIELD_SIZE > config.limits().maxFrameBytes()) {
                return codec.encodeFrame(requests.error(req, new Requests.RequestException(Status.LIMIT_EXCEEDED, "response: "
                        + (frame.remaining() - Frames.LENGTH_FIELD_SIZE) + " bytes in " + codec.name() + " (expected: <= maxFrameBytes "
                        + config.limits().maxFrameBytes() + "; ask for fewer messages or bytes)")));
            }
            return frame;
        } catch (IllegalArgumentException e) {
            return codec.encodeFrame(requests.error(req, new Requests.RequestException(Status.INTERNAL_ERROR,
                    "response cannot be encoded with " + codec.name() + ": " + e.getMessage())));
        }
    }

    private void writeRecords(ChannelHandlerContext ctx, Command header, ReadResult records) {
        long total = records.totalBytes();
        List<ReadResult.Region> regions = records.regions();
        if (config.zeroCopy() && total < (long) regions.size() * MIN_ZERO_COPY_REGION_BYTES) {
            // small regions (a filtered fetch skips most records, a tail fetch gets a few): one
            // copy into one buffer is far cheaper than a file region (a sendfile call) each.
            // Copied before the header is written, so a failure leaves no header without its body.
            io.netty.buffer.ByteBuf copy = null;
            try {
                copy = ctx.alloc().directBuffer((int) total);
                for (ReadResult.Region region : regions) {
                    copy.writeBytes(region.buffer());
                }
            } catch (Throwable t) {
                if (copy != null) {
                    copy.release();
                }
                LOG.warn("closing connection from {}: cannot copy {} bytes of records: {}", ctx.channel().remoteAddress(), total,
                        t.toString());
                ctx.close();
                return;
            } finally {
                records.close(); // the segments may go (retention) once their bytes are copied or abandoned
            }
            ctx.write(Unpooled.wrappedBuffer(binary.encodeFrameWithoutBody(header, (int) total)));
            ctx.write(copy);
            return;
        }
        ChannelFuture last = ctx.write(Unpooled.wrappedBuffer(binary.encodeFrameWithoutBody(header, (int) total)));
        boolean epoll = ctx.channel() instanceof EpollSocketChannel;
        for (ReadResult.Region region : regions) {
            Object out;
            if (!config.zeroCopy()) {
                out = Unpooled.wrappedBuffer(region.buffer());
            } else if (epoll) {
                out = epollRegion(region);
            } else {
                out = new SegmentFileRegion(region);
            }
            last = ctx.write(out);
        }
        last.addListener(f -> records.close());
    }

    /**
     * A region for epoll's native sendfile, which takes only Netty's DefaultFileRegion: on the
     * store's own channel of the segment, which the read holds open until its last region is
     * written (also when retention deletes the file meanwhile). Given the path instead, Netty
     * opened the file only when the region's turn came, and a region queued behind others on a
     * slow connection found its segment deleted by then: the connection closed in the middle of a
     * frame. A channel per region would cost a file descriptor per queued region.
     */
    private static Object epollRegion(ReadResult.Region region) {
        return new StoreFileRegion(region.channel(), region.filePosition(), region.length());
    }

    /** A DefaultFileRegion that leaves the store's channel open when released: it is the store's to close. */
    private static final class StoreFileRegion extends DefaultFileRegion {
        StoreFileRegion(FileChannel channel, long position, long count) {
            super(channel, position, count);
        }

        @Override
        protected void deallocate() {
            // not closed: the segment's channel, shared with every reader, lives as long as the segment
        }
    }

    /**
     * Below this average region size a FETCH's records are copied into one buffer rather than
     * sent as file regions: each region costs a sendfile call, which for the
     * 100-byte records a filtered fetch returns one by one cost more than copying them.
     */
    static final int MIN_ZERO_COPY_REGION_BYTES = 16 * 1024;

    private static Command connectionError(Status status, String message) {
        return Command.builder().kind(Kind.RESPONSE).code(RequestCode.HEARTBEAT).requestId(0).status(status).message(message).build();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        producer = requests.producerConnection(ctx.channel(), codec);
        metrics.connectionOpened(codec.name());
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        // called once, when the channel closes (the handler is never removed otherwise)
        producer.closed();
        metrics.connectionClosed(codec.name());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // stop reading requests while replies pile up unsent; resume once they drain
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        metrics.connectionError("io", "exception");
        if (cause instanceof IOException) {
            LOG.debug("connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        } else {
            LOG.warn("closing connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
