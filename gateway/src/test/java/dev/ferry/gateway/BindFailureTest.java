package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.log.LogConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A port the gateway cannot bind fails its start with an unchecked exception that names the
 * address and the operating system's reason, on both transports. Before, the native transport's
 * checked bind exception passed the RuntimeException catch unwrapped ("bind(..) failed with
 * error(-98): ..."; NIO: a bare "Address already in use"), and a host name that does not resolve
 * gave the reason "null".
 */
class BindFailureTest {
    @TempDir
    Path dir;
    private Broker broker;

    @BeforeEach
    void open() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(1 << 20).preTouch(false).build()));
    }

    @AfterEach
    void close() {
        broker.close();
    }

    private Throwable start(GatewayConfig config) {
        return catchThrowable(() -> Gateway.start(broker, config).close());
    }

    @ParameterizedTest(name = "nativeTransport={0}")
    @ValueSource(booleans = {true, false})
    void aPortInUseNamesTheAddressAndTheReason(boolean nativeTransport) throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Throwable t = start(GatewayConfig.builder().host("127.0.0.1").port(taken.getLocalPort()).nativeTransport(nativeTransport).build());
            assertThat(t).isInstanceOf(IllegalStateException.class)
                    .hasMessage("cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": Address already in use");
        }
    }

    @ParameterizedTest(name = "nativeTransport={0}")
    @ValueSource(booleans = {true, false})
    void aHostThatDoesNotResolveSaysSo(boolean nativeTransport) {
        Throwable t = start(GatewayConfig.builder().host("no.such.host.invalid").port(0).nativeTransport(nativeTransport).build());
        assertThat(t).isInstanceOf(IllegalStateException.class).hasMessage("cannot listen on no.such.host.invalid:0: unknown host");
    }

    @ParameterizedTest(name = "nativeTransport={0}")
    @ValueSource(booleans = {true, false})
    void anAddressNotOnThisMachineNamesTheAddress(boolean nativeTransport) {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address
        Throwable t = start(GatewayConfig.builder().host("192.0.2.1").port(0).nativeTransport(nativeTransport).build());
        assertThat(t).isInstanceOf(IllegalStateException.class).hasMessage("cannot listen on 192.0.2.1:0: Cannot assign requested address");
    }
}
