package dev.ferry.gateway;

import dev.ferry.broker.Broker;
import dev.ferry.protocol.Codecs;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FileRegion;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The network front of a broker: one port for every codec. Each connection starts with the
 * handshake ({@link HandshakeHandler}) that picks its codec, then exchanges length-prefixed
 * frames ({@link FrameDecoder}) handled by a {@link ConnectionHandler}. Uses Netty's native
 * epoll transport where it loads, NIO otherwise.
 *
 * <p>{@link #close()} is graceful: it stops accepting, answers waiting long polls, waits up to
 * {@code drainMs} for requests in flight, then closes the connections.
 *
 * <p><b>Thread safety.</b> Start and close from one thread; the server runs on Netty's threads.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    /**
     * Counts a file region as the bytes it will send. Netty's default estimator counts it as 0,
     * so zero-copy FETCH replies would never reach the write high-water mark and a client that
     * does not read could make the server queue unbounded replies (each pinning a segment).
     */
    static final MessageSizeEstimator SIZE_ESTIMATOR = new MessageSizeEstimator() {
        private final Handle defaults = DefaultMessageSizeEstimator.DEFAULT.newHandle();
        private final Handle handle = msg -> msg instanceof FileRegion r ? (int) Math.min(r.count(), Integer.MAX_VALUE) : defaults.size(msg);

        @Override
        public Handle newHandle() {
            return handle;
        }
    };

    private final Broker broker;
    private final GatewayConfig config;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel server;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final LoadGate load;
    /** Long-polling fetches waiting, over all connections (bounded by {@code maxParkedFetches}). */
    private final java.util.concurrent.atomic.AtomicInteger parkedFetches = new java.util.concurrent.atomic.AtomicInteger();
    private final ConnectionLimiter limiter;
    /** Memory for request frames being read, over all connections ({@code maxBufferedFrameBytes}). */
    private final FrameBudget frameBudget;
    private final String transport;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private Gateway(Broker broker, GatewayConfig config, GatewayMetrics metrics) {
        this.broker = broker;
        this.config = config;
        this.load = new LoadGate(config);
        this.limiter = new ConnectionLimiter(config.maxConnections(), config.maxConnectionsPerIp());
        this.frameBudget = new FrameBudget(config.maxBufferedFrameBytes());
        metrics.frameBudget(frameBudget::reserved, frameBudget::waiting);
        boolean epoll = config.nativeTransport() && Epoll.isAvailable();
        this.transport = epoll ? "epoll" : "nio";
        this.boss = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        Codecs codecs = Codecs.load(Gateway.class.getClassLoader());
        Requests requests = new Requests(broker, config, load, metrics);
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // a client that shuts its output (a TCP half-close) still reads: its requests are answered
                // before the close (ConnectionHandler.userEventTriggered), not dropped with the connection
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.MESSAGE_SIZE_ESTIMATOR, SIZE_ESTIMATOR)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(config.writeLowWaterMark(), config.writeHighWaterMark()))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        InetSocketAddress remote = ch.remoteAddress();
                        if (remote == null) {
                            ch.close(); // reset before it was set up: nothing to count or answer
                            return;
                        }
                        String refusal = limiter.admit(remote.getAddress());
                        if (refusal == null) {
                            ch.closeFuture().addListener(f -> limiter.release(remote.getAddress()));
                        }
                        ch.pipeline().addLast("handshake", new HandshakeHandler(codecs, metrics, config.handshakeTimeoutMs(), refusal,
                                codec -> new FrameDecoder(config.limits(), config.frameTimeoutMs(), frameBudget),
                                codec -> new ConnectionHandler(codec, requests, load, config, metrics, parkedFetches, closed::get)));
                    }
                });
        try {
            // resolved here: Netty binds an unresolved name as an UnresolvedAddressException with no message
            InetSocketAddress address = new InetSocketAddress(java.net.InetAddress.getByName(config.host()), config.port());
            this.server = b.bind(address).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shutdownGroups();
            throw new IllegalStateException("interrupted while binding " + config.host() + ":" + config.port(), e);
        } catch (Exception e) {
            // sync() rethrows the bind's own failure, a checked java.net.BindException or Netty's native IOException,
            // undeclared: catching RuntimeException only let it pass unwrapped, without the address
            shutdownGroups();
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": " + bindFailure(e), e);
        }
        LOG.info("listening on {} ({}; codecs {})", server.localAddress(), transport, codecs.names());
    }

    /** Starts serving {@code broker}; returns once the port is bound. */
    public static Gateway start(Broker broker, GatewayConfig config) {
        return new Gateway(broker, config, GatewayMetrics.NONE);
    }

    /** Starts serving {@code broker}, reporting to {@code metrics} (see its thread-safety contract). */
    public static Gateway start(Broker broker, GatewayConfig config, GatewayMetrics metrics) {
        return new Gateway(broker, config, java.util.Objects.requireNonNull(metrics, "metrics"));
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    public int port() {
        return address().getPort();
    }

    /** Connections open and counted against {@code connections.max} (refused ones are not). */
    public int openConnections() {
        return limiter.open();
    }

    /** Bytes of request frames being read or held, reserved from {@code maxBufferedFrameBytes}; for tests and diagnostics. */
    long bufferedFrameBytes() {
        return frameBudget.reserved();
    }

    /**
     * Bytes the frame decoders of all connections hold read and not yet passed on (frames begun,
     * and what was read behind a frame waiting for memory), each read on its connection's event
     * loop. For tests and diagnostics.
     */
    long frameBytesHeldInDecoders() {
        return sumOverConnections(FrameDecoder.class, d -> new long[] {d.bufferedBytes()})[0];
    }

    /**
     * Frames put off by all connections (their clients do not read their replies): {bytes of the
     * frame budget they hold, bytes of memory they keep from being freed}. For tests and diagnostics.
     */
    long[] deferredFrameMemory() {
        return sumOverConnections(ConnectionHandler.class, ConnectionHandler::deferredFrameMemory);
    }

    /**
     * The frame decoders of all connections: {bytes of the budget reserved for the frames they are
     * reading, capacity of the buffers holding what they read and did not pass on}. For tests and
     * diagnostics.
     */
    long[] frameDecoderMemory() {
        return sumOverConnections(FrameDecoder.class, FrameDecoder::heldMemory);
    }

    /**
     * Sums, field by field, what {@code figures} reads from each open connection's handler of
     * {@code type}, on the connection's event loop (the handlers' fields are the loop's); a
     * connection closed meanwhile counts nothing.
     */
    private <H extends io.netty.channel.ChannelHandler> long[] sumOverConnections(Class<H> type,
            java.util.function.Function<H, long[]> figures) {
        long[] sum = new long[2];
        for (Channel ch : connections) {
            H handler = ch.pipeline().get(type);
            if (handler != null) {
                try {
                    long[] one = ch.eventLoop().submit(() -> figures.apply(handler)).get();
                    for (int i = 0; i < one.length; i++) {
                        sum[i] += one[i];
                    }
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.RejectedExecutionException e) {
                    // closed meanwhile: holds nothing
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return sum;
    }

    /** Connections not read now because {@code maxBufferedFrameBytes} cannot cover their next frame. */
    int connectionsWaitingForFrameMemory() {
        return frameBudget.waiting();
    }

    /**
     * The most reply bytes one connection has queued unsent now (written to its channel, not yet
     * taken by the socket): what flow control bounds (about the write high-water mark plus one
     * reply). For tests and diagnostics.
     */
    long largestUnsentReplyBytes() {
        long largest = 0;
        for (Channel ch : connections) {
            io.netty.channel.ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
            if (out != null) {
                largest = Math.max(largest, out.totalPendingWriteBytes());
            }
        }
        return largest;
    }

    /** "epoll" or "nio". */
    public String transport() {
        return transport;
    }

    /** Graceful close (see the class comment); later calls do nothing. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return; // the event loops are gone: closing channels again would be rejected
        }
        server.close().syncUninterruptibly();
        // closed, set above, makes this gateway's fetches asked from now on answer at once (ConnectionHandler's
        // FetchWaits.draining): a consumer polls again as soon as its released poll is answered
        broker.releaseWaitingFetches();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.drainMs());
        while (load.requestsInFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (load.requestsInFlight() > 0) {
            LOG.warn("closing with {} requests still in flight after {} ms", load.requestsInFlight(), config.drainMs());
        }
        connections.close().syncUninterruptibly();
        shutdownGroups();
    }

    /**
     * Why a bind failed, in the operating system's words: "Address already in use", "Cannot
     * assign requested address" (a host not on this machine), "unknown host". Netty's native
     * transport prefixes the call and errno ("bind(..) failed with error(-98): "), which says
     * nothing more to an operator.
     */
    static String bindFailure(Throwable e) {
        if (e instanceof java.net.UnknownHostException || e instanceof java.nio.channels.UnresolvedAddressException) {
            return "unknown host";
        }
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return message.replaceFirst("^\\w+\\(\\.\\.\\) failed with error\\(-?\\d+\\): ", "");
    }

    private void shutdownGroups() {
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
