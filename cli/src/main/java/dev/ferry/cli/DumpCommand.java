package dev.ferry.cli;

import dev.ferry.log.Dump;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry dump segment|index FILE}: renders a storage file as text. When standard output
 * fails (a pipe's reader gone: {@code | head}), it stops at once and exits 1 without a message:
 * the reader has what it asked for, and a line on the terminal would only be noise.
 */
@Command(name = "dump", mixinStandardHelpOptions = true, description = "Render a storage file as text.")
final class DumpCommand {
    @Command(name = "segment", description = "Print the records of a commit-log segment file.")
    int segment(@Parameters(paramLabel = "FILE") Path file) {
        return Dump.segment(file, System.out) ? 0 : Ferry.EXIT_FAILED;
    }

    @Command(name = "index", description = "Print the entries of an offset-index file.")
    int index(@Parameters(paramLabel = "FILE") Path file) {
        return Dump.index(file, System.out) ? 0 : Ferry.EXIT_FAILED;
    }
}
