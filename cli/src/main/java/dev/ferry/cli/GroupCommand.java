package dev.ferry.cli;

import dev.ferry.client.FerryClient;
import dev.ferry.client.QueueOffsets;
import dev.ferry.client.TopicDescription;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry group describe|reset}: a group's committed offsets and lag; moving them. */
@Command(name = "group", mixinStandardHelpOptions = true, description = "Show and reset consumer groups' offsets.",
        subcommands = {GroupCommand.Describe.class, GroupCommand.Reset.class})
final class GroupCommand {

    @Command(name = "describe", mixinStandardHelpOptions = true,
            description = "Table of topic, queue, committed offset, end offset, lag for a group.")
    static final class Describe implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "GROUP") String group;
        @Option(names = "--topic", description = "Only this topic (default: every topic the group committed on).") String topic;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                List<String> topics = topic != null ? List.of(topic) : client.listTopics();
                System.out.printf("%-30s %6s %16s %16s %10s%n", "TOPIC", "QUEUE", "COMMITTED", "END", "LAG");
                int rows = 0;
                for (String t : topics) {
                    TopicDescription d = client.describeTopic(t).orElse(null);
                    if (d == null) {
                        continue;
                    }
                    for (int q = 0; q < d.queues(); q++) {
                        OptionalLong committed = client.committedOffset(group, t, q);
                        if (committed.isEmpty() && topic == null) {
                            continue;
                        }
                        QueueOffsets o = client.queueOffsets(t, q);
                        long c = committed.orElse(o.minOffset());
                        System.out.printf("%-30s %6d %16s %16d %10d%n", t, q, committed.isPresent() ? Long.toString(c) : "-",
                                o.maxOffset(), o.maxOffset() - c);
                        rows++;
                    }
                }
                if (rows == 0) {
                    System.err.println("ferry: group " + group + " has no committed offsets" + (topic == null ? "" : " on " + topic));
                }
                return 0;
            }
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true, description = "Move a group's committed offsets on a topic.")
    static final class Reset implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "GROUP") String group;
        @Option(names = "--topic", required = true) String topic;
        @Option(names = "--to", required = true, description = "earliest, latest, or an offset.") String to;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                TopicDescription d = client.describeTopic(topic)
                        .orElseThrow(() -> new IllegalArgumentException("--topic: " + topic + " does not exist"));
                for (int q = 0; q < d.queues(); q++) {
                    QueueOffsets o = client.queueOffsets(topic, q);
                    long target = switch (to.toLowerCase(Locale.ROOT)) {
                        case "earliest" -> o.minOffset();
                        case "latest" -> o.maxOffset();
                        default -> Math.max(o.minOffset(), Math.min(o.maxOffset(), parse(to)));
                    };
                    client.commitOffset(group, topic, q, target);
                    System.out.printf("%s %s queue %d -> %d%n", group, topic, q, target);
                }
                return 0;
            }
        }

        private static long parse(String s) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--to: '" + s + "' (expected: earliest, latest, or an offset)");
            }
        }
    }
}
