package dev.ferry.connect;

import dev.ferry.client.FerryClient;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * For tests of the runtime against a real broker: a broker and a client per test, a one-queue
 * topic {@code lines}, and connector runtimes with their state in {@code dir/state}.
 */
public abstract class RuntimeTestCase {
    @TempDir
    protected Path dir;
    protected BrokerFixture broker;
    protected FerryClient client;

    @BeforeEach
    protected void startBroker() {
        broker = BrokerFixture.start(dir.resolve("broker"));
        client = broker.client();
        client.createTopic("lines", 1);
    }

    @AfterEach
    protected void stopBroker() {
        client.close();
        broker.close();
    }

    protected ConnectRuntime start(ConnectorConfig... configs) {
        return broker.startRuntime(dir.resolve("state"), configs);
    }

    protected static ConnectorStatus status(ConnectRuntime rt, String name) {
        return BrokerFixture.status(rt, name);
    }
}
