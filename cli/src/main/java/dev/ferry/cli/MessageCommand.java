package dev.ferry.cli;

import dev.ferry.client.FerryClient;
import dev.ferry.protocol.Message;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ferry message get --id ID | --topic T --key K}: looks messages up. */
@Command(name = "message", mixinStandardHelpOptions = true, description = "Look messages up.",
        subcommands = {MessageCommand.Get.class})
final class MessageCommand {

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Print a message by id, or the messages with a key.")
    static final class Get implements Callable<Integer> {
        @Mixin ServerOptions server;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        static final class Which {
            @Option(names = "--id", description = "Message id (16 hex digits, as send printed it).") String id;
            @Option(names = "--key", description = "Message key (needs --topic).") String key;
        }

        @Option(names = "--topic", description = "Topic, for --key.") String topic;
        @Option(names = "--max", defaultValue = "32", description = "Most messages to print for --key.") int max;

        @Override
        public Integer call() {
            if (which.id != null) {
                try {
                    dev.ferry.log.MessageIds.parse(which.id);
                } catch (RuntimeException e) { // before connecting: a malformed id is a bad command line, not a failure
                    throw new BadCommandLineException("--id: '" + which.id + "' (expected: 16 hex digits, as send printed it)");
                }
            }
            if (which.key != null && topic == null) {
                throw new BadCommandLineException("--key needs --topic");
            }
            if (which.key != null && max < 1) { // before connecting: a bad command line, named as the user typed it
                throw new BadCommandLineException("--max: " + max + " (expected: >= 1)");
            }
            try (FerryClient client = server.connect()) {
                List<Message> found;
                if (which.id != null) {
                    found = client.queryById(which.id).map(List::of).orElse(List.of());
                } else {
                    found = client.queryByKey(topic, which.key, max);
                }
                if (found.isEmpty()) {
                    System.err.println("ferry: no message found");
                    return Ferry.EXIT_NOT_FOUND;
                }
                // UTF-8 whatever the locale, and the body's bytes as they are, as consume prints them: decoded and encoded
                // again, a body that is not UTF-8 came out as U+FFFD, and with LANG=C every non-ASCII character as '?'
                PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
                for (Message m : found) {
                    out.printf("id=%s topic=%s queue=%d offset=%d stored=%d keys=%s tags=%s properties=%s%n", m.msgId(),
                            m.topic(), m.queueId(), m.queueOffset(), m.storeTimestamp(), m.keys(), m.tags(), m.properties());
                    ConsumeCommand.ByteBufferText.write(m, out);
                }
                out.flush();
                return out.checkError() ? Ferry.EXIT_FAILED : 0;
            }
        }
    }
}
