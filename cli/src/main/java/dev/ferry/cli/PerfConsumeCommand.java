package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf consume}: the consumer benchmark, after Kafka's ConsumerPerformance. Reads
 * every queue of the topic as a group, from the group's committed offsets (the earliest for a
 * new group), until {@code --num-records} records arrived; the time runs from the consumer's
 * start (connection, offsets, first fetches included). The latency percentiles are of the
 * {@code poll()} calls that returned records: how long the application waited for data.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = "Consumer benchmark (like kafka-consumer-perf-test).")
final class PerfConsumeCommand implements Callable<Integer> {
    @Option(names = "--server", required = true, description = "Broker host:port.")
    String server;

    @Option(names = "--topic", required = true, description = "Topic to read (must exist).")
    String topic;

    @Option(names = "--group", required = true, description = "Consumer group.")
    String group;

    @Option(names = "--num-records", required = true, description = "Records to read.")
    long numRecords;

    @Option(names = "--codec", defaultValue = "binary", description = "binary, json, hessian or protobuf (default ${DEFAULT-VALUE}).")
    String codec;

    @Option(names = "--fetch-bytes", defaultValue = "1048576", description = "Most bytes per FETCH (default ${DEFAULT-VALUE}).")
    int fetchBytes;

    @Option(names = "--max-wait-ms", defaultValue = "500", description = "Long-poll wait per FETCH (default ${DEFAULT-VALUE}).")
    long maxWaitMs;

    @Option(names = "--timeout-ms", defaultValue = "30000", description = "Give up after this long without a record (default ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--io-threads", defaultValue = "1", description = "Client event-loop threads (default ${DEFAULT-VALUE}).")
    int ioThreads;

    @Override
    public Integer call() {
        if (numRecords <= 0) {
            throw new BadCommandLineException("--num-records: " + numRecords + " (expected: > 0)");
        }
        ClientConfig cc = ClientConfig.builder().server(server).codec(codec).ioThreads(ioThreads).build();
        Histogram micros = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        AtomicLong records = new AtomicLong();
        long bytes = 0;
        try (FerryClient client = FerryClient.connect(cc)) {
            long start = System.nanoTime();
            ConsumerConfig config = ConsumerConfig.builder(topic, group).startFrom(StartPosition.COMMITTED_ELSE_EARLIEST)
                    .maxFetchBytes(fetchBytes).maxWaitMs(maxWaitMs).maxFetchMessages(10_000).build();
            try (Consumer consumer = client.consumer(config)) {
                Progress progress = new Progress(numRecords, records);
                long lastRecord = System.nanoTime();
                while (records.get() < numRecords) {
                    long before = System.nanoTime();
                    List<Message> got = consumer.poll(Duration.ofMillis(200));
                    long after = System.nanoTime();
                    if (got.isEmpty()) {
                        if (after - lastRecord > TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
                            System.err.printf("no record for %d ms after %d of %d records; giving up%n", timeoutMs, records.get(), numRecords);
                            break;
                        }
                        continue;
                    }
                    lastRecord = after;
                    micros.recordValue(Math.max(0, (after - before) / 1000));
                    for (Message m : got) {
                        bytes += m.bodyLength();
                    }
                    records.addAndGet(got.size());
                    progress.print();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf(Locale.ROOT, "%d records consumed, %.1f records/sec (%.2f MB/sec)%n", records.get(),
                        records.get() / seconds, bytes / 1048576.0 / seconds);
                System.out.println(PerfResults.line("consume", records.get(), bytes, seconds, micros,
                        "latency=poll codec=" + codec));
            }
        }
        return records.get() >= numRecords ? 0 : Ferry.EXIT_FAILED;
    }
}
