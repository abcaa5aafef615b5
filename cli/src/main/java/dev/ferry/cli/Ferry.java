package dev.ferry.cli;

import dev.ferry.client.FerryException;
import dev.ferry.connect.ConnectConfigException;
import dev.ferry.protocol.Status;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ferry} command: entry point of bin/ferry. Each subcommand is its own class. */
@Command(name = "ferry", mixinStandardHelpOptions = true, version = "ferry 0.1.0-SNAPSHOT",
        description = "Ferry message broker.",
        subcommands = {BrokerCommand.class, TopicCommand.class, ProduceCommand.class, ConsumeCommand.class, GroupCommand.class,
                MessageCommand.class, ConnectCommand.class, PerfCommand.class, DumpCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class Ferry {
    /** Exit code for a command that ran but failed (bad input is picocli's 2). */
    static final int EXIT_FAILED = 1;
    /** Exit code for a configuration the broker or a connector cannot start with (unknown key, bad value). */
    static final int EXIT_BAD_CONFIG = 4;
    /** Exit code for "what you asked for does not exist" (topic, message, a file to dump). */
    static final int EXIT_NOT_FOUND = 3;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Ferry());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("ferry: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (e instanceof FerryException f && f.status().orElse(null) == Status.NOT_FOUND || e instanceof NotFoundException) {
                return EXIT_NOT_FOUND; // a topic, group or message the broker does not have, whichever command asked
            }
            if (e instanceof BadCommandLineException) {
                return CommandLine.ExitCode.USAGE; // 2, as picocli's own usage errors
            }
            return e instanceof BrokerSettings.ConfigException || e instanceof ConnectConfigException ? EXIT_BAD_CONFIG : EXIT_FAILED;
        });
        return cl;
    }
}
