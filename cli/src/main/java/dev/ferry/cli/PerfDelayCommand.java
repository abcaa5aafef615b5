package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf delay}: how late delayed messages arrive. Sends {@code --messages} messages
 * at once, each with a {@code deliverAt} drawn uniformly from {@code [now + lead, now + lead +
 * spread]}, so they are all pending together and fall due spread over the window; a consumer
 * long-polls the topic and records, per message, {@code receipt time − deliverAt} (its
 * lateness). Prints p50/p99/max lateness and how many arrived early (which must be none). The
 * due time travels in the message's property {@code perf.due}, so the measure does not depend
 * on what the broker echoes back. Producer, broker and consumer share one clock when run on one
 * machine; across machines the clocks' skew adds to the figures.
 */
@Command(name = "delay", mixinStandardHelpOptions = true, description = "Delayed-delivery lateness benchmark.")
final class PerfDelayCommand implements Callable<Integer> {
    @Option(names = "--server", required = true, description = "Broker host:port.")
    String server;

    @Option(names = "--topic", description = "Topic (default: a fresh perf-delay-<time>).")
    String topic;

    @Option(names = "--queues", defaultValue = "4", description = "Queues of the topic (default ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--messages", defaultValue = "100000", description = "Delayed messages (default ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--spread-s", defaultValue = "60", description = "Seconds over which they fall due (default ${DEFAULT-VALUE}).")
    int spreadS;

    @Option(names = "--lead-s", defaultValue = "5", description = "Seconds before the first may fall due (default ${DEFAULT-VALUE}).")
    int leadS;

    @Option(names = "--record-size", defaultValue = "100", description = "Payload bytes (default ${DEFAULT-VALUE}).")
    int recordSize;

    @Option(names = "--codec", defaultValue = "binary", description = "binary, json, hessian or protobuf (default ${DEFAULT-VALUE}).")
    String codec;

    @Override
    public Integer call() throws Exception {
        if (messages <= 0 || spreadS <= 0 || leadS < 0) {
            throw new BadCommandLineException("--messages and --spread-s must be > 0, --lead-s >= 0");
        }
        String t = topic != null ? topic : "perf-delay-" + System.currentTimeMillis();
        ClientConfig cc = ClientConfig.builder().server(server).codec(codec).ioThreads(2).build();
        Histogram lateMicros = new Histogram(TimeUnit.HOURS.toMicros(1), 3);
        long early = 0;
        long worstEarlyMs = 0;
        byte[] payload = PerfResults.payload(recordSize, 11);
        try (FerryClient client = FerryClient.connect(cc)) {
            client.ensureTopic(t, queues);
            ConsumerConfig config = ConsumerConfig.builder(t, "perf-delay-" + System.nanoTime())
                    .startFrom(StartPosition.EARLIEST).autoCommit(false).maxWaitMs(500).build();
            try (Producer producer = client.producer(); Consumer consumer = client.consumer(config)) {
                long base = System.currentTimeMillis() + TimeUnit.SECONDS.toMillis(leadS);
                long spreadMs = TimeUnit.SECONDS.toMillis(spreadS);
                SplittableRandom random = new SplittableRandom(5);
                long sendStart = System.nanoTime();
                List<CompletableFuture<?>> acks = new ArrayList<>(messages);
                for (int i = 0; i < messages; i++) {
                    long due = base + random.nextLong(spreadMs);
                    acks.add(producer.sendAsync(Message.builder(t).deliverAt(due).properties(java.util.Map.of("perf.due", Long.toString(due)))
                            .body(payload).build()));
                }
                CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
                double sendS = (System.nanoTime() - sendStart) / 1e9;
                System.out.printf(Locale.ROOT, "sent %,d delayed messages in %.2f s (%.0f msgs/s), due over %d s from %d s from now%n",
                        messages, sendS, messages / sendS, spreadS, leadS);
                AtomicLong received = new AtomicLong();
                Progress progress = new Progress(messages, received);
                long deadline = base + spreadMs + TimeUnit.SECONDS.toMillis(30);
                while (received.get() < messages && System.currentTimeMillis() < deadline) {
                    for (Message m : consumer.poll(Duration.ofMillis(200))) {
                        long now = System.currentTimeMillis();
                        long due = Long.parseLong(m.properties().getOrDefault("perf.due", "0"));
                        long late = now - due;
                        if (late < 0) {
                            early++;
                            worstEarlyMs = Math.max(worstEarlyMs, -late);
                        } else {
                            lateMicros.recordValue(late * 1000);
                        }
                        received.incrementAndGet();
                    }
                    progress.print();
                }
                System.out.printf(Locale.ROOT, "received %,d of %,d; lateness p50 %d ms, p99 %d ms, p99.9 %d ms, max %d ms; early %d (worst %d ms)%n",
                        received.get(), messages, lateMicros.getValueAtPercentile(50) / 1000, lateMicros.getValueAtPercentile(99) / 1000,
                        lateMicros.getValueAtPercentile(99.9) / 1000, lateMicros.getMaxValue() / 1000, early, worstEarlyMs);
                System.out.printf(Locale.ROOT, "RESULT workload=delay messages=%d received=%d spread_s=%d late_p50_ms=%d late_p99_ms=%d "
                                + "late_p999_ms=%d late_max_ms=%d early=%d send_msgs_per_s=%.0f codec=%s%n",
                        messages, received.get(), spreadS, lateMicros.getValueAtPercentile(50) / 1000,
                        lateMicros.getValueAtPercentile(99) / 1000, lateMicros.getValueAtPercentile(99.9) / 1000,
                        lateMicros.getMaxValue() / 1000, early, messages / sendS, codec);
                return received.get() == messages && early == 0 ? 0 : Ferry.EXIT_FAILED;
            }
        }
    }
}
