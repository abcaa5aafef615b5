package dev.ferry.client;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.TransactionConfig;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * A real broker on a test folder with a real gateway on an ephemeral port of 127.0.0.1. Close
 * it to stop both, gateway first. Not thread-safe.
 */
final class BrokerFixture implements AutoCloseable {
    final Broker broker;
    final Gateway gateway;

    private BrokerFixture(Broker broker, Gateway gateway) {
        this.broker = broker;
        this.gateway = gateway;
    }

    static BrokerFixture start(Path dir) {
        return start(dir, UnaryOperator.identity());
    }

    static BrokerFixture start(Path dir, UnaryOperator<GatewayConfig.Builder> gateway) {
        return start(dir, UnaryOperator.identity(), gateway);
    }

    static BrokerFixture start(Path dir, UnaryOperator<LogConfig.Builder> log, UnaryOperator<GatewayConfig.Builder> gateway) {
        return start(dir, log, gateway, GroupConfig.defaults());
    }

    /** With consumer-group settings (session and ack timeouts, retry delays). */
    static BrokerFixture start(Path dir, GroupConfig groups) {
        return start(dir, UnaryOperator.identity(), UnaryOperator.identity(), groups);
    }

    static BrokerFixture start(Path dir, UnaryOperator<LogConfig.Builder> log, UnaryOperator<GatewayConfig.Builder> gateway,
                               GroupConfig groups) {
        return start(dir, log, gateway, groups, TransactionConfig.defaults());
    }

    /** With transaction settings (check timeout, interval and limit). */
    static BrokerFixture start(Path dir, TransactionConfig transactions) {
        return start(dir, UnaryOperator.identity(), UnaryOperator.identity(), GroupConfig.defaults(), transactions);
    }

    static BrokerFixture start(Path dir, UnaryOperator<LogConfig.Builder> log, UnaryOperator<GatewayConfig.Builder> gateway,
                               GroupConfig groups, TransactionConfig transactions) {
        Broker b = Broker.open(BrokerConfig.defaults(log.apply(LogConfig.builder(dir).segmentBytes(16 << 20).preTouch(false)).build()),
                groups, transactions);
        try {
            return new BrokerFixture(b, Gateway.start(b, gateway.apply(GatewayConfig.builder().host("127.0.0.1").port(0)).build()));
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    int port() {
        return gateway.port();
    }

    FerryClient client(String codec) {
        return FerryClient.connect(ClientConfig.builder().port(port()).codec(codec).requestTimeoutMs(10_000).build());
    }

    @Override
    public void close() {
        try {
            gateway.close();
        } finally {
            broker.close();
        }
    }
}
