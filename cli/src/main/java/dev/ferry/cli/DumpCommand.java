package dev.ferry.cli;

import dev.ferry.log.Dump;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ferry dump segment|index FILE}: renders a storage file as text. */
@Command(name = "dump", mixinStandardHelpOptions = true, description = "Render a storage file as text.")
final class DumpCommand {
    @Command(name = "segment", description = "Print the records of a commit-log segment file.")
    int segment(@Parameters(paramLabel = "FILE") Path file) {
        Dump.segment(file, System.out);
        return 0;
    }

    @Command(name = "index", description = "Print the entries of an offset-index file.")
    int index(@Parameters(paramLabel = "FILE") Path file) {
        Dump.index(file, System.out);
        return 0;
    }
}
