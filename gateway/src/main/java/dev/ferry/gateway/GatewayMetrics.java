package dev.ferry.gateway;

import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;

/**
 * What the gateway reports as it serves: a listener the command line implements over a metrics
 * library, so the gateway itself depends on none. {@link #NONE} ignores everything.
 *
 * <p><b>Contract.</b> Methods are called on Netty event-loop threads (and, for requests that
 * complete later, on whatever thread completed them) concurrently, so implementations must be
 * thread-safe, must not block and must not throw. They sit on the request path: keep them to a
 * few atomic increments (cache meters; no per-call string building).
 */
public interface GatewayMetrics {
    /** Ignores everything. */
    GatewayMetrics NONE = new GatewayMetrics() {};

    /** A connection finished its handshake and speaks {@code codec}. */
    default void connectionOpened(String codec) {}

    /** A connection that had opened with {@code codec} closed (for any reason). */
    default void connectionClosed(String codec) {}

    /**
     * A request was answered (or, for a one-way request, completed) {@code nanos} after its
     * frame was decoded, with {@code status} ({@link Status#OK} or the error it got).
     */
    default void requestCompleted(RequestCode code, Status status, long nanos) {}

    /** A send stored {@code messages} messages of {@code topic}, {@code bytes} stored record bytes in all. */
    default void messagesIn(String topic, int messages, long bytes) {}

    /** A fetch returned {@code messages} messages of {@code topic}, {@code bytes} stored record bytes in all. */
    default void messagesOut(String topic, int messages, long bytes) {}

    /**
     * A connection-level failure, outside any request: {@code kind} is one of {@code handshake}
     * (a refused hello), {@code frame} (a frame that could not be read) or {@code io} (the
     * connection failed); {@code reason} is a short fixed word (a {@link Status} or
     * {@link dev.ferry.protocol.HandshakeResult} name, or {@code exception}).
     */
    default void connectionError(String kind, String reason) {}

    /**
     * Called once, as the gateway starts: {@code reservedBytes} reads the bytes of request frames
     * being read or held now (at most {@code maxBufferedFrameBytes}), {@code waitingConnections}
     * the connections not read now because that budget cannot cover their next frame. Both are
     * safe to read from any thread at any time (gauges); neither must be called from a callback above.
     */
    default void frameBudget(java.util.function.LongSupplier reservedBytes, java.util.function.IntSupplier waitingConnections) {}

    /** {@code topic} was deleted: meters kept per topic can go (a sink that keeps them grows with every topic ever deleted). */
    default void topicDeleted(String topic) {}
}
