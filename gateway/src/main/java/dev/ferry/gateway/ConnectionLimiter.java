package dev.ferry.gateway;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the gateway's open connections, in all and per client address, and refuses one past
 * either limit ({@code connections.max}, {@code connections.max.per.ip}). Every connection costs
 * the broker a file descriptor, a channel and its buffers; without a cap one client that opens
 * sockets in a loop takes the descriptors every other client and the commit log's own files
 * need. A refused connection is told why at its hello ({@link HandshakeHandler}) and is not
 * counted.
 *
 * <p><b>Thread safety.</b> Safe for any thread: the event loops admit and release concurrently.
 * The per-address entry is removed with its last connection, so the map holds only addresses
 * with connections open.
 */
final class ConnectionLimiter {
    private final int max;
    private final int maxPerAddress;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();

    ConnectionLimiter(int max, int maxPerAddress) {
        this.max = max;
        this.maxPerAddress = maxPerAddress;
    }

    /**
     * Counts a new connection from {@code address}, or refuses it: null when admitted (then
     * {@link #release} must follow once it closes), else the reason, for the refusal's text.
     */
    String admit(InetAddress address) {
        if (open.incrementAndGet() > max) {
            open.decrementAndGet();
            return "too many connections: " + max + " open (connections.max)";
        }
        boolean[] admitted = {false};
        perAddress.compute(address, (a, n) -> {
            int count = n == null ? 0 : n;
            if (count >= maxPerAddress) {
                return n;
            }
            admitted[0] = true;
            return count + 1;
        });
        if (!admitted[0]) {
            open.decrementAndGet();
            return "too many connections from " + address.getHostAddress() + ": " + maxPerAddress + " open (connections.max.per.ip)";
        }
        return null;
    }

    /** Uncounts a connection {@link #admit} admitted. */
    void release(InetAddress address) {
        perAddress.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
        open.decrementAndGet();
    }

    /** Connections admitted and not yet released. */
    int open() {
        return open.get();
    }
}
