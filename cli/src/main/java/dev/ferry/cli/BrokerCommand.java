package dev.ferry.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry broker}: runs a broker (storage + gateway, and a metrics endpoint if asked) in the
 * foreground until Ctrl-C or SIGTERM, then stops cleanly: drains requests, flushes, writes the
 * checkpoint, removes the abort marker.
 *
 * <p>Settings come from the defaults, then {@code --config FILE}, then the flags below; every
 * key is in {@link BrokerSettings} and docs/OPERATIONS.md. A bad setting stops it before
 * anything is opened, with exit code {@link Ferry#EXIT_BAD_CONFIG}.
 */
@Command(name = "broker", mixinStandardHelpOptions = true, description = "Run a broker in the foreground.")
final class BrokerCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "Properties file of settings (keys: docs/OPERATIONS.md, or --print-config).")
    Path config;

    @Option(names = "--data", paramLabel = "DIR", description = "Data folder (data.dir, default data).")
    Path data;

    @Option(names = "--host", description = "Address to listen on (listen.host, default 127.0.0.1).")
    String host;

    @Option(names = "--port", description = "Port to listen on (listen.port, default 9876).")
    Integer port;

    @Option(names = "--metrics-port", paramLabel = "M", description = "Serve Prometheus metrics on http://HOST:M/metrics (metrics.port; default 0 = off).")
    Integer metricsPort;

    @Option(names = "--flush", description = "async or sync (flush.mode, default async).")
    String flush;

    @Option(names = "--segment-bytes", description = "Commit-log segment size (segment.bytes, default 1073741824).")
    Integer segmentBytes;

    @Option(names = "--default-queues", description = "Queues of auto-created topics (topics.default.queues, default 8).")
    Integer defaultQueues;

    @Option(names = "--print-config", description = "Print every setting with its default, as a file to start from, and exit.")
    boolean printConfig;

    @Override
    public Integer call() {
        if (printConfig) {
            System.out.print(BrokerSettings.template());
            return 0;
        }
        Map<String, BrokerSettings.Value> values = values();
        BrokerServer server;
        try {
            server = BrokerServer.start(BrokerSettings.from(values));
        } catch (IllegalArgumentException e) {
            // a setting the data folder rules out (limits.topic.queues below a topic's queues), found once it is read
            throw BrokerSettings.againstTheData(e, values);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("ferry: stopping (draining requests, flushing)");
            try {
                server.close();
            } catch (RuntimeException | Error e) {
                System.err.println("ferry: stopping failed: " + e);
                System.err.flush();
                Runtime.getRuntime().halt(1);
            }
            System.err.println("ferry: stopped cleanly");
            stopped.countDown();
            System.out.flush();
            System.err.flush();
            // a JVM ended by SIGTERM (or Ctrl-C) exits with 143 (130) after its hooks; a clean stop is exit 0
            Runtime.getRuntime().halt(0);
        }, "ferry-shutdown"));
        BrokerSettings s = server.settings();
        System.out.printf("Ferry broker listening on %s:%d (%s), data in %s, %s flush%n", s.gateway().host(), server.gateway().port(),
                server.gateway().transport(), s.broker().log().dir(), s.broker().log().flushMode().name().toLowerCase(Locale.ROOT));
        if (server.connect() != null) {
            System.out.printf("Connectors %s running, state in %s%n", String.join(", ", server.connect().names()),
                    s.connectStateDir());
        }
        if (server.metricsPort() != 0) {
            System.out.printf("Metrics on http://%s:%d/metrics%n", s.gateway().host(), server.metricsPort());
        }
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** Defaults, then the file, then the flags given. */
    BrokerSettings settings() {
        return BrokerSettings.from(values());
    }

    /** The file's values, then the flags given over them. */
    private Map<String, BrokerSettings.Value> values() {
        Map<String, BrokerSettings.Value> values = new LinkedHashMap<>();
        if (config != null) {
            values.putAll(BrokerSettings.readFile(config));
        }
        flag(values, "data.dir", "--data", data);
        flag(values, "listen.host", "--host", host);
        flag(values, "listen.port", "--port", port);
        flag(values, "metrics.port", "--metrics-port", metricsPort);
        flag(values, "flush.mode", "--flush", flush);
        flag(values, "segment.bytes", "--segment-bytes", segmentBytes);
        flag(values, "topics.default.queues", "--default-queues", defaultQueues);
        return values;
    }

    private static void flag(Map<String, BrokerSettings.Value> values, String key, String flag, Object value) {
        if (value != null) {
            values.put(key, new BrokerSettings.Value(value.toString(), flag));
        }
    }
}
