package dev.ferry.cli;

import dev.ferry.client.FerryClient;
import dev.ferry.client.GroupConsumer;
import dev.ferry.client.GroupConsumerConfig;
import dev.ferry.client.StartPosition;
import dev.ferry.protocol.Message;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ferry consume}: prints one message body per line as a member of its consumer group
 * ({@link GroupConsumer}, clustering), as {@code kafka-console-consumer --group} does: the broker
 * shares the topic's queues among the group's live members, so two {@code consume} of one group
 * split the messages, and a rebalance (a member joining or leaving) moves queues between them.
 * Each printed message is acked once written, and only then: the group's committed offset of a
 * queue is the lowest message handed out and not acked, so nothing printed is read again by the
 * group and nothing left unprinted (past {@code --max}, or a batch of a queue taken away) is
 * skipped. A {@code group reset} while it runs reaches it as any member: the broker fences the
 * reads begun before it and the member reads those queues again from the new offsets.
 *
 * <p>Stops after {@code --max} messages, when {@code --timeout-ms} passes with nothing new
 * ({@code --timeout-ms 0}: as soon as a FETCH of each of its queues brought nothing), or on Ctrl-C, and then leaves the group, so the other members take its queues at their next heartbeat
 * rather than after its session timeout.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = "Print messages of a topic, one body per line.")
final class ConsumeCommand implements Callable<Integer> {
    @Mixin ServerOptions server;
    @Option(names = "--topic", required = true) String topic;
    @Option(names = "--group", required = true,
            description = "Consumer group: joined as a member; its committed offsets are where it resumes.") String group;
    @Option(names = "--from", description = "earliest or latest, for queues the group never committed (default ${DEFAULT-VALUE}).",
            defaultValue = "earliest") String from;
    /** Null when not given: no limit. */
    @Option(names = "--max", description = "Stop after this many messages (default: no limit).") Long maxGiven;
    @Option(names = "--timeout-ms", description = "Stop when nothing new arrives for this long; 0: read what is there, then stop "
            + "(default ${DEFAULT-VALUE}).",
            defaultValue = "5000") long timeoutMs;
    @Option(names = "--tags", description = "Tag filter, e.g. 'A || B'.") String tags;
    @Option(names = "--sql", description = "SQL92 filter over properties.") String sql;

    static final long HEARTBEAT_MS = 1_000;

    /** Set by the shutdown hook (Ctrl-C, SIGTERM): stop after the message in hand, ack what was printed, leave. */
    private volatile boolean stopRequested;

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
        // the process id tells the members apart in `group describe`; the random part the ones of one JVM (tests)
        String clientId = "consume-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
        // Heartbeats every second, not the client's default 3 s: a queue moves to a joining member only after its old
        // owner heard of the rebalance at a heartbeat and then the new one at its own, and with 3 s a second consume
        // could spend its whole default --timeout-ms (5 s) waiting for its queues.
        GroupConsumerConfig.Builder cb = GroupConsumerConfig.builder(topic, group).clientId(clientId).startFrom(start)
                .heartbeatIntervalMs(HEARTBEAT_MS);
        if (sql != null) {
            cb.sql(sql);
        }
        if (tags != null) {
            cb.tags(tags);
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        long printed = 0;
        CountDownLatch left = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stopRequested = true;
            try {
                left.await(15, TimeUnit.SECONDS); // the JVM exits when the hook returns: wait for the acks and the leave
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "ferry-consume-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            try (FerryClient client = server.connect(); GroupConsumer member = join(client, cb.build())) {
                long idleSince = System.nanoTime();
                List<String> queues = member.assignment();
                while ((max < 0 || printed < max) && !stopRequested) {
                    // --timeout-ms 0 is "read what is there, then stop": the first poll (1 ms) came back before any FETCH was
                    // answered, and consume stopped having printed nothing. Read before the poll (see GroupConsumer.caughtUp).
                    boolean caughtUp = timeoutMs == 0 && member.caughtUp();
                    List<Message> batch = member.poll(Duration.ofMillis(Math.min(500, timeoutMs == 0 ? 10 : timeoutMs)));
                    List<Message> written = new ArrayList<>();
                    for (Message m : batch) {
                        if ((max >= 0 && printed >= max) || stopRequested) {
                            break; // not acked: the group reads them again (its committed offset stays below them)
                        }
                        if (!member.owns(m)) {
                            continue; // a rebalance or a reset since the poll: the queue's reader reads it from the committed offset
                        }
                        ByteBufferText.write(m, out);
                        written.add(m);
                        printed++;
                    }
                    out.flush();
                    if (out.checkError()) { // stdout closed (a pipe's reader gone): what was "printed" reached no one
                        System.err.println("ferry consume: cannot write to standard output; stopping without acking the last batch");
                        return Ferry.EXIT_FAILED;
                    }
                    written.forEach(member::ack); // sent before close's LEAVE_GROUP on the same connection, so counted first
                    List<String> now = member.assignment();
                    if (!written.isEmpty() || !now.equals(queues)) { // queues just given have not been read yet
                        queues = now;
                        idleSince = System.nanoTime();
                    } else if (timeoutMs == 0 ? caughtUp : System.nanoTime() - idleSince >= timeoutNs) {
                        break;
                    }
                }
            } // close: leaves the group, so that the other members take its queues at their next heartbeat
            out.flush();
            System.err.printf("consumed %d%n", printed);
            return 0;
        } finally {
            left.countDown(); // after the summary line: on Ctrl-C the JVM exits as soon as the hook returns
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running (Ctrl-C): it returns now
            }
        }
    }

    /**
     * Joins the group, for a topic the broker has: a join subscribes to a missing topic without
     * complaint (it has no queues yet), so a typo waited out {@code --timeout-ms}, exited 0 having
     * printed nothing, and made the group's retry topic. Exit 3 instead, as before consume was a member.
     */
    private GroupConsumer join(FerryClient client, GroupConsumerConfig config) {
        if (client.describeTopic(topic).isEmpty()) {
            throw new NotFoundException("topic " + topic + " does not exist (list them with: ferry topic list)", null);
        }
        return client.groupConsumer(config);
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
