package dev.ferry.gateway;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.TransactionConfig;
import dev.ferry.log.LogConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A broker on a test directory with a gateway on an ephemeral port of 127.0.0.1, for tests that
 * talk to the gateway over real sockets. Close it to stop both (gateway first). Not thread-safe.
 */
final class TestServer implements AutoCloseable {
    final Path dir;
    final Broker broker;
    final Gateway gateway;
    private boolean closed;

    private TestServer(Path dir, Broker broker, Gateway gateway) {
        this.dir = dir;
        this.broker = broker;
        this.gateway = gateway;
    }

    static TestServer start(Path dir) {
        return start(dir, UnaryOperator.identity(), UnaryOperator.identity());
    }

    static TestServer start(Path dir, UnaryOperator<LogConfig.Builder> log, UnaryOperator<GatewayConfig.Builder> gateway) {
        return start(dir, log, BrokerConfig::defaults, gateway);
    }

    /** A server whose store uses 8 MiB segments without pre-touching, tuned further by the three functions. */
    static TestServer start(Path dir, UnaryOperator<LogConfig.Builder> log, Function<LogConfig, BrokerConfig> broker,
                            UnaryOperator<GatewayConfig.Builder> gateway) {
        return start(dir, log, broker, gateway, TransactionConfig.defaults());
    }

    /** With transaction settings (check timeout, interval, limit). */
    static TestServer start(Path dir, TransactionConfig transactions) {
        return start(dir, UnaryOperator.identity(), BrokerConfig::defaults, UnaryOperator.identity(), transactions);
    }

    static TestServer start(Path dir, UnaryOperator<LogConfig.Builder> log, Function<LogConfig, BrokerConfig> broker,
                            UnaryOperator<GatewayConfig.Builder> gateway, TransactionConfig transactions) {
        LogConfig logConfig = log.apply(LogConfig.builder(dir).segmentBytes(8 << 20).preTouch(false)).build();
        Broker b = Broker.open(broker.apply(logConfig), GroupConfig.defaults(), transactions);
        try {
            Gateway g = Gateway.start(b, gateway.apply(GatewayConfig.builder().host("127.0.0.1").port(0)).build());
            return new TestServer(dir, b, g);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    int port() {
        return gateway.port();
    }

    TestClient connect(String codec) throws IOException {
        return TestClient.connect(port(), codec);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                gateway.close();
            } finally {
                broker.close();
            }
        }
    }

    /** Polls {@code condition} every few milliseconds until it holds; fails naming {@code what} after {@code timeout}. */
    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }
}
