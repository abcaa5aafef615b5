package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.ProducerConfig;
import dev.ferry.client.SendResult;
import dev.ferry.protocol.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf produce}: the producer benchmark, after Kafka's ProducerPerformance. Sends
 * {@code --num-records} records of {@code --record-size} bytes as fast as the producer takes them
 * (or at {@code --throughput} records/s), round-robin over the topic's queues, and measures each
 * record's latency from the send call to its acknowledgement: with an unlimited rate that is
 * mostly time queued in the producer's buffer, as with Kafka's tool.
 */
@Command(name = "produce", mixinStandardHelpOptions = true, description = "Producer benchmark (like kafka-producer-perf-test).")
final class PerfProduceCommand implements Callable<Integer> {
    @Option(names = "--server", required = true, description = "Broker host:port.")
    String server;

    @Option(names = "--topic", required = true, description = "Topic; created with --queues queues if absent.")
    String topic;

    @Option(names = "--queues", defaultValue = "8", description = "Queues of the topic if it is created (default ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--record-size", defaultValue = "100", description = "Payload bytes per record (default ${DEFAULT-VALUE}).")
    int recordSize;

    @Option(names = "--num-records", required = true, description = "Records to send.")
    long numRecords;

    @Option(names = "--throughput", defaultValue = "-1", description = "Records/s to aim at; -1 = as fast as possible (default).")
    long throughput;

    @Option(names = "--codec", defaultValue = "binary", description = "binary, json, hessian or protobuf (default ${DEFAULT-VALUE}).")
    String codec;

    @Option(names = "--batch-size", defaultValue = "65536", description = "Producer batch bytes, like batch.size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--linger-ms", defaultValue = "5", description = "Producer linger, like linger.ms (default ${DEFAULT-VALUE}).")
    long lingerMs;

    @Option(names = "--max-in-flight", defaultValue = "16", description = "Requests in flight (default ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(names = "--buffer-bytes", defaultValue = "8388608", description = "Producer buffer, like buffer.memory (default ${DEFAULT-VALUE}).")
    long bufferBytes;

    @Option(names = "--threads", defaultValue = "1", description = "Sending threads sharing one producer (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--keys", defaultValue = "0", description = "Keys per record, each unique (k<thread>-<record>-<n>, as order ids are), "
            + "which the broker indexes for lookup by key (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--io-threads", defaultValue = "1", description = "Client event-loop threads (default ${DEFAULT-VALUE}).")
    int ioThreads;

    @Override
    public Integer call() throws Exception {
        if (numRecords <= 0 || recordSize < 0 || threads < 1 || keys < 0) {
            throw new BadCommandLineException("--num-records must be > 0, --record-size >= 0, --threads >= 1, --keys >= 0");
        }
        ClientConfig cc = ClientConfig.builder().server(server).codec(codec).ioThreads(ioThreads).build();
        ProducerConfig pc = ProducerConfig.builder().batchSizeBytes(batchSize).lingerMs(lingerMs).maxInFlight(maxInFlight)
                .bufferBytes(bufferBytes).build();
        byte[] payload = PerfResults.payload(recordSize, 42);
        ConcurrentHistogram micros = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        try (FerryClient client = FerryClient.connect(cc)) {
            client.ensureTopic(topic, queues);
            try (Producer producer = client.producer(pc)) {
                Progress progress = new Progress(numRecords, acked);
                long start = System.nanoTime();
                List<Thread> senders = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long count = numRecords / threads + (t < numRecords % threads ? 1 : 0);
                    int thread = t;
                    Thread th = new Thread(() -> send(producer, payload, thread, count, micros, acked, failed), "perf-sender-" + t);
                    th.start();
                    senders.add(th);
                }
                while (acked.get() + failed.get() < numRecords) {
                    progress.print();
                    Thread.sleep(50);
                }
                long end = System.nanoTime();
                for (Thread th : senders) {
                    th.join();
                }
                double seconds = (end - start) / 1e9;
                // the records acknowledged, as the RESULT line counts them (it said every record sent when all had failed)
                long ok = acked.get();
                System.out.printf(Locale.ROOT, "%d records sent (%d failed), %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, "
                        + "%.2f ms max latency.%n", ok, failed.get(), ok / seconds, ok * (double) recordSize / 1048576 / seconds,
                        micros.getMean() / 1000, micros.getMaxValue() / 1000.0);
                System.out.println(PerfResults.line("produce", acked.get(), acked.get() * recordSize, seconds, micros,
                        "errors=" + failed.get() + " codec=" + codec + " record_size=" + recordSize + " batch_size=" + batchSize
                                + " linger_ms=" + lingerMs + " threads=" + threads + " keys=" + keys));
            }
        }
        return failed.get() == 0 ? 0 : Ferry.EXIT_FAILED;
    }

    private void send(Producer producer, byte[] payload, int thread, long count, ConcurrentHistogram micros, AtomicLong acked,
                      AtomicLong failed) {
        long perThread = throughput > 0 ? Math.max(1, throughput / threads) : -1;
        long start = System.nanoTime();
        for (long i = 0; i < count; i++) {
            if (perThread > 0) {
                long due = start + i * 1_000_000_000L / perThread;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
            long sent = System.nanoTime();
            CompletableFuture<SendResult> result = keys == 0 ? producer.sendAsync(topic, payload)
                    : producer.sendAsync(Message.builder(topic).keys(PerfResults.keys(thread + "-" + i, keys)).body(payload).build());
            result.whenComplete((r, t) -> {
                if (t == null) {
                    micros.recordValue(Math.max(0, (System.nanoTime() - sent) / 1000));
                    acked.incrementAndGet();
                } else {
                    if (failed.incrementAndGet() <= 5) {
                        System.err.println("send failed: " + t);
                    }
                }
            });
        }
    }
}
