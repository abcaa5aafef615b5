package dev.ferry.client;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Handshake;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Status;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP connection to a broker, after its handshake: sends requests pipelined (any number in
 * flight, each with its own request id) and matches each response to its request by id, in
 * whatever order responses come (docs/PROTOCOL.md sections 1-3).
 *
 * <p>Why it exists: the one place that knows framing, the handshake and request ids, so the
 * producer, the consumer and the admin calls only build commands and read responses.
 *
 * <p>Writes are coalesced: a write marks the connection dirty and one flush task, queued behind
 * the event loop's other work, flushes everything written meanwhile (many requests, one syscall).
 * Responses are copied out of Netty's buffer into a heap array before decoding, so a decoded
 * command never refers to pooled memory. A response's bytes may still be shared by the command's
 * body and its messages' bodies (the binary codec slices them), which is safe since nothing
 * reuses the array.
 *
 * <p>Request timeouts are checked by a sweep every {@value #SWEEP_MS} ms rather than a timer per
 * request, so a producer with thousands of batches per second schedules nothing per batch. A
 * request not answered in time fails with reason TIMEOUT and closes the connection, as Kafka's
 * client does: a peer that went silent (its host powered off, a NAT entry dropped, a frozen broker)
 * sends no FIN or RST, and a connection kept would take every later request into the void; closed,
 * its other requests fail with reason CONNECTION and each user's close listener reconnects. A
 * long-poll FETCH is given its {@code maxWaitMs} on top of the request timeout by its sender.
 *
 * <p>The broker answers a frame it cannot read on request id 0 and closes the connection. A
 * status that sending the same bytes again cannot change (LIMIT_EXCEEDED, FRAME_TOO_LARGE,
 * BAD_REQUEST) fails the requests in flight with that status, reason BROKER, so that none of them
 * is resent for good; any other is a lost connection.
 *
 * <p><b>Thread safety.</b> {@link #send} and {@link #request} may be called from any thread: the
 * request id comes from an atomic counter, the command is encoded by the caller, and the
 * registration and write hop onto the connection's event loop. The table of pending requests and
 * the flush flag are touched only on that loop. {@code closed} is volatile so any thread can ask
 * {@link #isOpen()}.
 */
final class Connection {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    static final int SWEEP_MS = 50;

    /** Receives a response (any status) or a connection-level failure, on the event loop. */
    interface Callback {
        void done(Command response, FerryException failure);
    }

    private static final class Pending {
        final Callback callback;
        final long deadlineNanos;
        final String what;

        Pending(Callback callback, long deadlineNanos, String what) {
            this.callback = callback;
            this.deadlineNanos = deadlineNanos;
            this.what = what;
        }
    }

    private final Channel channel;
    private final EventLoop loop;
    private final Codec codec;
    private final Limits limits;
    private final String remote;
    private final IntObjectHashMap<Pending> pending = new IntObjectHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final List<Runnable> closeListeners = new ArrayList<>();
    private final Runnable flushTask;
    /** Receives one-way commands from the broker (CHECK_TRANSACTION); null ignores them. Volatile: set from any thread. */
    private volatile java.util.function.Consumer<Command> oneways;
    private boolean flushScheduled;
    private ScheduledFuture<?> sweeper;
    /** Why the channel is being closed, when this side knows better than "closed". Event loop only. */
    private FerryException closedCause;
    /** Set once, by the event loop, when the channel closes; volatile so any thread sees it. */
    private volatile FerryException closed;

    private Connection(Channel channel, Codec codec, Limits limits, String remote) {
        this.channel = channel;
        this.loop = channel.eventLoop();
        this.codec = codec;
        this.limits = limits;
        this.remote = remote;
        this.flushTask = () -> {
            flushScheduled = false;
            channel.flush();
        };
    }

    /**
     * Sends {@code request} over whatever connection {@code current} holds when {@code loop} runs
     * it; the future completes with an OK response, or fails with a {@link FerryException}
     * (not connected, no response in time, or the broker's status and message).
     */
    static CompletableFuture<Command> call(EventLoop loop, java.util.function.Supplier<Connection> current, Command.Builder request,
                                           long timeoutMs, String what) {
        CompletableFuture<Command> f = new CompletableFuture<>();
        loop.execute(() -> {
            Connection c = current.get();
            if (c == null || !c.isOpen()) {
                f.completeExceptionally(FerryException.connection(what + ": not connected", null));
                return;
            }
            c.send(request, timeoutMs, what, (r, t) -> {
                if (t != null) {
                    f.completeExceptionally(t);
                } else if (r.status() != Status.OK) {
                    f.completeExceptionally(FerryException.broker(r.status(), what, r.message()));
                } else {
                    f.complete(r);
                }
            });
        });
        return f;
    }

    /**
     * Why a connect failed, in the operating system's words ("Connection refused", "No route to
     * host"). Netty's native transport puts the call and errno before them and the address after
     * ("finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:9876"), which
     * says nothing more: the message already names the server.
     */
    static String connectFailure(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return message.replaceFirst("^\\w+\\(\\.\\.\\) failed with error\\(-?\\d+\\): ", "").replaceFirst(": /[^ ]+$", "");
    }

    /**
     * Connects to the broker on {@code loop}, offers {@code codec} and completes once the broker
     * accepted it; fails with a {@link FerryException} of reason CONNECTION naming the broker's
     * reason otherwise.
     */
    static CompletableFuture<Connection> open(Transport transport, EventLoop loop, ClientConfig config, Codec codec) {
        CompletableFuture<Connection> result = new CompletableFuture<>();
        String remote = config.host() + ":" + config.port();
        Bootstrap b = new Bootstrap().group(loop).channel(transport.channelClass())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeoutMs())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("handshake", new HandshakeReader(codec, config.limits(), remote, result));
                    }
                });
        b.connect(config.host(), config.port()).addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(FerryException.connection("connect to " + remote + ": " + connectFailure(f.cause()), f.cause()));
                return;
            }
            Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
            ch.writeAndFlush(Unpooled.wrappedBuffer(Hello.of(codec.name()).encode()));
            ScheduledFuture<?> timeout = loop.schedule(() -> {
                if (result.completeExceptionally(FerryException.timeout("handshake with " + remote + ": no reply within "
                        + config.connectTimeoutMs() + " ms"))) {
                    ch.close();
                }
            }, config.connectTimeoutMs(), TimeUnit.MILLISECONDS);
            result.whenComplete((c, t) -> timeout.cancel(false));
            ch.closeFuture().addListener(cf -> result.completeExceptionally(
                    FerryException.connection("connection to " + remote + " closed during the handshake", null)));
        });
        return result;
    }

    /** Reads the server's hello reply, then installs framing and the response handler and removes itself. */
    private static final class HandshakeReader extends ByteToMessageDecoder {
        private final Codec codec;
        private final Limits limits;
        private final String remote;
        private final CompletableFuture<Connection> result;

        HandshakeReader(Codec codec, Limits limits, String remote, CompletableFuture<Connection> result) {
            this.codec = codec;
            this.limits = limits;
            this.remote = remote;
            this.result = result;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            ByteBuffer view = in.nioBuffer();
            HelloReply reply;
            try {
                reply = Handshake.decodeReply(view);
            } catch (CodecException e) {
                fail(ctx, "bad handshake reply from " + remote + ": " + e.getMessage());
                return;
            }
            if (reply == null) {
                return;
            }
            in.skipBytes(view.position());
            if (!reply.accepted()) {
                fail(ctx, "broker " + remote + " refused the connection (codec offered: " + codec.name() + "): " + reply.result() + ": "
                        + reply.text());
                return;
            }
            if (!reply.text().equals(codec.name())) {
                fail(ctx, "broker " + remote + " chose codec " + reply.text() + " (expected: " + codec.name() + ", the one offered)");
                return;
            }
            Connection c = new Connection(ctx.channel(), codec, limits, remote);
            ctx.pipeline().addAfter(ctx.name(), "frames", new LengthFieldBasedFrameDecoder(
                    (int) Math.min(Integer.MAX_VALUE, (long) limits.maxFrameBytes() + 4), 0, 4, 0, 4));
            ctx.pipeline().addAfter("frames", "responses", c.new ResponseHandler());
            ctx.pipeline().remove(this);
            c.start();
            if (!result.complete(c)) {
                ctx.close();
            }
        }

        private void fail(ChannelHandlerContext ctx, String message) {
            result.completeExceptionally(FerryException.connection(message, null));
            ctx.close();
        }
    }

    private void start() {
        sweeper = loop.scheduleAtFixedRate(this::sweep, SWEEP_MS, SWEEP_MS, TimeUnit.MILLISECONDS);
        channel.closeFuture().addListener(f -> onClosed(closedCauseOr("connection to " + remote + " closed")));
    }

    private FerryException closedCauseOr(String message) {
        return closedCause != null ? closedCause : FerryException.connection(message, null);
    }

    /** The codec this connection speaks. */
    Codec codec() {
        return codec;
    }

    EventLoop loop() {
        return loop;
    }

    boolean isOpen() {
        return closed == null;
    }

    /** Why the connection closed, or null while it is open. */
    FerryException closedReason() {
        return closed;
    }

    /** Requests waiting for a response. Event loop only. */
    int inFlight() {
        return pending.size();
    }

    /**
     * Sends {@code request} (its id is set here) and calls {@code callback} on the event loop
     * with the response, whatever its status, or with a failure: no response within
     * {@code timeoutMs}, or the connection closed. Any thread.
     *
     * @param what names the request in error messages, e.g. "FETCH orders/3"
     */
    void send(Command.Builder request, long timeoutMs, String what, Callback callback) {
        int id = nextId();
        ByteBuffer frame;
        try {
            frame = codec.encodeFrame(request.kind(Kind.REQUEST).requestId(id).build());
        } catch (RuntimeException e) {
            // an unencodable request is the caller's error: report it on the loop like any other outcome
            FerryException f = new FerryException(FerryException.Reason.CLIENT, null, what + ": cannot encode with "
                    + codec.name() + ": " + e.getMessage(), e);
            execute(() -> callback.done(null, f));
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Pending p = new Pending(callback, deadline, what);
        if (loop.inEventLoop()) {
            write(id, p, frame);
        } else {
            loop.execute(() -> write(id, p, frame));
        }
    }

    /** As {@link #send}, completing a future instead (on the event loop). */
    CompletableFuture<Command> request(Command.Builder request, long timeoutMs, String what) {
        CompletableFuture<Command> f = new CompletableFuture<>();
        send(request, timeoutMs, what, (r, t) -> {
            if (t != null) {
                f.completeExceptionally(t);
            } else {
                f.complete(r);
            }
        });
        return f;
    }

    /**
     * Sends a one-way request: no response comes, not even an error. {@code written} runs once the
     * frame is written to the socket, or is dropped with the connection. Any thread.
     */
    void oneway(Command.Builder request, Runnable written) {
        ByteBuffer frame = codec.encodeFrame(request.kind(Kind.ONEWAY).requestId(nextId()).build());
        execute(() -> {
            if (closed == null) {
                channel.write(Unpooled.wrappedBuffer(frame)).addListener(f -> written.run());
                scheduleFlush();
            } else {
                written.run();
            }
        });
    }

    private int nextId() {
        int id = ids.incrementAndGet();
        if (id == 0) { // 0 is what the broker uses for connection-level errors; skip it when the counter wraps
            id = ids.incrementAndGet();
        }
        return id;
    }

    private void execute(Runnable r) {
        if (loop.inEventLoop()) {
            r.run();
        } else {
            loop.execute(r);
        }
    }

    private void write(int id, Pending p, ByteBuffer frame) {
        if (closed != null) {
            p.callback.done(null, closed);
            return;
        }
        pending.put(id, p);
        channel.write(Unpooled.wrappedBuffer(frame), channel.voidPromise());
        scheduleFlush();
    }

    private void scheduleFlush() {
        if (!flushScheduled) {
            flushScheduled = true;
            loop.execute(flushTask);
        }
    }

    /**
     * Hands every one-way command the broker sends (CHECK_TRANSACTION) to {@code handler}, on the
     * event loop: it must not block. Without a handler they are ignored.
     */
    void onOneway(java.util.function.Consumer<Command> handler) {
        this.oneways = handler;
    }

    /** Runs {@code listener} on the event loop once the connection has closed (at once if it has). */
    void onClose(Runnable listener) {
        execute(() -> {
            if (closed != null) {
                listener.run();
            } else {
                closeListeners.add(listener);
            }
        });
    }

    /** Closes the connection; requests still pending fail with reason CONNECTION. Any thread. */
    void close() {
        channel.close();
    }

    private void onClosed(FerryException cause) {
        if (closed != null) {
            return;
        }
        closed = cause;
        if (sweeper != null) {
            sweeper.cancel(false);
        }
        List<Pending> failed = new ArrayList<>(pending.values());
        pending.clear();
        for (Pending p : failed) {
            complete(p, null, cause);
        }
        for (Runnable r : closeListeners) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("connection to {}: a close listener failed: {}", remote, e.toString());
            }
        }
        closeListeners.clear();
    }

    /** Runs a request's callback; one that throws must not keep the others (or the sweep) from running. */
    private void complete(Pending p, Command response, FerryException failure) {
        try {
            p.callback.done(response, failure);
        } catch (RuntimeException e) {
            LOG.warn("connection to {}: the callback of {} failed: {}", remote, p.what, e.toString());
        }
    }

    private void sweep() {
        if (pending.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        List<Integer> expired = null;
        for (IntObjectHashMap.PrimitiveEntry<Pending> e : pending.entries()) {
            if (now - e.value().deadlineNanos > 0) {
                if (expired == null) {
                    expired = new ArrayList<>();
                }
                expired.add(e.key());
            }
        }
        if (expired != null) {
            List<Pending> timedOut = new ArrayList<>(expired.size());
            for (int id : expired) {
                timedOut.add(pending.remove(id));
            }
            // closed before the callbacks run, so that none sends again on this connection
            Pending first = timedOut.get(0);
            closedCause = FerryException.connection("connection to " + remote + " closed: " + first.what + " got no response in time",
                    null);
            channel.close();
            for (Pending p : timedOut) {
                complete(p, null, FerryException.timeout(p.what + ": no response from " + remote + " in time; connection closed"));
            }
        }
    }

    /** Matches each response frame to its pending request. */
    private final class ResponseHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            byte[] bytes = new byte[frame.readableBytes()];
            frame.readBytes(bytes);
            frame.release();
            Command response;
            try {
                response = codec.decode(ByteBuffer.wrap(bytes), limits);
            } catch (CodecException e) {
                closedCause = FerryException.connection("undecodable response from " + remote + ": " + e.getMessage(), e);
                ctx.close();
                return;
            }
            if (response.kind() != Kind.RESPONSE) {
                java.util.function.Consumer<Command> h = oneways;
                if (response.kind() == Kind.ONEWAY && h != null) {
                    h.accept(response);
                } else {
                    LOG.debug("ignoring a {} {} command from {}", response.kind(), response.code(), remote);
                }
                return;
            }
            Pending p = pending.remove(response.requestId());
            if (p != null) {
                complete(p, response, null);
            } else if (response.requestId() == 0 && response.status() != Status.OK) {
                // the broker could not read a request and is closing the connection; which request it was is not known,
                // so every one in flight fails with the status: resent, the unreadable one would close the next connection too
                String what = "broker " + remote + " closed the connection";
                closedCause = response.status().retryable()
                        ? FerryException.connection(what + ": " + response.status() + ": " + response.message(), null)
                        : FerryException.broker(response.status(), what, response.message());
                ctx.close();
            }
            // otherwise: the answer to a request that already timed out; dropped
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (closedCause == null) {
                closedCause = FerryException.connection("connection to " + remote + " failed: " + cause, cause);
            }
            ctx.close();
        }
    }
}
