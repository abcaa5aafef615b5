package dev.ferry.cli;

import picocli.CommandLine.Command;

/** {@code ferry perf ...}: the benchmarks. */
@Command(name = "perf", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {PerfLogCommand.class, PerfProduceCommand.class, PerfConsumeCommand.class, PerfE2eCommand.class,
                PerfDelayCommand.class, PerfFilterCommand.class, PerfTxCommand.class})
final class PerfCommand {
}
