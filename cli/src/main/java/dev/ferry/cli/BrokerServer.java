package dev.ferry.cli;

import dev.ferry.broker.Broker;
import dev.ferry.cli.metrics.MetricsServer;
import dev.ferry.cli.metrics.MicrometerGatewayMetrics;
import dev.ferry.cli.metrics.StoreMetrics;
import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ConnectorFiles;
import dev.ferry.connect.RuntimeOptions;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;

/**
 * A running broker as {@code ferry broker} wires it: storage and broker, the gateway, and — when
 * {@code metrics.port} is set — a Prometheus registry fed by the gateway and read from the store,
 * served over HTTP on the gateway's listen host; with {@code connect.configs}, a connect runtime
 * started after the gateway is up. {@link #close()} stops them in reverse order.
 *
 * <p><b>Thread safety.</b> Start and close from one thread.
 */
final class BrokerServer implements AutoCloseable {
    private final BrokerSettings settings;
    private final Broker broker;
    private final Gateway gateway;
    private final MetricsServer metrics;
    private final JvmGcMetrics gcMetrics;
    /** Connectors run inside the broker ({@code connect.configs}), or null. */
    private ConnectRuntime connect;

    private BrokerServer(BrokerSettings settings, Broker broker, Gateway gateway, MetricsServer metrics, JvmGcMetrics gcMetrics) {
        this.settings = settings;
        this.broker = broker;
        this.gateway = gateway;
        this.metrics = metrics;
        this.gcMetrics = gcMetrics;
    }

    /** Starts the broker, then (with {@code connect.configs}) its connectors; the connectors' configs are checked before anything opens. */
    static BrokerServer start(BrokerSettings settings) {
        List<ConnectorConfig> connectors = List.of();
        if (!settings.connectConfigs().isEmpty()) {
            connectors = ConnectorFiles.load(settings.connectConfigs(), List.of());
            ConnectRuntime.create(connectors, RuntimeOptions.of("127.0.0.1:0", settings.connectStateDir())).close(); // validate only
        }
        BrokerServer server = open(settings);
        if (!connectors.isEmpty()) {
            try {
                String host = settings.gateway().host();
                String local = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
                server.connect = ConnectRuntime.create(ConnectorFiles.load(settings.connectConfigs(), List.of()),
                        RuntimeOptions.of(local + ":" + server.gateway.port(), settings.connectStateDir()));
                server.connect.start();
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
        }
        return server;
    }

    private static BrokerServer open(BrokerSettings settings) {
        Broker broker = Broker.open(settings.broker(), settings.groups(), settings.transactions());
        Gateway gateway = null;
        JvmGcMetrics gc = null;
        try {
            if (settings.metricsPort() == 0) {
                gateway = Gateway.start(broker, settings.gateway(), GatewayMetrics.NONE);
                return new BrokerServer(settings, broker, gateway, null, null);
            }
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            new ProcessorMetrics().bindTo(registry);
            new UptimeMetrics().bindTo(registry);
            gc = new JvmGcMetrics();
            gc.bindTo(registry);
            StoreMetrics store = new StoreMetrics(registry, broker);
            gateway = Gateway.start(broker, settings.gateway(), new MicrometerGatewayMetrics(registry));
            MetricsServer http = MetricsServer.start(settings.gateway().host(), settings.metricsPort(), registry, store::refresh);
            return new BrokerServer(settings, broker, gateway, http, gc);
        } catch (Throwable e) {
            // any failure, also one thrown undeclared (a checked exception from Netty, an Error): with the
            // broker left open its abort marker stayed and the next start ran crash recovery
            // each closed even if one before it fails, whose failure goes with e (kept as the reason) as suppressed
            for (AutoCloseable opened : new AutoCloseable[] {gc, gateway, broker}) {
                try {
                    if (opened != null) {
                        opened.close();
                    }
                } catch (Throwable t) {
                    e.addSuppressed(t);
                }
            }
            throw e;
        }
    }

    Broker broker() {
        return broker;
    }

    Gateway gateway() {
        return gateway;
    }

    BrokerSettings settings() {
        return settings;
    }

    /** Port of the metrics endpoint, 0 if there is none. */
    int metricsPort() {
        return metrics == null ? 0 : metrics.port();
    }

    /** The embedded connectors, or null when {@code connect.configs} is empty. */
    ConnectRuntime connect() {
        return connect;
    }

    /**
     * Stops the embedded connectors first (they flush and commit through the gateway), then stops
     * serving metrics, drains and closes the gateway, then closes the broker (flush, checkpoint).
     */
    @Override
    public void close() {
        if (connect != null) {
            connect.close();
        }
        try {
            if (metrics != null) {
                metrics.close();
                gcMetrics.close();
            }
            gateway.close();
        } finally {
            broker.close();
        }
    }
}
