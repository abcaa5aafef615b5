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
 * file exits 3 (what was asked for does not exist, a path through a regular file too); a file it cannot dump (a folder, unreadable,
 * not a segment or offset index, cut short) exits 1, with a line saying why.
 */
@Command(name = "dump", mixinStandardHelpOptions = true, description = "Render a storage file as text.")
final class DumpCommand {
    /** The exit codes of a dump (docs/OPERATIONS.md, "Exit codes"; docs/STORAGE.md, "Tools"), in each one's --help. */
    private static final String EXIT_CODES = "%nExit codes:%n"
            + "  0   the whole file was printed (a torn or cut-short segment too: the last line says where its data ends)%n"
            + "  1   the output was closed (| head); or the file cannot be dumped: a folder, unreadable, not a segment's"
            + " 20-digit name (segment), not an offset index or shorter than its 16-byte header (index)%n"
            + "  2   bad command line%n"
            + "  3   the file does not exist%n";

    @Command(name = "segment", mixinStandardHelpOptions = true, description = "Print the records of a commit-log segment file.",
            footer = EXIT_CODES)
    int segment(@Parameters(paramLabel = "FILE") Path file) {
        try {
            return Dump.segment(file, System.out) ? 0 : Ferry.EXIT_FAILED;
        } catch (UncheckedIOException e) {
            throw missingOrAsIs(e);
        }
    }

    @Command(name = "index", mixinStandardHelpOptions = true, description = "Print the entries of an offset-index file.",
            footer = EXIT_CODES)
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
