package dev.ferry.cli;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.FlushMode;
import dev.ferry.log.LogConfig;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry broker}: runs a broker (storage + gateway) in the foreground until Ctrl-C or
 * SIGTERM, then stops cleanly: drains requests, flushes, writes the checkpoint, removes the
 * abort marker.
 */
@Command(name = "broker", mixinStandardHelpOptions = true, description = "Run a broker in the foreground.")
final class BrokerCommand implements Callable<Integer> {
    @Option(names = "--data", description = "Data folder (default ${DEFAULT-VALUE}).", defaultValue = "data")
    Path data;

    @Option(names = "--host", description = "Address to listen on (default ${DEFAULT-VALUE}).", defaultValue = "127.0.0.1")
    String host;

    @Option(names = "--port", description = "Port to listen on (default ${DEFAULT-VALUE}).", defaultValue = "9876")
    int port;

    @Option(names = "--flush", description = "async or sync (default ${DEFAULT-VALUE}).", defaultValue = "async")
    String flush;

    @Option(names = "--segment-bytes", description = "Commit-log segment size (default ${DEFAULT-VALUE}).", defaultValue = "1073741824")
    int segmentBytes;

    @Option(names = "--default-queues", description = "Queues of auto-created topics (default ${DEFAULT-VALUE}).", defaultValue = "8")
    int defaultQueues;

    @Override
    public Integer call() {
        FlushMode mode = switch (flush.toLowerCase(Locale.ROOT)) {
            case "async" -> FlushMode.ASYNC;
            case "sync" -> FlushMode.SYNC;
            default -> throw new IllegalArgumentException("--flush: " + flush + " (expected: async or sync)");
        };
        LogConfig log = LogConfig.builder(data.toAbsolutePath()).segmentBytes(segmentBytes).flushMode(mode).build();
        BrokerConfig config = new BrokerConfig(log, defaultQueues, true, 30_000, 1_000);
        Broker broker = Broker.open(config);
        Gateway gateway;
        try {
            gateway = Gateway.start(broker, GatewayConfig.builder().host(host).port(port).build());
        } catch (RuntimeException e) {
            broker.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("ferry: stopping (draining requests, flushing)");
            gateway.close();
            broker.close();
            System.err.println("ferry: stopped cleanly");
            stopped.countDown();
        }, "ferry-shutdown"));
        System.out.printf("Ferry broker listening on %s:%d (%s), data in %s, %s flush%n", host, gateway.port(), gateway.transport(),
                data.toAbsolutePath(), mode.name().toLowerCase(Locale.ROOT));
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
