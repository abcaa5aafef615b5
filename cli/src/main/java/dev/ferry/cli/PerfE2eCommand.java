package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.ProducerConfig;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf e2e}: end-to-end latency, after Kafka's EndToEndLatency. One record at a
 * time: send it and wait for the acknowledgement, then wait until a consumer on a separate
 * connection (long-polling every queue from the end) receives it; the latency is from the send
 * call to the receipt. The record's first 8 bytes are its sequence number, checked on receipt.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true, description = "End-to-end latency benchmark (like kafka EndToEndLatency).")
final class PerfE2eCommand implements Callable<Integer> {
    @Option(names = "--server", required = true, description = "Broker host:port.")
    String server;

    @Option(names = "--topic", required = true, description = "Topic; created with --queues queues if absent.")
    String topic;

    @Option(names = "--queues", defaultValue = "1", description = "Queues of the topic if it is created (default ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--record-size", defaultValue = "100", description = "Payload bytes per record, at least 8 (default ${DEFAULT-VALUE}).")
    int recordSize;

    @Option(names = "--num-records", required = true, description = "Round trips to measure.")
    long numRecords;

    @Option(names = "--codec", defaultValue = "binary", description = "binary, json, hessian or protobuf (default ${DEFAULT-VALUE}).")
    String codec;

    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Most to wait for one record (default ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Override
    public Integer call() {
        if (numRecords <= 0 || recordSize < 8) {
            throw new BadCommandLineException("--num-records must be > 0 and --record-size >= 8");
        }
        ClientConfig cc = ClientConfig.builder().server(server).codec(codec).ioThreads(2).build();
        Histogram micros = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        byte[] payload = PerfResults.payload(recordSize, 7);
        try (FerryClient client = FerryClient.connect(cc)) {
            client.ensureTopic(topic, queues);
            ConsumerConfig config = ConsumerConfig.builder(topic, "e2e-" + UUID.randomUUID()).startFrom(StartPosition.LATEST)
                    .autoCommit(false).maxWaitMs(1_000).build();
            try (Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).build());
                 Consumer consumer = client.consumer(config)) {
                Progress progress = new Progress(numRecords, new java.util.concurrent.atomic.AtomicLong());
                long start = System.nanoTime();
                for (long i = 0; i < numRecords; i++) {
                    ByteBuffer.wrap(payload).putLong(0, i);
                    long sent = System.nanoTime();
                    producer.send(topic, payload.clone());
                    if (!receive(consumer, i, sent + TimeUnit.MILLISECONDS.toNanos(timeoutMs))) {
                        System.err.printf("record %d not received within %d ms; giving up%n", i, timeoutMs);
                        return Ferry.EXIT_FAILED;
                    }
                    micros.recordValue(Math.max(0, (System.nanoTime() - sent) / 1000));
                    progress.print();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf(Locale.ROOT, "%d round trips, avg latency %.3f ms, p99 %.3f ms%n", numRecords, micros.getMean() / 1000,
                        micros.getValueAtPercentile(99) / 1000.0);
                System.out.println(PerfResults.line("e2e", numRecords, numRecords * recordSize, seconds, micros, "codec=" + codec));
            }
        }
        return 0;
    }

    private static boolean receive(Consumer consumer, long sequence, long deadline) {
        while (System.nanoTime() < deadline) {
            for (Message m : consumer.poll(Duration.ofMillis(100))) {
                if (m.bodyLength() >= 8 && m.body().getLong(0) == sequence) {
                    return true;
                }
            }
        }
        return false;
    }
}
