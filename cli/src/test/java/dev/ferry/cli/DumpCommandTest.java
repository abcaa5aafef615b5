package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * {@code ferry dump} into a closed pipe ({@code | head}) stops instead of rendering the whole
 * file into it, and a file it cannot dump is named with the reason.
 */
class DumpCommandTest {
    private static final int RECORDS = 2_000;
    private static final String ZERO = "00000000000000000000";

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    /** An output that takes {@code limit} bytes, then fails every write (as a pipe whose reader exited), counting them. */
    private static final class ClosingPipe extends OutputStream {
        private final int limit;
        private int written;
        int failedWrites;

        ClosingPipe(int limit) {
            this.limit = limit;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (written + len > limit) {
                failedWrites++;
                throw new IOException("Broken pipe");
            }
            written += len;
        }
    }

    @BeforeEach
    void fill() {
        try (MessageStore store = MessageStore.open(LogConfig.builder(dir).segmentBytes(1 << 20).preTouch(false).build())) {
            for (int i = 0; i < RECORDS; i++) {
                store.append(LogMessage.builder("t", 0, ("m" + i).getBytes(StandardCharsets.UTF_8)).build());
            }
        }
    }

    private Run run(OutputStream stdout, String... args) {
        PrintStream oldOut = System.out;
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            CommandLine cl = Ferry.commandLine();
            cl.setErr(new PrintWriter(err, true));
            return new Run(cl.execute(args), stdout.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
        }
    }

    private Path file(String kind) {
        return kind.equals("segment") ? dir.resolve("commitlog").resolve(ZERO) : dir.resolve("index").resolve("t").resolve("0").resolve(ZERO);
    }

    /** Before, both modes wrote every one of the 2,000 lines into the failed output and exited 0. */
    @ParameterizedTest(name = "dump {0}")
    @ValueSource(strings = {"segment", "index"})
    void stopsWhenTheOutputFails(String kind) {
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        Run all = run(whole, "dump", kind, file(kind).toString());
        assertThat(all.exit).as(all.err).isZero();
        assertThat(all.out.lines().count()).as("a line a record or entry, and a head and a tail").isGreaterThan(RECORDS);

        ClosingPipe pipe = new ClosingPipe(4096);
        Run cut = run(pipe, "dump", kind, file(kind).toString());
        assertThat(cut.exit).as("a failed output is a failure").isEqualTo(Ferry.EXIT_FAILED);
        assertThat(cut.err).as("nothing said: the reader had what it wanted").isEmpty();
        // one printf line is written in pieces, each failing: the line that failed, not the 2,000 after it
        assertThat(pipe.failedWrites).as("writes tried after the output failed").isLessThan(30);
    }

    @Test
    void aFileNotNamedAsASegmentSaysSo() throws IOException {
        Path bak = Files.copy(file("segment"), dir.resolve("seg.bak"));
        Run r = run(new ByteArrayOutputStream(), "dump", "segment", bak.toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.err).isEqualTo("ferry: " + bak + ": not a segment file name (expected 20 digits, the segment's base offset, "
                + "as in commitlog/00000000000000000000)" + System.lineSeparator());
    }

    /**
     * Before, dump index printed any file as an index: a segment (or a key index) gave a header of
     * garbage ({@code magic=0x86 version=-495 base=-3015487806853070848}), entries made of
     * record bytes or none, and exit 0.
     */
    @Test
    void aFileThatIsNotAnOffsetIndexSaysSo() {
        Path segment = file("segment");
        Run r = run(new ByteArrayOutputStream(), "dump", "index", segment.toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.out).isEmpty();
        assertThat(r.err).startsWith("ferry: " + segment + ": not an offset-index file (magic 0x")
                .contains("expected: magic 0x46494458 version 1").hasLineCount(1);
    }

    @ParameterizedTest(name = "dump {0}")
    @ValueSource(strings = {"segment", "index"})
    void aMissingFileSaysSo(String kind) {
        for (Path missing : new Path[] {dir.resolve("dmp").resolve("seg.bak"), dir.resolve("commitlog").resolve("00000000000000000042")}) {
            Run r = run(new ByteArrayOutputStream(), "dump", kind, missing.toString());
            assertThat(r.exit).as("docs/OPERATIONS.md: 3, what the command asked for does not exist").isEqualTo(Ferry.EXIT_NOT_FOUND);
            assertThat(r.err).isEqualTo("ferry: " + missing + ": no such file" + System.lineSeparator());
        }
    }

    /**
     * A path through a regular file ({@code seg.bak/000...}) names a file that cannot exist: 3, as a
     * missing one. Before, it exited 1 with the system's "Not a directory".
     */
    @ParameterizedTest(name = "dump {0}")
    @ValueSource(strings = {"segment", "index"})
    void aPathThroughARegularFileIsMissing(String kind) throws IOException {
        Path bak = Files.copy(file("segment"), dir.resolve("seg.bak"));
        Path through = bak.resolve(ZERO);
        Run r = run(new ByteArrayOutputStream(), "dump", kind, through.toString());
        assertThat(r.exit).as(r.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(r.err).isEqualTo("ferry: " + through + ": no such file" + System.lineSeparator());
    }

    /** Before, a file shorter than an index's header printed a line saying so, and exited 0 as if it had been dumped. */
    @Test
    void anIndexFileShorterThanItsHeaderIsAnError() throws IOException {
        Path cut = dir.resolve("cut-index");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(file("index")), 10));
        Run r = run(new ByteArrayOutputStream(), "dump", "index", cut.toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.out).isEmpty();
        assertThat(r.err).isEqualTo("ferry: " + cut + ": 10 bytes, shorter than an offset index's 16-byte header (expected: an offset-index"
                + " file, as in index/TOPIC/QUEUE/00000000000000000000)" + System.lineSeparator());
    }

    @ParameterizedTest(name = "dump {0}")
    @ValueSource(strings = {"segment", "index"})
    void aFolderSaysItIsOne(String kind) {
        Path folder = dir.resolve("commitlog");
        Run r = run(new ByteArrayOutputStream(), "dump", kind, folder.toString());
        assertThat(r.exit).isEqualTo(Ferry.EXIT_FAILED);
        assertThat(r.err).isEqualTo("ferry: " + folder + ": is a directory, not a file" + System.lineSeparator());
    }

    /**
     * {@code --help} prints the usage and exits 0 (docs/OPERATIONS.md, "Exit codes"), and names the
     * exit codes of a dump. Before, {@code dump segment --help} and {@code dump index --help} were
     * refused as a usage error ("Missing required parameter: 'FILE'", exit 2).
     */
    @ParameterizedTest(name = "dump {0} --help")
    @ValueSource(strings = {"segment", "index"})
    void helpPrintsTheUsageAndTheExitCodes(String kind) {
        Run r = run(new ByteArrayOutputStream(), "dump", kind, "--help");
        assertThat(r.exit).as(r.err).isZero();
        assertThat(r.err).isEmpty();
        assertThat(r.out).startsWith("Usage: ferry dump " + kind).contains("Exit codes:").contains("3   the file does not exist");
    }
}
