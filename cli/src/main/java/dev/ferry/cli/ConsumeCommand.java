package dev.ferry.cli;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.FerryClient;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry consume}: prints one message body per line, and commits exactly what it printed
 * for its group. Stops after {@code --max} messages or when {@code --timeout-ms} passes with
 * nothing new. It is not a member of the group (it reads every queue); when someone else moves the
 * group's committed offsets while it runs ({@code group reset}, {@code group delete}, another
 * {@code consume} of the group), it stops with exit code 1 rather than commit over them.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = "Print messages of a topic, one body per line.")
final class ConsumeCommand implements Callable<Integer> {
    @Mixin ServerOptions server;
    @Option(names = "--topic", required = true) String topic;
    @Option(names = "--group", required = true, description = "Consumer group (its committed offsets are where it resumes).") String group;
    @Option(names = "--from", description = "earliest or latest, for queues the group never committed (default ${DEFAULT-VALUE}).",
            defaultValue = "earliest") String from;
    /** Null when not given: no limit. */
    @Option(names = "--max", description = "Stop after this many messages (default: no limit).") Long maxGiven;
    @Option(names = "--timeout-ms", description = "Stop when nothing new arrives for this long (default ${DEFAULT-VALUE}).",
            defaultValue = "5000") long timeoutMs;
    @Option(names = "--tags", description = "Tag filter, e.g. 'A || B'.") String tags;
    @Option(names = "--sql", description = "SQL92 filter over properties.") String sql;

    @Override
    public Integer call() {
        if (maxGiven != null && maxGiven < 0) { // before, any negative count meant "no limit"
            throw new BadCommandLineException("--max: " + maxGiven + " (expected: a count >= 0; without --max there is no limit)");
        }
        long max = maxGiven == null ? -1 : maxGiven;
        if (timeoutMs < 0) {
            throw new BadCommandLineException("--timeout-ms: " + timeoutMs + " (expected: >= 0)");
        }
        // saturated: a huge --timeout-ms ("wait for ever") overflowed to a negative time and stopped at the first empty poll
        long timeoutNs = timeoutMs >= Long.MAX_VALUE / 1_000_000L ? Long.MAX_VALUE : timeoutMs * 1_000_000L;
        StartPosition start = switch (from.toLowerCase(Locale.ROOT)) {
            case "earliest" -> StartPosition.COMMITTED_ELSE_EARLIEST;
            case "latest" -> StartPosition.COMMITTED_ELSE_LATEST;
            default -> throw new BadCommandLineException("--from: " + from + " (expected: earliest or latest)");
        };
        ConsumerConfig.Builder cb = ConsumerConfig.builder(topic, group).startFrom(start).autoCommit(false);
        if (sql != null) {
            cb.sql(sql);
        }
        if (tags != null) {
            cb.tags(tags);
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        long printed = 0;
        try (FerryClient client = server.connect()) {
            // The group's committed offsets as this command last saw or stored them (-1: none). It is not a member of
            // the group (describe lists no live member for it), so a `group reset` or `group delete` while it runs does
            // not reach it: it read on from where it was and committed over the reset. Before printing a batch it
            // checks that nobody else moved them, and stops if someone did.
            Map<Integer, Long> committed = new HashMap<>();
            client.describeTopic(topic).ifPresent(t -> {
                for (int q = 0; q < t.queues(); q++) {
                    committed.put(q, client.committedOffset(group, topic, q).orElse(-1));
                }
            });
            try (Consumer consumer = client.consumer(cb.build())) {
                long idleSince = System.nanoTime();
                Map<Integer, Long> toCommit = new HashMap<>();
                while (max < 0 || printed < max) {
                    List<Message> batch = consumer.poll(Duration.ofMillis(Math.min(500, Math.max(timeoutMs, 1))));
                    if (batch.isEmpty()) {
                        if (System.nanoTime() - idleSince >= timeoutNs) {
                            break;
                        }
                        continue;
                    }
                    idleSince = System.nanoTime();
                    for (int q : batch.stream().map(Message::queueId).distinct().toList()) {
                        long now = client.committedOffset(group, topic, q).orElse(-1);
                        if (now != committed.getOrDefault(q, -1L)) {
                            System.err.printf("ferry consume: group %s's committed offset of %s queue %d was moved to %s by someone"
                                    + " else (group reset or delete, or another consume of the group); stopping, consumed %d%n",
                                    group, topic, q, now < 0 ? "none" : Long.toString(now), printed);
                            return Ferry.EXIT_FAILED;
                        }
                    }
                    for (Message m : batch) {
                        if (max >= 0 && printed >= max) {
                            break;
                        }
                        ByteBufferText.write(m, out);
                        printed++;
                        toCommit.put(m.queueId(), m.queueOffset() + 1);
                    }
                    out.flush();
                    if (out.checkError()) { // stdout closed (a pipe's reader gone): what was "printed" reached no one
                        System.err.println("ferry consume: cannot write to standard output; stopping without committing the last batch");
                        return 1;
                    }
                    toCommit.forEach((q, o) -> {
                        client.commitOffset(group, topic, q, o);
                        committed.put(q, o);
                    });
                    toCommit.clear();
                }
            }
        }
        out.flush();
        System.err.printf("consumed %d%n", printed);
        return 0;
    }

    /** Writes a message body as one line. */
    static final class ByteBufferText {
        private ByteBufferText() {}

        static void write(Message m, PrintStream out) {
            java.nio.ByteBuffer b = m.body();
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            out.write(bytes, 0, bytes.length);
            out.write('\n');
        }
    }
}
