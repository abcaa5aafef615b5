package dev.ferry.gateway;

import dev.ferry.protocol.Limits;
import java.util.Objects;

/**
 * Settings of a {@link Gateway}. Immutable; validated when built.
 *
 * @param host                  address to listen on (default 127.0.0.1)
 * @param port                  port to listen on; 0 picks a free one (default 9876)
 * @param limits                wire limits (frame size, header and batch counts, ...), checked before allocating
 * @param ioThreads             Netty worker threads; 0 = Netty's default, two per available processor (default 0)
 * @param writeLowWaterMark     a connection is read again once its unsent replies drop below this (default 1 MiB)
 * @param writeHighWaterMark    a connection is not read while its unsent replies exceed this (default 4 MiB)
 * @param maxInFlightSends      sends waiting for their flush beyond this get a retryable BUSY (default 20,000)
 * @param maxUnflushedBytes     sends get BUSY while the store has more than this not yet on disk (default 2 GiB)
 * @param maxParkedFetchesPerConnection long-polling fetches one connection may have waiting (default 1,024); past it a
 *                              FETCH that would wait gets a retryable BUSY, one with messages to read is answered
 * @param nativeTransport       use epoll where available (default true)
 * @param zeroCopy              send binary FETCH records as file regions (sendfile); false copies them through
 *                              Netty buffers, as a TLS pipeline would need (default true)
 * @param drainMs               on close, how long to wait for in-flight requests (default 5,000)
 * @param handshakeTimeoutMs    a connection that has not completed its handshake by then is closed (default 10,000)
 * @param frameTimeoutMs        a frame begun but not complete this long after (while the connection is read; four
 *                              times that in all) closes the connection with an error (default 60,000): a
 *                              half-sent frame holds its buffer. A frame's time starts once its memory is granted
 *                              from {@code maxBufferedFrameBytes}: waiting for that is not the client's doing
 * @param maxConnections        open connections the gateway admits; past it a hello is refused with
 *                              TOO_MANY_CONNECTIONS (default 10,000): each costs a file descriptor and buffers
 * @param maxConnectionsPerIp   open connections admitted from one client address (default 10,000)
 * @param maxParkedFetches      long-polling fetches waiting on the whole gateway; past it (as past
 *                              {@code maxParkedFetchesPerConnection}) a FETCH that would wait gets a retryable BUSY,
 *                              one with messages to read is answered; only fetches that wait count
 *                              (default 100,000): each holds memory and is read when its queue gets a message
 * @param writeStallTimeoutMs   a connection whose unsent replies make no progress this long (its client reads
 *                              nothing) is closed, releasing them and the segments they hold (default 60,000)
 * @param maxBufferedFrameBytes memory for request frames being read and not yet handled, all connections
 *                              together ({@link FrameBudget}): a connection whose next frame it cannot cover is
 *                              not read until it can. At least {@code limits.maxFrameBytes()}, so that any frame
 *                              can be read once the others are done. Default 256 MiB, raised to the frame limit
 *                              when that is larger and this is not set: 16 frames of the default 16 MiB being
 *                              read at once, a fixed figure rather than a share of the heap because frames are
 *                              read into Netty's direct buffers, whose own limit (by default the heap's size)
 *                              this must stay well under, next to replies and other buffers
 */
public record GatewayConfig(String host, int port, Limits limits, int ioThreads, int writeLowWaterMark, int writeHighWaterMark,
                            int maxInFlightSends, long maxUnflushedBytes, int maxParkedFetchesPerConnection,
                            boolean nativeTransport, boolean zeroCopy, long drainMs, long handshakeTimeoutMs, long frameTimeoutMs,
                            int maxConnections, int maxConnectionsPerIp, int maxParkedFetches, long writeStallTimeoutMs,
                            long maxBufferedFrameBytes) {
    /** The default of {@code maxBufferedFrameBytes} when the frame limit is at most this. */
    public static final long DEFAULT_MAX_BUFFERED_FRAME_BYTES = 256L << 20;

    public GatewayConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(limits, "limits");
        check("port", port, 0, 65_535);
        check("ioThreads", ioThreads, 0, 1024);
        check("writeLowWaterMark", writeLowWaterMark, 1, Integer.MAX_VALUE);
        check("writeHighWaterMark", writeHighWaterMark, writeLowWaterMark, Integer.MAX_VALUE);
        check("maxInFlightSends", maxInFlightSends, 1, Integer.MAX_VALUE);
        check("maxUnflushedBytes", maxUnflushedBytes, 1, Long.MAX_VALUE);
        check("maxParkedFetchesPerConnection", maxParkedFetchesPerConnection, 1, Integer.MAX_VALUE);
        check("drainMs", drainMs, 0, Long.MAX_VALUE);
        check("handshakeTimeoutMs", handshakeTimeoutMs, 1, Long.MAX_VALUE);
        check("frameTimeoutMs", frameTimeoutMs, 1, Long.MAX_VALUE);
        check("maxConnections", maxConnections, 1, Integer.MAX_VALUE);
        check("maxConnectionsPerIp", maxConnectionsPerIp, 1, Integer.MAX_VALUE);
        check("maxParkedFetches", maxParkedFetches, 1, Integer.MAX_VALUE);
        check("writeStallTimeoutMs", writeStallTimeoutMs, 1, Long.MAX_VALUE);
        if (maxBufferedFrameBytes < limits.maxFrameBytes()) {
            // below one frame, a connection waiting for room for a maximum frame would wait for ever
            throw new IllegalArgumentException("maxBufferedFrameBytes: " + maxBufferedFrameBytes + " (expected: at least the frame limit, "
                    + limits.maxFrameBytes() + " bytes (limits.frame.bytes), so that a largest frame can be read)");
        }
    }

    private static void check(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: " + min + ".." + max + ")");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link GatewayConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 9876;
        private Limits limits = Limits.DEFAULT;
        private int ioThreads;
        private int writeLowWaterMark = 1 << 20;
        private int writeHighWaterMark = 4 << 20;
        private int maxInFlightSends = 20_000;
        private long maxUnflushedBytes = 2L << 30;
        private int maxParkedFetchesPerConnection = 1024;
        private boolean nativeTransport = true;
        private boolean zeroCopy = true;
        private long drainMs = 5_000;
        private long handshakeTimeoutMs = 10_000;
        private long frameTimeoutMs = 60_000;
        private int maxConnections = 10_000;
        private int maxConnectionsPerIp = 10_000;
        private int maxParkedFetches = 100_000;
        private long writeStallTimeoutMs = 60_000;
        /** Null: the default, raised to the frame limit. */
        private Long maxBufferedFrameBytes;

        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder limits(Limits v) { limits = v; return this; }
        public Builder ioThreads(int v) { ioThreads = v; return this; }
        public Builder writeWaterMarks(int low, int high) { writeLowWaterMark = low; writeHighWaterMark = high; return this; }
        public Builder maxInFlightSends(int v) { maxInFlightSends = v; return this; }
        public Builder maxUnflushedBytes(long v) { maxUnflushedBytes = v; return this; }
        public Builder maxParkedFetchesPerConnection(int v) { maxParkedFetchesPerConnection = v; return this; }
        public Builder nativeTransport(boolean v) { nativeTransport = v; return this; }
        public Builder zeroCopy(boolean v) { zeroCopy = v; return this; }
        public Builder drainMs(long v) { drainMs = v; return this; }
        public Builder handshakeTimeoutMs(long v) { handshakeTimeoutMs = v; return this; }
        public Builder frameTimeoutMs(long v) { frameTimeoutMs = v; return this; }
        public Builder maxConnections(int v) { maxConnections = v; return this; }
        public Builder maxConnectionsPerIp(int v) { maxConnectionsPerIp = v; return this; }
        public Builder maxParkedFetches(int v) { maxParkedFetches = v; return this; }
        public Builder writeStallTimeoutMs(long v) { writeStallTimeoutMs = v; return this; }
        public Builder maxBufferedFrameBytes(long v) { maxBufferedFrameBytes = v; return this; }

        public GatewayConfig build() {
            return new GatewayConfig(host, port, limits, ioThreads, writeLowWaterMark, writeHighWaterMark, maxInFlightSends,
                    maxUnflushedBytes, maxParkedFetchesPerConnection, nativeTransport, zeroCopy, drainMs, handshakeTimeoutMs, frameTimeoutMs,
                    maxConnections, maxConnectionsPerIp, maxParkedFetches, writeStallTimeoutMs,
                    maxBufferedFrameBytes != null ? maxBufferedFrameBytes
                            : Math.max(DEFAULT_MAX_BUFFERED_FRAME_BYTES, limits.maxFrameBytes()));
        }
    }
}
