package dev.ferry.client;

import dev.ferry.protocol.Limits;
import java.util.Objects;

/**
 * Settings of a {@link FerryClient}: where the broker is, which codec to speak, and how long to
 * wait. Immutable; every field is validated when built, and a bad one is named in the exception.
 *
 * @param host             broker host (default 127.0.0.1)
 * @param port             broker port (default 9876)
 * @param codec            wire codec offered in the handshake: binary (default), json, hessian or protobuf
 * @param clientId         sent with heartbeats, for the broker's logs (default "ferry-java")
 * @param connectTimeoutMs TCP connect plus handshake (default 5,000)
 * @param requestTimeoutMs how long a request waits for its response, beyond any long-poll wait (default 30,000);
 *                         one not answered in time closes its connection (a silent peer), which is opened again
 * @param ioThreads        Netty event-loop threads shared by every connection of the client (default 1)
 * @param limits           limits checked when decoding responses, and by the producer on each message before it is
 *                         queued (default {@link Limits#DEFAULT}, the broker's defaults)
 * @param nativeTransport  use epoll where it loads (default true)
 */
public record ClientConfig(String host, int port, String codec, String clientId, long connectTimeoutMs,
                           long requestTimeoutMs, int ioThreads, Limits limits, boolean nativeTransport) {

    public ClientConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(codec, "codec");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(limits, "limits");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host: '' (expected: a host name or address)");
        }
        Checks.range("port", port, 1, 65_535);
        Checks.range("connectTimeoutMs", connectTimeoutMs, 1, Integer.MAX_VALUE);
        Checks.range("requestTimeoutMs", requestTimeoutMs, 1, Long.MAX_VALUE / 4);
        Checks.range("ioThreads", ioThreads, 1, 256);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link ClientConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 9876;
        private String codec = "binary";
        private String clientId = "ferry-java";
        private long connectTimeoutMs = 5_000;
        private long requestTimeoutMs = 30_000;
        private int ioThreads = 1;
        private Limits limits = Limits.DEFAULT;
        private boolean nativeTransport = true;

        private Builder() {
        }

        /** {@code host:port}, for example {@code 127.0.0.1:9876}. */
        public Builder server(String hostPort) {
            Objects.requireNonNull(hostPort, "server");
            int colon = hostPort.lastIndexOf(':');
            if (colon <= 0 || colon == hostPort.length() - 1) {
                throw new IllegalArgumentException("server: '" + hostPort + "' (expected: host:port)");
            }
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("server: '" + hostPort + "' (expected: host:port with a decimal port)");
            }
            host = hostPort.substring(0, colon);
            return this;
        }

        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder codec(String v) { codec = v; return this; }
        public Builder clientId(String v) { clientId = v; return this; }
        public Builder connectTimeoutMs(long v) { connectTimeoutMs = v; return this; }
        public Builder requestTimeoutMs(long v) { requestTimeoutMs = v; return this; }
        public Builder ioThreads(int v) { ioThreads = v; return this; }
        public Builder limits(Limits v) { limits = v; return this; }
        public Builder nativeTransport(boolean v) { nativeTransport = v; return this; }

        public ClientConfig build() {
            return new ClientConfig(host, port, codec, clientId, connectTimeoutMs, requestTimeoutMs, ioThreads, limits,
                    nativeTransport);
        }
    }
}
