package dev.ferry.client;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The client's event-loop threads and socket type: epoll where Netty's native transport loads
 * (and {@link ClientConfig#nativeTransport()} allows), NIO otherwise. Threads are daemons so a
 * client that is never closed does not keep the JVM alive.
 *
 * <p>Thread-safe.
 */
final class Transport implements AutoCloseable {
    private final EventLoopGroup group;
    private final Class<? extends SocketChannel> channelClass;

    Transport(ClientConfig config) {
        boolean epoll = config.nativeTransport() && Epoll.isAvailable();
        DefaultThreadFactory threads = new DefaultThreadFactory("ferry-client", true);
        this.group = new MultiThreadIoEventLoopGroup(config.ioThreads(), threads,
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.channelClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The next event loop, round-robin; a producer or consumer keeps its one for every reconnect. */
    EventLoop nextLoop() {
        return group.next();
    }

    /**
     * True on one of the client's event-loop threads: the thread that runs every callback of a
     * send, nack or commit future. A call there that waits for a response would wait for a loop
     * that cannot run (with one I/O thread, every connection's), so blocking calls refuse it.
     */
    boolean inEventLoop() {
        for (EventExecutor e : group) {
            if (e.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    Class<? extends SocketChannel> channelClass() {
        return channelClass;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
