package dev.ferry.cli;

import dev.ferry.client.FerryClient;
import dev.ferry.client.FerryException;
import dev.ferry.client.GroupInfo;
import dev.ferry.protocol.Status;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry group list|describe|reset|delete}: a group's committed offsets and lag; moving them; deleting the group. */
@Command(name = "group", mixinStandardHelpOptions = true, description = "List consumer groups; show and reset their offsets; delete them.",
        subcommands = {GroupCommand.ListGroups.class, GroupCommand.Describe.class, GroupCommand.Reset.class, GroupCommand.Delete.class})
final class GroupCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the consumer groups the broker knows.")
    static final class ListGroups implements Callable<Integer> {
        @Mixin ServerOptions server;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                client.listGroups().forEach(System.out::println);
                return 0;
            }
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true,
            description = "Table of topic, queue, committed offset, end offset, lag for a group.")
    static final class Describe implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "GROUP") String group;
        @Option(names = "--topic", description = "Only this topic (default: every topic the group committed on).") String topic;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                GroupInfo info = describeGroup(client);
                if (info == null) {
                    System.err.println("ferry: group " + group + " does not exist: no live member and no committed offset"
                            + " (list them with: ferry group list)");
                    return Ferry.EXIT_NOT_FOUND;
                }
                if (topic != null && client.describeTopic(topic).isEmpty()) {
                    System.err.println("ferry: topic " + topic + " does not exist (list them with: ferry topic list)");
                    return Ferry.EXIT_NOT_FOUND;
                }
                // the broker's queue lines: a clustering group's owned and committed queues, a broadcasting group's
                // positions per member (members not live included)
                System.out.printf("%-30s %6s %16s %16s %10s  %s%n", "TOPIC", "QUEUE", "COMMITTED", "END", "LAG", "MEMBER");
                int committedRows = 0;
                for (GroupInfo.Queue q : info.queues()) {
                    if (topic != null && !q.topic().equals(topic)) {
                        continue;
                    }
                    System.out.printf("%-30s %6d %16s %16d %10d  %s%n", q.topic(), q.queueId(),
                            q.committed() < 0 ? "-" : Long.toString(q.committed()), q.maxOffset(), q.lag(),
                            q.owner().isEmpty() ? "-" : q.owner());
                    committedRows += q.committed() < 0 ? 0 : 1;
                }
                printMembers(info);
                if (committedRows == 0) {
                    System.err.println("ferry: group " + group + " has no committed offsets" + (topic == null ? "" : " on " + topic));
                }
                return 0;
            }
        }

        /** DESCRIBE_GROUP; null if the broker knows no such group (no live member, no committed offset). */
        private GroupInfo describeGroup(FerryClient client) {
            try {
                return client.describeGroup(group);
            } catch (FerryException e) {
                if (e.status().orElse(null) == Status.NOT_FOUND) {
                    return null;
                }
                throw e;
            }
        }

        /** Live members and who reads (and locks) which queue. */
        private void printMembers(GroupInfo info) {
            System.out.println();
            if (info.members().isEmpty()) {
                System.out.println("no live members");
                return;
            }
            System.out.printf("%s, %s, generation %d%n", info.mode(), info.strategy(), info.generation());
            System.out.printf("%-24s %-8s %s%n", "MEMBER", "ORDERLY", "QUEUES");
            for (GroupInfo.Member m : info.members()) {
                StringBuilder qs = new StringBuilder();
                for (GroupInfo.Queue q : info.queues()) {
                    if (q.owner().equals(m.clientId()) && (topic == null || q.topic().equals(topic))) {
                        qs.append(qs.length() == 0 ? "" : " ").append(q.topic()).append('/').append(q.queueId())
                                .append(q.lockedBy().equals(m.clientId()) ? "(locked)" : "");
                    }
                }
                System.out.printf("%-24s %-8s %s%n", m.clientId(), m.orderly(), qs);
            }
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true, description = "Move a group's committed offsets on a topic.")
    static final class Reset implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "GROUP") String group;
        @Option(names = "--topic", required = true) String topic;
        @Option(names = "--to", required = true, description = "earliest, latest, an offset, or a date-time such as "
                + "2026-12-07T10:15:30Z or 2026-12-07T11:15:30+01:00 (the first message stored at or after it).") String to;

        @Override
        public Integer call() {
            String kind = to.toLowerCase(Locale.ROOT);
            boolean named = kind.equals("earliest") || kind.equals("latest");
            Long timestamp = !named && kind.indexOf('t') > 0 ? dateTime(to) : null; // an offset has no 'T'; a date-time does
            long offset = named || timestamp != null ? 0 : parse(to); // before asking the broker anything
            try (FerryClient client = server.connect()) {
                if (client.describeTopic(topic).isEmpty()) {
                    System.err.println("ferry: topic " + topic + " does not exist (list them with: ferry topic list)");
                    return Ferry.EXIT_NOT_FOUND;
                }
                // RESET_OFFSETS: live members of the group restart the queues from the new offsets
                Map<Integer, Long> done = switch (kind) {
                    case "earliest", "latest" -> client.resetOffsets(group, topic, kind, 0);
                    default -> timestamp != null ? client.resetOffsets(group, topic, "timestamp", timestamp)
                            : client.resetOffsets(group, topic, "offset", offset);
                };
                done.forEach((q, target) -> System.out.printf("%s %s queue %d -> %d%n", group, topic, q, target));
                return 0;
            }
        }

        private static long parse(String s) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new BadCommandLineException("--to: '" + s + "' (expected: " + EXPECTED_TO + ")");
            }
        }

        /**
         * A date-time with its zone or offset, as ms since the epoch; a local time would be read in whatever zone the shell has.
         * A year past ms since the epoch in a long (ISO takes +999999999) is as bad a value as a malformed one.
         */
        private static long dateTime(String s) {
            try {
                return java.time.OffsetDateTime.parse(s).toInstant().toEpochMilli();
            } catch (java.time.format.DateTimeParseException | ArithmeticException e) {
                throw new BadCommandLineException("--to: '" + s + "' (expected: " + EXPECTED_TO + ")");
            }
        }

        private static final String EXPECTED_TO = "earliest, latest, an offset, or a date-time with its offset such as 2026-12-07T10:15:30Z";
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a group with no live member: its committed offsets and its retry topic (its dead-letter topic stays).")
    static final class Delete implements Callable<Integer> {
        @Mixin ServerOptions server;
        @Parameters(paramLabel = "GROUP") String group;

        @Override
        public Integer call() {
            try (FerryClient client = server.connect()) {
                client.deleteGroup(group); // a missing group: NOT_FOUND, exit 3 (Ferry's handler); live members: exit 1
                System.out.println("deleted group " + group);
                return 0;
            }
        }
    }
}
