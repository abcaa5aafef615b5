package dev.ferry.cli;

import dev.ferry.log.Dump;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry dump segment|index FILE}: renders a storage file as text. When standard output
 * fails (a pipe's reader gone: {@code | head}), it stops at once and exits 1 without a message:
 * the reader has what it asked for, and a line on the terminal would only be noise. A missing
 * file exits 3 (what was asked for does not exist); a file it cannot dump (a folder, unreadable,
 * not a segment or offset index, cut short) exits 1, with a line saying why.
 */
@Command(name = "dump", mixinStandardHelpOptions = true, description = "Render a storage file as text.")
final class DumpCommand {
    @Command(name = "segment", description = "Print the records of a commit-log segment file.")
    int segment(@Parameters(paramLabel = "FILE") Path file) {
        try {
            return Dump.segment(file, System.out) ? 0 : Ferry.EXIT_FAILED;
        } catch (UncheckedIOException e) {
            throw missingOrAsIs(e);
        }
    }

    @Command(name = "index", description = "Print the entries of an offset-index file.")
    int index(@Parameters(paramLabel = "FILE") Path file) {
        try {
            return Dump.index(file, System.out) ? 0 : Ferry.EXIT_FAILED;
        } catch (UncheckedIOException e) {
            throw missingOrAsIs(e);
        }
    }

    private static RuntimeException missingOrAsIs(UncheckedIOException e) {
        return e.getCause() instanceof NoSuchFileException ? new NotFoundException(e.getMessage(), e) : e;
    }
}
