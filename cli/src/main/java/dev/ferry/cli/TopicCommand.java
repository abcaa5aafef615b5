package dev.ferry.cli;

import dev.ferry.client.FerryClient;
import dev.ferry.client.QueueOffsets;
import dev.ferry.client.TopicDescription;
import dev.ferry.log.LogConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry topic create|list|describe|delete}. */
@Command(name = "topic", mixinStandardHelpOptions = true, description = "Create, list, describe and delete topics.",
        subcommands = {TopicCommand.Create.class, TopicCommand.ListTopics.class, TopicCommand.Describe.class, TopicCommand.Delete.class})
final class TopicCommand {

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a topic.")
    static final class Create implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "NAME") String name;
        /** Null when not given: the broker then picks its {@code topics.default.queues}, and its reply says how many. */
        @Option(names = "--queues", description = "Number of queues (default: the broker's topics.default.queues).") Integer queues;

        @Override
        public Integer call() {
            // before connecting: a bad command line, named as the user typed it. The upper bound is the most any
            // broker takes (limits.topic.queues); one configured lower refuses more itself (exit 1, naming its limit)
            if (queues != null && (queues < 1 || queues > LogConfig.MAX_QUEUES_PER_TOPIC)) {
                throw new BadCommandLineException("--queues: " + queues + " (expected: 1.." + LogConfig.MAX_QUEUES_PER_TOPIC
                        + ", at most the broker's limits.topic.queues)");
            }
            try (FerryClient client = server.connect()) {
                TopicDescription t = queues == null ? client.createTopic(name) : client.createTopic(name, queues);
                System.out.printf("created topic %s with %d queues%n", t.name(), t.queues());
                return 0;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List topics.")
    static final class ListTopics implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Option(names = "--prefix", description = "Only topics starting with this.", defaultValue = "") String prefix;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                client.listTopics(prefix).forEach(System.out::println);
                return 0;
            }
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true, description = "Show a topic's queues and their offsets.")
    static final class Describe implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                TopicDescription t = client.describeTopic(name).orElse(null);
                if (t == null) {
                    System.err.println("ferry: topic " + name + " does not exist (list them with: ferry topic list)");
                    return Ferry.EXIT_NOT_FOUND;
                }
                System.out.printf("topic %s, %d queues%n", t.name(), t.queues());
                System.out.printf("%-6s %14s %14s %14s%n", "queue", "min offset", "max offset", "messages");
                for (int q = 0; q < t.queues(); q++) {
                    QueueOffsets o = client.queueOffsets(name, q);
                    System.out.printf("%-6d %14d %14d %14d%n", q, o.minOffset(), o.maxOffset(), o.maxOffset() - o.minOffset());
                }
                return 0;
            }
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a topic.")
    static final class Delete implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                client.deleteTopic(name);
                System.out.println("deleted topic " + name);
                return 0;
            }
        }
    }
}
