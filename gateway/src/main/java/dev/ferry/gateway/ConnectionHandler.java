package dev.ferry.gateway;

import dev.ferry.log.ReadResult;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.binary.BinaryCodec;
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
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
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
 * could not be read) and the connection is closed; other connections are not affected. So is a
 * byte stream the {@link FrameDecoder} cannot split ({@link FrameDecoder.BadStream}), after the
 * frames before it: their replies, also those still to come (a SEND waiting for its flush), are
 * written before the error.
 *
 * <p><b>Bounded replies.</b> A client that does not read its replies must not make the server
 * hold unbounded memory (or segments, which zero-copy replies pin) for it. While the channel is
 * not writable (its unsent replies passed the write high-water mark), the connection is not read,
 * frames already read are held unhandled, and the read of a woken long poll is put off: all of
 * them are carried out in arrival order once the replies drain below the low-water mark. So the
 * unsent replies exceed the high-water mark by one reply at most. A woken long poll reads on this
 * connection's event loop, never on the thread of the append that woke it. A connection whose
 * unsent replies make no progress for {@code writeStallTimeoutMs} is closed, releasing them.
 * Long polls still waiting when the connection closes are cancelled.
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
    /** This connection's long polls waiting now (see {@link Requests.FetchWaits#parking}): taken on the event loop, freed anywhere. */
    private final AtomicInteger parkedFetches = new AtomicInteger();
    /** Long polls waiting on the whole gateway, this connection's among them. */
    private final AtomicInteger gatewayParkedFetches;
    /** True once the gateway's close began: a fetch that would wait is answered at once ({@link Requests.FetchWaits#draining}). */
    private final java.util.function.BooleanSupplier gatewayDraining;
    /** The broker's side of this connection's waiting long polls: cancelled when it closes. */
    private final Set<CompletableFuture<?>> waitingFetches = ConcurrentHashMap.newKeySet();
    /**
     * What is put off while the channel is not writable, in arrival order: frames ({@link Frame}), a
     * {@link FrameDecoder.BadStream}, the reads of woken long polls (Runnable). Event loop only.
     */
    private final ArrayDeque<Object> deferred = new ArrayDeque<>();
    /** Requests of this connection answered later (long polls, SENDs awaiting their flush): the close for a bad frame waits for them. */
    private int repliesAwaited;
    /** The error to write, and close with, once {@link #repliesAwaited} is 0; null if none. Event loop only. */
    private Command closingError;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> writeStallCheck;
    /** The outbound message at the head of the last write-stall check and its progress; 0/-1 if none was pending. */
    private int stallCheckMessage;
    private long stallCheckProgress = -1;
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
    /**
     * The client shut its output (a TCP half-close, as {@code nc} does at the end of its input): no
     * request comes any more, and the connection is closed once every request read is answered
     * ({@link #closeOnceAnswered}). Event loop only.
     */
    private boolean inputShutdown;
    /** The frame decoder waits for memory of the gateway's {@link FrameBudget}: not read meanwhile. Event loop only. */
    private boolean waitingForMemory;
    /** The reads of this connection's woken long polls: on its event loop, and put off while it is not writable. */
    private final Requests.FetchWaits fetchWaits = new Requests.FetchWaits() {
        private final Executor reads = this::wokenRead;

        @Override
        public Executor wokenReads() {
            return reads;
        }

        @Override
        public boolean draining() {
            return gatewayDraining.getAsBoolean();
        }

        /**
         * Both limits on waiting fetches, asked by the broker only for a fetch that is about to
         * wait: a FETCH with messages to read is answered whatever the limits (a consumer with a
         * backlog must not be stalled by other clients' waiting fetches), and a fetch counts
         * against them only while it waits. Runs on the event loop, with the request. Once the
         * client shut its output no fetch waits: one carried out after that (put off while the
         * channel was not writable; epoll reports the half-close while reading is paused) is
         * answered BUSY at once, as those waiting at the half-close are, rather than holding the
         * close for its whole maxWait.
         */
        @Override
        public void parking() {
            if (inputShutdown) {
                // carried out after the half-close (held while the channel was not writable, then resumed): it would
                // hold the close for its whole maxWait, where one waiting at the half-close is answered at once
                throw new Requests.RequestException(Status.BUSY,
                        "not answered: the connection is closing (expected: retry on a new connection)");
            }
            if (parkedFetches.get() >= config.maxParkedFetchesPerConnection()) {
                throw new Requests.RequestException(Status.BUSY, "fetches waiting on this connection: " + parkedFetches.get()
                        + " (limit " + config.maxParkedFetchesPerConnection() + "); retry later");
            }
            int parked;
            do { // other connections take places concurrently: the limit holds exactly
                parked = gatewayParkedFetches.get();
                if (parked >= config.maxParkedFetches()) {
                    throw new Requests.RequestException(Status.BUSY, "fetches waiting on this broker: " + parked
                            + " (limit " + config.maxParkedFetches() + "); retry later");
                }
            } while (!gatewayParkedFetches.compareAndSet(parked, parked + 1));
            parkedFetches.incrementAndGet();
        }

        @Override
        public void unparked() {
            parkedFetches.decrementAndGet();
            gatewayParkedFetches.decrementAndGet();
        }

        @Override
        public void waiting(CompletableFuture<?> fetch) {
            waitingFetches.add(fetch);
            fetch.whenComplete((r, t) -> waitingFetches.remove(fetch));
        }

        private void wokenRead(Runnable read) {
            ctx.executor().execute(() -> {
                if (closing || !ctx.channel().isActive()) {
                    read.run(); // its fetch is (or is about to be) cancelled: the read returns at once
                } else if (!deferred.isEmpty() || !ctx.channel().isWritable()) {
                    deferred.add(read);
                } else {
                    read.run(); // writes its reply (see complete): the channel's writability counts it before the next
                    ctx.flush();
                }
            });
        }
    };

    ConnectionHandler(Codec codec, Requests requests, LoadGate load, GatewayConfig config, GatewayMetrics metrics,
                      AtomicInteger gatewayParkedFetches, java.util.function.BooleanSupplier gatewayDraining) {
        this.codec = codec;
        this.binary = codec instanceof BinaryCodec b ? b : null;
        this.requests = requests;
        this.load = load;
        this.config = config;
        this.metrics = metrics;
        this.gatewayParkedFetches = gatewayParkedFetches;
        this.gatewayDraining = gatewayDraining;
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
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        inRead = true;
        if (!deferred.isEmpty() || !ctx.channel().isWritable()) {
            // the client is not taking its replies: answering this one too would queue them without bound;
            // a frame put off holds only its own bytes (Frame.compact), not its read buffer's
            deferred.add(msg instanceof Frame f ? f.compact() : msg);
            return;
        }
        carryOut(ctx, msg);
    }

    /** Carries out what was read or put off: a frame, a bad stream, the read of a woken long poll. */
    private void carryOut(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FrameDecoder.BadStream bad) {
            failConnection(ctx, bad.error());
        } else if (msg instanceof Runnable wokenRead) {
            wokenRead.run();
        } else {
            handleFrame(ctx, (Frame) msg);
        }
    }

    /**
     * Carries out what was put off while the channel was not writable, in arrival order, until it
     * is all done or the channel is not writable again; flushes what that wrote, also when called
     * inside a read. Left to the end of a read that never came, the replies it wrote stayed
     * unflushed: if they made the channel unwritable again nothing ever drained it, and the
     * connection hung with the client waiting for them.
     */
    private void resume(ChannelHandlerContext ctx) {
        boolean wasInRead = inRead;
        inRead = true; // one flush at the end, as for a read
        try {
            while (!closing && !deferred.isEmpty() && ctx.channel().isWritable()) {
                carryOut(ctx, deferred.poll());
            }
        } finally {
            inRead = wasInRead;
        }
        if (flushPending) {
            flushPending = false; // a read in progress flushes what it writes after this at its end, as usual
            ctx.flush();
        }
        closeOnceAnswered(ctx);
    }

    /**
     * The client shut its output: answers every request read (those put off, those awaited: a SEND
     * waiting for its flush), then closes. Closed at once, as Netty does without half-closure, the
     * SENDs still waiting for a SYNC flush were stored but never answered, and a client that read
     * on after shutting its output (a script piping frames through {@code nc}) took them for lost
     * and sent them again. Long polls still waiting are answered at once (BUSY, the connection
     * closing) rather than held for a client that may have gone.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof FrameDecoder.ReadPause pause) {
            waitingForMemory = pause == FrameDecoder.ReadPause.WAITING_FOR_MEMORY;
            updateAutoRead(ctx);
            return;
        }
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
            inputShutdown = true;
            cancelWaitingFetches();
            closeOnceAnswered(ctx);
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** After the client shut its output: closes once nothing read is left unanswered; a bad stream closes itself. */
    private void closeOnceAnswered(ChannelHandlerContext ctx) {
        if (inputShutdown && !closing && repliesAwaited == 0 && deferred.isEmpty()) {
            closing = true;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Closes the connection with {@code error} (request id 0): after the replies still to come of
     * the requests read before it, so that a client is told how each of them went. Frames read
     * behind it are dropped, waiting long polls cancelled (answered BUSY).
     */
    private void failConnection(ChannelHandlerContext ctx, Command error) {
        closing = true;
        ctx.channel().config().setAutoRead(false);
        closingError = error;
        cancelWaitingFetches(); // before the deferred reads are dropped: those then return without reading
        releaseDeferred();
        if (repliesAwaited == 0 && closingError != null) { // not written already by the last cancelled fetch's reply
            writeClosingError(ctx);
        }
    }

    private void writeClosingError(ChannelHandlerContext ctx) {
        Command error = closingError;
        closingError = null;
        replier(codec, metrics).replyAndClose(ctx, error);
    }

    private void cancelWaitingFetches() {
        for (CompletableFuture<?> fetch : waitingFetches.toArray(new CompletableFuture<?>[0])) {
            fetch.cancel(false); // its reply, if the channel is open, says why (see Requests.error)
        }
    }

    private void releaseDeferred() {
        Object msg;
        while ((msg = deferred.poll()) != null) {
            if (msg instanceof Runnable wokenRead) {
                wokenRead.run(); // the read of a cancelled fetch: returns at once
            } else {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /**
     * The frames put off now: {bytes of the frame budget they hold, bytes of memory they keep from
     * being freed (each buffer counted once)}. For tests and diagnostics; event loop only.
     */
    long[] deferredFrameMemory() {
        long reserved = 0;
        long held = 0;
        java.util.Set<Object> backing = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Object msg : deferred) {
            if (msg instanceof Frame f) {
                reserved += f.reserved();
                if (backing.add(f.backing())) {
                    held += f.heldCapacity();
                }
            }
        }
        return new long[] {reserved, held};
    }

    private void handleFrame(ChannelHandlerContext ctx, Frame frame) {
        Command req;
        try {
            req = codec.decode(frame.payload().nioBuffer(), config.limits());
        } catch (CodecException | RuntimeException e) {
            // a codec must throw only CodecException, but a bug there must not leak the frame
            if (e instanceof RuntimeException) {
                LOG.warn("{} codec failed on a frame (expected: CodecException)", codec.name(), e);
            }
            frame.release();
            Status status = e instanceof CodecException c && c.limitExceeded() ? Status.LIMIT_EXCEEDED : Status.BAD_REQUEST;
            // the decoder's text quotes what it refused (a kind, a field name), up to a frame long: cut as a
            // request's error is, else the client's own decoder refused the answer for its length
            failConnection(ctx, connectionError(status, Requests.errorText("bad frame: " + e.getMessage(), config.limits())));
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
            CompletableFuture<Reply> reply = requests.handle(req, binary != null, (InetSocketAddress) ctx.channel().remoteAddress(),
                    producer, fetchWaits);
            if (reply.isDone()) {
                write(ctx, req, start, reply.join());
            } else {
                repliesAwaited++;
                reply.whenComplete((r, t) -> {
                    Runnable answer = () -> {
                        write(ctx, req, start, r != null ? r : new Reply.Plain(requests.error(req, t)));
                        if (!inRead) {
                            ctx.flush();
                        }
                        if (--repliesAwaited == 0 && closingError != null) {
                            writeClosingError(ctx);
                        } else {
                            closeOnceAnswered(ctx);
                        }
                    };
                    if (ctx.executor().inEventLoop()) {
                        // at once, not as a task: a woken long poll's reply must count against the
                        // channel's writability before the next one is read (see wokenRead)
                        answer.run();
                        return;
                    }
                    try {
                        ctx.executor().execute(answer);
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
        this.ctx = ctx;
        producer = requests.producerConnection(ctx.channel(), codec);
        metrics.connectionOpened(codec.name());
        scheduleWriteStallCheck(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        // called once, when the channel closes (the handler is never removed otherwise)
        if (writeStallCheck != null) {
            writeStallCheck.cancel(false);
        }
        // nobody to answer: unparked now, they neither hold their places until their deadline nor are read for nobody
        cancelWaitingFetches();
        releaseDeferred();
        producer.closed();
        metrics.connectionClosed(codec.name());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // stop reading requests while replies pile up unsent; resume once they drain, first with what was put off
        if (ctx.channel().isWritable()) {
            resume(ctx);
        }
        updateAutoRead(ctx);
        ctx.fireChannelWritabilityChanged();
    }

    /**
     * Reads the connection only while none of its reasons not to holds: replies piling up unsent
     * (and what was put off for them), closing, the frame decoder waiting for memory, or the input
     * shut (nothing left to read). The last matters with epoll (Netty 4.2): a half-close seen while
     * reading was off takes the socket out of epoll, and turning reading on again then failed the
     * connection ("epoll_ctl(..) failed: No such file or directory") before its requests were answered.
     */
    private void updateAutoRead(ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable() && deferred.isEmpty() && !closing && !waitingForMemory
                && !inputShutdown);
    }

    private void scheduleWriteStallCheck(ChannelHandlerContext ctx) {
        writeStallCheck = ctx.executor().schedule(() -> checkWriteStall(ctx), config.writeStallTimeoutMs(), TimeUnit.MILLISECONDS);
    }

    /**
     * Closes the connection if the reply at the head of its unsent ones is the same, and no further
     * sent, as at the last check: its client has read nothing for {@code writeStallTimeoutMs} (up
     * to twice that since it stopped). Closing releases the unsent replies, and the segments their
     * file regions hold, which retention could otherwise never delete; the backpressure above stops
     * the memory growing, this frees it. Replies written but left unflushed (a missed flush, which
     * no progress check could see) are flushed first.
     */
    private void checkWriteStall(ChannelHandlerContext ctx) {
        writeStallCheck = null;
        if (!ctx.channel().isActive()) {
            return;
        }
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        if (out != null && out.current() == null && out.totalPendingWriteBytes() > 0) {
            // written but never flushed: no flush is coming (one was missed), and current() sees flushed
            // replies only, so left alone they would never count as stalled and the connection would hang
            // with them unsent. Flushed now; from the next check they are timed like any other.
            LOG.warn("connection from {}: {} bytes of replies written but not flushed; flushing them", ctx.channel().remoteAddress(),
                    out.totalPendingWriteBytes());
            ctx.flush();
        }
        Object head = out == null ? null : out.current();
        if (head == null) {
            stallCheckMessage = 0;
            stallCheckProgress = -1;
        } else {
            int message = System.identityHashCode(head);
            long progress = out.currentProgress();
            if (message == stallCheckMessage && progress == stallCheckProgress) {
                metrics.connectionError("io", "write_stall");
                LOG.info("closing connection from {}: {} bytes of replies unsent, none taken for {} ms (connection.write.stall.timeout.ms)",
                        ctx.channel().remoteAddress(), out.totalPendingWriteBytes(), config.writeStallTimeoutMs());
                ctx.close();
                return;
            }
            stallCheckMessage = message;
            stallCheckProgress = progress;
        }
        scheduleWriteStallCheck(ctx);
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
