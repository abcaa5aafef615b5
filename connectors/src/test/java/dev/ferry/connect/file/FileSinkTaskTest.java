package dev.ferry.connect.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.connect.Configs;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file sink on real files, without a broker: what is on disk after a put that was never
 * flushed (as a kill -9 would leave it), and what a restarted sink makes of it.
 */
class FileSinkTaskTest {
    private static final int BUFFER = 1 << 20;

    @TempDir
    Path dir;

    private record Context(ConnectorConfig config, Map<String, String> committedPosition, Path stateDir, Clock clock, String server)
            implements TaskContext {}

    private Path file() {
        return dir.resolve("out.log");
    }

    private FileSinkTask start(String... extra) throws Exception {
        List<String> kv = new ArrayList<>(List.of("name", "copy", "connector", "file-sink", "file", file().toString(), "topics", "t"));
        kv.addAll(List.of(extra));
        ConnectorConfig c = Configs.of(kv.toArray(String[]::new));
        FileSinkTask task = new FileSinkTask();
        task.configure(c);
        task.start(new Context(c, Map.of(), dir, Clock.systemUTC(), "-"));
        return task;
    }

    /**
     * A flush whose write fails part-way (a real short write: the child JVM's file size limit),
     * then a close, as the runtime closes a sink after a failure: the close writes what the failed
     * write left, never again what it wrote (it wrote the first {@code limit} bytes once more, a
     * garbled line in the middle of the file).
     */
    @Test
    void aWriteThatFailedPartWayIsNotWrittenAgainByClose() throws Exception {
        assumePrlimit();
        int lines = 100;
        int bytes = 99; // 100 with the newline
        int limit = 4_050; // inside line 40
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                FileSinkWriteFailureChild.class.getName(), file().toString(), Integer.toString(limit), Integer.toString(lines),
                Integer.toString(bytes)).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), UTF_8);
        assertThat(child.waitFor()).as("child exit code; its output: %s", output).isZero();
        assertThat(output).contains("flush failed: File too large").contains("closed");
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            expected.append(FileSinkWriteFailureChild.line(i, bytes)).append('\n');
        }
        assertThat(Files.readString(file())).as("every line once, in order").isEqualTo(expected.toString());
    }

    /**
     * A line larger than the sink's buffer, whose write by the put fails part-way (the child's
     * file size limit), then the runtime's close, then a start that gets the message again (its
     * offset was never committed): the file holds it once, whole. The close used to record the
     * cut-short line as flushed, so the start kept it: a line that was no message.
     */
    @Test
    void aLineCutShortByAFailedWriteIsCutOnTheNextStart() throws Exception {
        assumePrlimit();
        int bytes = 2 * BUFFER;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                FileSinkWriteFailureChild.class.getName(), file().toString(), Integer.toString(BUFFER), "1", Integer.toString(bytes), "put")
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), UTF_8);
        assertThat(child.waitFor()).as("child exit code; its output: %s", output).isZero();
        assertThat(output).contains("put failed: File too large").contains("closed");
        assertThat(Files.size(file())).as("the child wrote part of the line").isEqualTo(BUFFER);
        FileSinkTask again = start(); // the child's state dir is FILE's folder, as here
        again.put(FileSinkWriteFailureChild.lines(1, bytes));
        again.close();
        assertThat(Files.readString(file())).isEqualTo(FileSinkWriteFailureChild.line(0, bytes) + "\n");
    }

    private static void assumePrlimit() throws InterruptedException {
        try {
            new ProcessBuilder("prlimit", "--version").redirectErrorStream(true).start().waitFor();
        } catch (IOException e) {
            Assumptions.abort("prlimit (util-linux) not found: " + e.getMessage());
        }
    }

    private static Message message(byte[] body) {
        return Message.builder("t").body(body).build();
    }

    private static byte[] filled(int length, char c) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) c);
        return b;
    }

    /** A put that is not flushed, then a "crash" (the task is abandoned), then a new task replays it and one more. */
    private void crashAfterPutThenReplay(byte[] body) throws Exception {
        FileSinkTask crashed = start();
        crashed.put(List.of(message(body)));
        // kill -9 now: what is in the file is what was written; the buffer is lost
        byte[] onDisk = Files.readAllBytes(file());
        if (onDisk.length > 0) {
            assertThat(onDisk[onDisk.length - 1]).as("a body on disk has its newline with it").isEqualTo((byte) '\n');
        }
        FileSinkTask restarted = start();
        restarted.put(List.of(message(body), message("next".getBytes(UTF_8)))); // offsets were not committed: replayed
        restarted.close();
        String[] lines = Files.readString(file(), UTF_8).split("\n", -1);
        String whole = new String(body, UTF_8);
        assertThat(lines[lines.length - 1]).as("the file ends with a newline").isEmpty();
        List<String> records = Arrays.asList(lines).subList(0, lines.length - 1);
        assertThat(records).as("every line is one whole record").allMatch(l -> l.equals(whole) || l.equals("next"));
        assertThat(records).endsWith(whole, "next");
    }

    @Test
    void aBodyLargerThanTheBufferIsWrittenWithItsNewline() throws Exception {
        crashAfterPutThenReplay(filled(BUFFER + 10, 'a'));
    }

    @Test
    void aBodyThatExactlyFillsTheBufferIsWrittenWithItsNewline() throws Exception {
        crashAfterPutThenReplay(filled(BUFFER, 'b'));
    }

    @Test
    void aBodyThatFillsTheBufferBehindOthersIsWrittenWithItsNewline() throws Exception {
        FileSinkTask crashed = start();
        crashed.put(List.of(message("x".getBytes(UTF_8)), message(filled(BUFFER - 2, 'c'))));
        byte[] onDisk = Files.readAllBytes(file());
        if (onDisk.length > 0) {
            assertThat(onDisk[onDisk.length - 1]).isEqualTo((byte) '\n');
        }
    }

    /** A sink that flushed {@code flushed} and then wrote {@code after} to the file itself (as a crash in a write leaves it), abandoned. */
    private void flushedThenCrashedWriting(List<String> flushed, String after) throws Exception {
        FileSinkTask crashed = start();
        List<Message> ms = new ArrayList<>();
        for (String f : flushed) {
            ms.add(message(f.getBytes(UTF_8)));
        }
        crashed.put(ms);
        crashed.flush();
        Files.writeString(file(), after, java.nio.file.StandardOpenOption.APPEND); // written, not flushed, then kill -9
    }

    @Test
    void aPartialLastLineIsCutOnStart() throws Exception {
        flushedThenCrashedWriting(List.of("one", "two"), "thr");
        FileSinkTask task = start();
        assertThat(Files.readString(file())).as("cut at start").isEqualTo("one\ntwo\n");
        task.put(List.of(message("three".getBytes(UTF_8))));
        task.close();
        assertThat(Files.readString(file())).isEqualTo("one\ntwo\nthree\n");
    }

    @Test
    void wholeLinesWrittenAfterTheLastFlushAreCutWithThePartialOne() throws Exception {
        // their messages were not committed and come again: cutting them spares the duplicates
        flushedThenCrashedWriting(List.of("one"), "two\nthree\n" + "f".repeat(150_000));
        start().close();
        assertThat(Files.readString(file())).isEqualTo("one\n");
    }

    @Test
    void aFileTheSinkDidNotWriteKeepsEveryByte() throws Exception {
        byte[] existing = filled(200_000, 'p'); // no newline at all: the sink used to cut all of it
        Files.write(file(), existing);
        FileSinkTask task = start();
        task.put(List.of(message("first".getBytes(UTF_8))));
        task.close();
        assertThat(Files.readString(file())).as("kept, and the records on a line of their own")
                .isEqualTo(new String(existing, UTF_8) + "\nfirst\n");
    }

    @Test
    void aFileWrittenRawAndThenAsLinesKeepsItsCommittedTail() throws Exception {
        FileSinkTask raw = start("format", "raw");
        raw.put(List.of(message("abc".getBytes(UTF_8)), message("def".getBytes(UTF_8))));
        raw.close(); // flushed: its offsets are committed
        FileSinkTask lines = start();
        lines.put(List.of(message("ghi".getBytes(UTF_8))));
        lines.close();
        assertThat(Files.readString(file())).isEqualTo("abcdef\nghi\n");
    }

    @Test
    void aFileReplacedBetweenRunsIsNotCutToTheOldOnesLength() throws Exception {
        FileSinkTask task = start();
        task.put(List.of(message("one".getBytes(UTF_8))));
        task.close();
        Files.delete(file());
        Files.writeString(file(), "someone else's\nlines\n"); // another file at the path: longer than the recorded length
        FileSinkTask again = start();
        again.put(List.of(message("two".getBytes(UTF_8))));
        again.close();
        assertThat(Files.readString(file())).isEqualTo("someone else's\nlines\ntwo\n");
    }

    @Test
    void aFileRewrittenInPlaceAfterARunThatWroteNothingIsNotCut() throws Exception {
        start().close(); // FILE made and recorded at length 0: nothing before that length can tell it apart
        Files.writeString(file(), "someone else's\nlines\n"); // same inode, content the sink never wrote
        FileSinkTask again = start();
        again.put(List.of(message("two".getBytes(UTF_8))));
        again.close();
        assertThat(Files.readString(file())).isEqualTo("someone else's\nlines\ntwo\n");
    }

    @Test
    void aFileWrittenAfterARollAndNeverFlushedIsCutToEmpty() throws Exception {
        FileSinkTask crashed = start();
        crashed.put(List.of(message("one".getBytes(UTF_8)), message("two".getBytes(UTF_8))));
        crashed.put(List.of(message(filled(BUFFER, 'x')))); // written by the put: FILE holds one, two and part of it
        // kill -9: nothing was flushed; the first bytes were recorded before they were written
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file(), java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(BUFFER / 2); // as if the crash came in the middle of that write
        }
        start().close();
        assertThat(Files.size(file())).isZero();
    }

    @Test
    void aCrashAfterARollCutsTheNewFileNotTheRolledOne() throws Exception {
        FileSinkTask crashed = start("roll.bytes", "8");
        crashed.put(List.of(message("aaaa".getBytes(UTF_8))));
        crashed.flush();
        crashed.put(List.of(message("bbbb".getBytes(UTF_8)))); // rolls: out.log.1 holds aaaa, forced
        // a line over roll.bytes rolls again (bbbb to out.log.2, forced) and gets the new FILE to itself, written by the put
        crashed.put(List.of(message(filled(BUFFER, 'y'))));
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file(), java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(7); // kill -9 in the middle of that write: FILE holds seven y's
        }
        FileSinkTask restarted = start("roll.bytes", "8");
        restarted.put(List.of(message("bbbb".getBytes(UTF_8)))); // not committed: it comes again
        restarted.close();
        assertThat(Files.readString(dir.resolve("out.log.1"))).isEqualTo("aaaa\n");
        assertThat(Files.readString(dir.resolve("out.log.2"))).isEqualTo("bbbb\n");
        assertThat(Files.readString(file())).as("the y line's part cut; bbbb again (its offset was not committed)").isEqualTo("bbbb\n");
    }

    @Test
    void rawModeLeavesTheFileAsItIs() throws Exception {
        Files.writeString(file(), "abc");
        FileSinkTask task = start("format", "raw");
        task.put(List.of(message("def".getBytes(UTF_8))));
        task.close();
        assertThat(Files.readString(file())).isEqualTo("abcdef");
    }
}
