package dev.ferry.connect.jdbc;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.broker.GroupConfig;
import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.nio.file.Path;

/**
 * A real broker on a test folder with a real gateway on an ephemeral port of 127.0.0.1, for
 * the JDBC connector tests. Close it to stop both, gateway first. Not thread-safe.
 */
final class BrokerFixture implements AutoCloseable {
    private final Broker broker;
    private final Gateway gateway;

    private BrokerFixture(Broker broker, Gateway gateway) {
        this.broker = broker;
        this.gateway = gateway;
    }

    static BrokerFixture start(Path dir) {
        Broker b = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(64 << 20).preTouch(false).build()),
                GroupConfig.defaults());
        try {
            return new BrokerFixture(b, Gateway.start(b, GatewayConfig.builder().host("127.0.0.1").port(0).build()));
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    String server() {
        return "127.0.0.1:" + gateway.port();
    }

    FerryClient client() {
        return FerryClient.connect(ClientConfig.builder().port(gateway.port()).requestTimeoutMs(10_000).build());
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
