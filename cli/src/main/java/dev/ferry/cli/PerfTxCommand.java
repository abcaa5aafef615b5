package dev.ferry.cli;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.ProducerConfig;
import dev.ferry.client.TransactionProducer;
import dev.ferry.client.TransactionState;
import dev.ferry.protocol.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry perf tx}: transactional sends beside plain sends, in one run and with the same
 * concurrency. Each of {@code --threads} threads sends {@code --num-records / threads} records one
 * after the other and waits for each: first as plain SENDs ({@code Producer.send}, linger 0 so a
 * lone send is not held back), then as
 * transactions ({@code TransactionProducer.sendInTransaction} with an empty local transaction that
 * commits: SEND_HALF, then END_TRANSACTION). Prints both rates and their ratio; a transaction costs
 * two round trips and three stored records (half, message, decision) where a send costs one and one.
 */
@Command(name = "tx", mixinStandardHelpOptions = true, description = "Transactional send throughput vs plain send, same run.")
final class PerfTxCommand implements Callable<Integer> {
    @Option(names = "--server", required = true, description = "Broker host:port.")
    String server;

    @Option(names = "--topic", required = true, description = "Topic; created with --queues queues if absent.")
    String topic;

    @Option(names = "--queues", defaultValue = "8", description = "Queues of the topic if it is created (default ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "--record-size", defaultValue = "100", description = "Payload bytes per record (default ${DEFAULT-VALUE}).")
    int recordSize;

    @Option(names = "--num-records", defaultValue = "50000", description = "Records per mode (default ${DEFAULT-VALUE}).")
    long numRecords;

    @Option(names = "--threads", defaultValue = "16", description = "Sending threads, each waiting for its send (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--codec", defaultValue = "binary", description = "binary, json, hessian or protobuf (default ${DEFAULT-VALUE}).")
    String codec;

    @Option(names = "--producer-group", defaultValue = "perf-tx", description = "Producer group of the transactions (default ${DEFAULT-VALUE}).")
    String group;

    /** One timed mode: sends one record and returns when it is acknowledged (committed). */
    private interface OneSend {
        void send(byte[] payload) throws Exception;
    }

    @Override
    public Integer call() throws Exception {
        if (numRecords <= 0 || recordSize < 0 || threads < 1) {
            throw new BadCommandLineException("--num-records must be > 0, --record-size >= 0, --threads >= 1");
        }
        byte[] payload = PerfResults.payload(recordSize, 42);
        ClientConfig cc = ClientConfig.builder().server(server).codec(codec).build();
        try (FerryClient client = FerryClient.connect(cc); Producer plain = client.producer(ProducerConfig.builder().lingerMs(0).build());
             TransactionProducer tx = client.transactionProducer(group, (m, id) -> TransactionState.COMMIT)) {
            client.ensureTopic(topic, queues);
            Message template = Message.builder(topic).body(payload).build();
            run("warm-up", Math.min(numRecords / 10 + 1, 5_000), payload, p -> plain.send(topic, p));
            run("warm-up", Math.min(numRecords / 10 + 1, 5_000), payload, p -> tx.sendInTransaction(template, (m, id) -> TransactionState.COMMIT));
            double plainRate = run("plain-send", numRecords, payload, p -> plain.send(topic, p));
            double txRate = run("tx-send", numRecords, payload, p -> {
                if (tx.sendInTransaction(template, (m, id) -> TransactionState.COMMIT).committed().isEmpty()) {
                    throw new IllegalStateException("transaction not committed");
                }
            });
            System.out.printf(Locale.ROOT, "tx/plain throughput ratio: %.2f (codec=%s threads=%d record_size=%d)%n", txRate / plainRate,
                    codec, threads, recordSize);
        }
        return 0;
    }

    /** Sends {@code count} records with {@code threads} threads; prints and returns records/s. */
    private double run(String name, long count, byte[] payload, OneSend send) throws InterruptedException {
        ConcurrentHistogram micros = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        AtomicLong failed = new AtomicLong();
        List<Thread> senders = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            long n = count / threads + (t < count % threads ? 1 : 0);
            Thread th = new Thread(() -> {
                for (long i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    try {
                        send.send(payload);
                        micros.recordValue(Math.max(0, (System.nanoTime() - t0) / 1000));
                    } catch (Exception e) {
                        if (failed.incrementAndGet() <= 5) {
                            System.err.println(name + " failed: " + e);
                        }
                    }
                }
            }, "perf-" + name + "-" + t);
            th.start();
            senders.add(th);
        }
        for (Thread th : senders) {
            th.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long ok = count - failed.get();
        if (!name.equals("warm-up")) {
            System.out.println(PerfResults.line(name, ok, ok * payload.length, seconds, micros, "errors=" + failed.get() + " codec=" + codec
                    + " threads=" + threads + " record_size=" + recordSize));
        }
        return ok / seconds;
    }
}
