package dev.ferry.gateway;

import dev.ferry.log.MessageStore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load shedding for sends: when the store cannot keep up — too many sends waiting for their
 * flush, or too many bytes not yet on disk — new sends are answered with a retryable BUSY
 * instead of being queued without bound. Also counts every request in flight, so a graceful
 * shutdown can wait for them.
 *
 * <p><b>Thread safety.</b> Atomic counters; safe for any threads.
 */
final class LoadGate {
    private final GatewayConfig config;
    private final AtomicInteger sendsInFlight = new AtomicInteger();
    private final AtomicInteger requestsInFlight = new AtomicInteger();

    LoadGate(GatewayConfig config) {
        this.config = config;
    }

    /** Admits a send (call {@link #sendDone} once it completes), or returns why it is refused. */
    String admitSend(MessageStore store) {
        long unflushed = store.writtenOffset() - store.flushedOffset();
        if (unflushed > config.maxUnflushedBytes()) {
            return "broker busy: " + unflushed + " bytes not yet flushed (limit " + config.maxUnflushedBytes() + "); retry later";
        }
        int n = sendsInFlight.incrementAndGet();
        if (n > config.maxInFlightSends()) {
            sendsInFlight.decrementAndGet();
            return "broker busy: " + (n - 1) + " sends waiting for their flush (limit " + config.maxInFlightSends() + "); retry later";
        }
        return null;
    }

    void sendDone() {
        sendsInFlight.decrementAndGet();
    }

    void requestStarted() {
        requestsInFlight.incrementAndGet();
    }

    void requestDone() {
        requestsInFlight.decrementAndGet();
    }

    int requestsInFlight() {
        return requestsInFlight.get();
    }
}
