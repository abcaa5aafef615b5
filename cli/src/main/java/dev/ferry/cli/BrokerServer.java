package dev.ferry.cli;

import dev.ferry.broker.Broker;
import dev.ferry.cli.metrics.MetricsServer;
import dev.ferry.cli.metrics.MicrometerGatewayMetrics;
import dev.ferry.cli.metrics.StoreMetrics;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * A running broker as {@code ferry broker} wires it: storage and broker, the gateway, and — when
 * {@code metrics.port} is set — a Prometheus registry fed by the gateway and read from the store,
 * served over HTTP on the gateway's listen host. {@link #close()} stops them in reverse order.
 *
 * <p><b>Thread safety.</b> Start and close from one thread.
 */
final class BrokerServer implements AutoCloseable {
    private final BrokerSettings settings;
    private final Broker broker;
    private final Gateway gateway;
    private final MetricsServer metrics;
    private final JvmGcMetrics gcMetrics;

    private BrokerServer(BrokerSettings settings, Broker broker, Gateway gateway, MetricsServer metrics, JvmGcMetrics gcMetrics) {
        this.settings = settings;
        this.broker = broker;
        this.gateway = gateway;
        this.metrics = metrics;
        this.gcMetrics = gcMetrics;
    }

    static BrokerServer start(BrokerSettings settings) {
        Broker broker = Broker.open(settings.broker());
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
        } catch (RuntimeException e) {
            if (gc != null) {
                gc.close();
            }
            if (gateway != null) {
                gateway.close();
            }
            broker.close();
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

    /** Stops serving metrics, drains and closes the gateway, then closes the broker (flush, checkpoint). */
    @Override
    public void close() {
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
