package dev.ferry.connect;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.nio.file.Path;

/**
 * A real broker on a test folder with a real gateway on an ephemeral port of 127.0.0.1. Close
 * it to stop both, gateway first. Not thread-safe.
 */
public final class BrokerFixture implements AutoCloseable {
    private final Broker broker;
    private Gateway gateway;

    private BrokerFixture(Broker broker, Gateway gateway) {
        this.broker = broker;
        this.gateway = gateway;
    }

    public static BrokerFixture start(Path dir) {
        Broker b = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(64 << 20).preTouch(false).build()));
        try {
            return new BrokerFixture(b, Gateway.start(b, GatewayConfig.builder().host("127.0.0.1").port(0).build()));
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    public String server() {
        return "127.0.0.1:" + gateway.port();
    }

    /** A broker outage as clients see it: closes the gateway (connections drop, new ones are refused); the broker stays open. */
    public void stopGateway() {
        gateway.close();
    }

    /** Ends {@link #stopGateway()}: a new gateway on the same port. */
    public void restartGateway(int port) {
        gateway = Gateway.start(broker, GatewayConfig.builder().host("127.0.0.1").port(port).build());
    }

    public int port() {
        return gateway.port();
    }

    /** The broker itself, for a test that looks at or damages what it stored. */
    public Broker broker() {
        return broker;
    }

    public FerryClient client() {
        return FerryClient.connect(ClientConfig.builder().server(server()).requestTimeoutMs(10_000).build());
    }

    @Override
    public void close() {
        try {
            gateway.close();
        } finally {
            broker.close();
        }
    }

    /** Starts a connector runtime against this broker, its state in {@code stateDir}, status.json written every 100 ms. */
    public ConnectRuntime startRuntime(Path stateDir, ConnectorConfig... configs) {
        ConnectRuntime rt = ConnectRuntime.create(java.util.List.of(configs), RuntimeOptions.of(server(), stateDir)
                .withStatusIntervalMs(100));
        rt.start();
        return rt;
    }

    /** The status of connector {@code name} in {@code rt}. */
    public static ConnectorStatus status(ConnectRuntime rt, String name) {
        return rt.status().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }
}
