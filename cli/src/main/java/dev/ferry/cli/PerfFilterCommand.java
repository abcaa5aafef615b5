package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf filter}: what broker-side filtering buys. Fills a fresh topic with
 * {@code --messages} messages of which one in {@code --match-every} has tag {@code TagA} and
 * property {@code a=0} (the rest {@code TagB}, {@code a=1..}), then reads the whole topic three
 * times with fresh groups: unfiltered, with the tag expression {@code TagA}, and with the SQL92
 * expression {@code a = 0}. Each read runs until it has every message it should get (and checks
 * each filtered one matches); the time to get through the topic is what is compared:
 * {@code speedup = unfiltered seconds / filtered seconds}, and the filtered reads' delivered
 * messages/s. Tags are filtered by hash in the offset index (skipped records are never read),
 * SQL by evaluating each record's properties on the broker.
 */
@Command(name = "filter", mixinStandardHelpOptions = true, description = "Filtered vs unfiltered consumption benchmark.")
final class PerfFilterCommand implements Callable<Integer> {
    @Option(names = "--server", required = true, description = "Broker host:port.")
    String server;

    @Option(names = "--queues", defaultValue = "4", description = "Queues of the topic (default ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--messages", defaultValue = "2000000", description = "Messages in the topic (default ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--match-every", defaultValue = "10", description = "One message in N matches (default ${DEFAULT-VALUE}: 10%%).")
    int matchEvery;

    @Option(names = "--record-size", defaultValue = "100", description = "Payload bytes (default ${DEFAULT-VALUE}).")
    int recordSize;

    @Option(names = "--codec", defaultValue = "binary", description = "binary, json, hessian or protobuf (default ${DEFAULT-VALUE}).")
    String codec;

    @Override
    public Integer call() throws Exception {
        if (messages <= 0 || matchEvery <= 0) {
            throw new BadCommandLineException("--messages and --match-every must be > 0");
        }
        String topic = "perf-filter-" + System.currentTimeMillis();
        ClientConfig cc = ClientConfig.builder().server(server).codec(codec).ioThreads(2).build();
        byte[] payload = PerfResults.payload(recordSize, 13);
        try (FerryClient client = FerryClient.connect(cc)) {
            client.createTopic(topic, queues);
            long fillStart = System.nanoTime();
            try (Producer producer = client.producer()) {
                for (int i = 0; i < messages; i++) {
                    boolean match = i % matchEvery == 0;
                    producer.sendAsync(Message.builder(topic).tags(match ? "TagA" : "TagB")
                            .properties(java.util.Map.of("a", Integer.toString(i % matchEvery))).body(payload).build());
                }
                producer.flush();
            }
            System.out.printf(Locale.ROOT, "filled %s with %,d messages in %.1f s%n", topic, messages, (System.nanoTime() - fillStart) / 1e9);
            int matching = (messages + matchEvery - 1) / matchEvery;
            double all = read(client, topic, "all", messages, b -> b);
            double tags = read(client, topic, "tags", matching, b -> b.tags("TagA"));
            double sql = read(client, topic, "sql", matching, b -> b.sql("a = 0"));
            if (Double.isNaN(all) || Double.isNaN(tags) || Double.isNaN(sql)) {
                return Ferry.EXIT_FAILED;
            }
            System.out.printf(Locale.ROOT,
                    "RESULT workload=filter messages=%d matching=%d unfiltered_s=%.3f unfiltered_msgs_per_s=%.0f tag_s=%.3f "
                            + "tag_delivered_per_s=%.0f tag_scan_per_s=%.0f tag_speedup=%.2f sql_s=%.3f sql_delivered_per_s=%.0f "
                            + "sql_scan_per_s=%.0f sql_speedup=%.2f codec=%s%n",
                    messages, matching, all, messages / all, tags, matching / tags, messages / tags, all / tags,
                    sql, matching / sql, messages / sql, all / sql, codec);
            return 0;
        }
    }

    /** Reads the topic with a fresh group until {@code expected} messages arrived; seconds, or NaN on a wrong message or a stall. */
    private static double read(FerryClient client, String topic, String name, int expected,
                               UnaryOperator<ConsumerConfig.Builder> filter) {
        ConsumerConfig config = filter.apply(ConsumerConfig.builder(topic, "perf-filter-" + name + "-" + System.nanoTime())
                .startFrom(StartPosition.EARLIEST).autoCommit(false).maxWaitMs(200).maxFetchMessages(10_000)).build();
        long got = 0;
        long start = System.nanoTime();
        long lastRecord = start;
        try (Consumer consumer = client.consumer(config)) {
            while (got < expected) {
                var batch = consumer.poll(Duration.ofMillis(200));
                long now = System.nanoTime();
                if (batch.isEmpty() && now - lastRecord > TimeUnit.SECONDS.toNanos(10)) {
                    System.err.printf("%s: stalled after %d of %d messages%n", name, got, expected);
                    return Double.NaN;
                }
                for (Message m : batch) {
                    if (!name.equals("all") && !"TagA".equals(m.tags())) {
                        System.err.printf("%s: delivered a message that does not match: tags=%s a=%s%n", name, m.tags(),
                                m.properties().get("a"));
                        return Double.NaN;
                    }
                }
                if (!batch.isEmpty()) {
                    lastRecord = now;
                }
                got += batch.size();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%-4s read %,d messages in %.3f s (%.0f msgs/s)%n", name, got, seconds, got / seconds);
        return seconds;
    }
}
