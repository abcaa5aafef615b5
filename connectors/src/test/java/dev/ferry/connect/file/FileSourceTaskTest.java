package dev.ferry.connect.file;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.Configs;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.SourceRecord;
import dev.ferry.connect.TaskContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file source on real files, without a broker: lines, chunks, rotation, truncation, bad lines, restart positions. */
class FileSourceTaskTest {
    @TempDir
    Path dir;
    private FileSourceTask task;

    private record Context(ConnectorConfig config, Map<String, String> committedPosition, Path stateDir, Clock clock, String server)
            implements TaskContext {}

    private FileSourceTask start(Map<String, String> position, String... extra) throws IOException {
        List<String> kv = new ArrayList<>(List.of("name", "t", "connector", "file-source", "file", dir.resolve("app.log").toString(),
                "topic", "t", "poll.interval.ms", "5"));
        kv.addAll(List.of(extra));
        ConnectorConfig c = Configs.of(kv.toArray(String[]::new));
        task = new FileSourceTask();
        task.configure(c);
        task.start(new Context(c, position, dir, Clock.systemUTC(), "-"));
        return task;
    }

    @AfterEach
    void close() throws IOException {
        if (task != null) {
            task.close();
        }
    }

    private void append(String path, String text) throws IOException {
        Files.writeString(dir.resolve(path), text, UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static List<String> bodies(List<SourceRecord> records) {
        return records.stream().map(r -> UTF_8.decode(r.message().body()).toString()).toList();
    }

    /** Polls until {@code n} records came (or fails after a while). */
    private List<SourceRecord> take(int n) throws Exception {
        List<SourceRecord> out = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (out.size() < n && System.nanoTime() < deadline) {
            out.addAll(task.poll(Duration.ofMillis(50)));
        }
        assertThat(out).as("records").hasSize(n);
        return out;
    }

    @Test
    void linesWithLfAndCrLfAndAPartialLineThatWaits() throws Exception {
        append("app.log", "one\r\ntwo\n\nthree");
        start(Map.of());
        List<SourceRecord> r = take(3);
        assertThat(bodies(r)).containsExactly("one", "two", "");
        assertThat(task.poll(Duration.ofMillis(30))).as("'three' has no newline yet").isEmpty();
        append("app.log", " and more\n");
        assertThat(bodies(take(1))).containsExactly("three and more");
        assertThat(take(0)).isEmpty();
        assertThat(r.get(2).position()).containsEntry("offset", "10").containsKey("fileKey");
    }

    @Test
    void restartsAtTheCommittedOffsetOfTheSameFile() throws Exception {
        append("app.log", "a\nb\nc\n");
        Map<String, String> afterA = start(Map.of()).poll(Duration.ofMillis(100)).get(0).position();
        task.close();
        start(afterA);
        assertThat(bodies(take(2))).containsExactly("b", "c");
    }

    /** As if the file was deleted and recreated while stopped and the filesystem gave it the old inode back. */
    private static Map<String, String> sameInode(Map<String, String> old, Path file) throws IOException {
        Map<String, String> p = new java.util.HashMap<>(old);
        p.put("fileKey", FileSourceTask.fileKey(Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class)));
        return p;
    }

    @Test
    void aRecreatedFileWithTheOldInodeIsReadFromZero() throws Exception {
        append("app.log", "aaaa\nbbbb\ncccc\n");
        Map<String, String> afterA = start(Map.of()).poll(Duration.ofMillis(100)).get(0).position();
        task.close();
        Files.delete(dir.resolve("app.log"));
        append("app.log", "xxxx\nyyyy\nzzzz\n"); // same length: only the content tells them apart
        start(sameInode(afterA, dir.resolve("app.log")));
        assertThat(bodies(take(3))).containsExactly("xxxx", "yyyy", "zzzz");
    }

    @Test
    void aRecreatedFileIsToldApartBeyondTheFirstKibibyte() throws Exception {
        String head = "h".repeat(2000) + "\n";
        append("app.log", head + "one\n");
        start(Map.of());
        Map<String, String> afterOne = take(2).get(1).position();
        task.close();
        Files.delete(dir.resolve("app.log"));
        append("app.log", "H" + head.substring(1) + "one\n");
        start(sameInode(afterOne, dir.resolve("app.log")));
        assertThat(bodies(take(2))).containsExactly("H" + "h".repeat(1999), "one");
    }

    @Test
    void aPositionWithoutFingerprintStillResumes() throws Exception {
        append("app.log", "a\nb\nc\n");
        Map<String, String> afterA = new java.util.HashMap<>(start(Map.of()).poll(Duration.ofMillis(100)).get(0).position());
        task.close();
        afterA.remove("fingerprint"); // written by an older version
        start(afterA);
        assertThat(bodies(take(2))).containsExactly("b", "c");
    }

    @Test
    void aFileGrownPastTheFirstKibibyteAfterThePositionStillMatches() throws Exception {
        append("app.log", "a\nb\n");
        Map<String, String> afterB = start(Map.of()).poll(Duration.ofMillis(100)).get(1).position();
        task.close();
        append("app.log", "c".repeat(3000) + "\n");
        start(afterB);
        assertThat(bodies(take(1))).containsExactly("c".repeat(3000));
    }

    @Test
    void rotationFinishesTheOldFileThenFollowsTheNewOne() throws Exception {
        append("app.log", "1\n2\n");
        start(Map.of(), "rotate.wait.ms", "100");
        assertThat(bodies(take(2))).containsExactly("1", "2");
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log.1", "3\nlast-without-newline"); // the writer still had the old file open
        append("app.log", "new-1\nnew-2\n");
        assertThat(bodies(take(4))).containsExactly("3", "last-without-newline", "new-1", "new-2");
    }

    /**
     * logrotate's default ({@code create}): rename, create the new file, then signal the
     * application (postrotate), which until then keeps writing to the renamed file. Those lines
     * are read, before the new file's, as long as they come within rotate.wait.ms of the last
     * write or of the rotation being seen (the old file used to be closed as soon as its end was
     * reached once after the new file appeared, losing them).
     */
    @Test
    void linesWrittenToTheRenamedFileAfterTheNewOneAppearedAreRead() throws Exception {
        append("app.log", "1\n2\n");
        start(Map.of(), "rotate.wait.ms", "2000");
        assertThat(bodies(take(2))).containsExactly("1", "2");
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log", ""); // logrotate 'create'
        assertThat(task.poll(Duration.ofMillis(300))).as("nothing new yet; the task saw the new file").isEmpty();
        append("app.log.1", "3-before-HUP\n"); // the application has not reopened yet
        append("app.log", "4-after-HUP\n");
        assertThat(bodies(take(2))).as("every line the application wrote, old file first").containsExactly("3-before-HUP", "4-after-HUP");
    }

    @Test
    void theNewFileWaitsUntilTheOldOneWasNotWrittenForRotateWait() throws Exception {
        append("app.log", "1\n");
        start(Map.of(), "rotate.wait.ms", "1000");
        assertThat(bodies(take(1))).containsExactly("1");
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log", "new\n");
        long t0 = System.nanoTime();
        assertThat(bodies(take(1))).containsExactly("new");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("the new file's line waited for the grace period")
                .isGreaterThanOrEqualTo(Duration.ofMillis(900));
    }

    /**
     * Size-based rotation of a busy log: the new file is itself rotated (renamed on) while the task
     * still waits out rotate.wait.ms on the first old file. Its lines are read after the old file's,
     * then the newest file's (found by a reviewer: the task opened whatever was at the path once the
     * old file was done, and skipped the middle file whole, without a word).
     */
    @Test
    void aFileRotatedAgainWithinTheWaitIsReadBeforeTheNextOne() throws Exception {
        append("app.log", "A1\n");
        start(Map.of(), "rotate.wait.ms", "1000");
        assertThat(bodies(take(1))).containsExactly("A1");
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log", "B1\nB2\n");
        assertThat(task.poll(Duration.ofMillis(300))).as("waiting on the old file").isEmpty();
        Files.move(dir.resolve("app.log.1"), dir.resolve("app.log.2"));
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log", "C1\n");
        assertThat(bodies(take(3))).as("every line, file by file").containsExactly("B1", "B2", "C1");
    }

    /** rotate.wait.ms=0 is the behaviour from before the setting: the old file is done at its end, whatever its modification time says. */
    @Test
    void withNoWaitAnOldFileDatedInTheFutureIsDoneAtItsEnd() throws Exception {
        append("app.log", "1\n");
        Files.setLastModifiedTime(dir.resolve("app.log"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 3_600_000));
        start(Map.of(), "rotate.wait.ms", "0", "start", "end"); // nothing read: the file's last write is its modification time
        assertThat(task.poll(Duration.ofMillis(100))).isEmpty();
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log", "new\n");
        assertThat(bodies(task.poll(Duration.ofSeconds(2)))).as("read within one poll, not an hour later").containsExactly("new");
    }

    /** 20 lines read, the position committed after line 10 (the rest unacknowledged), and the task gone. */
    private Map<String, String> twentyLinesCommittedAfterTen() throws Exception {
        for (int i = 1; i <= 20; i++) {
            append("app.log", "line-" + i + "\n");
        }
        Map<String, String> afterTen = start(Map.of()).poll(Duration.ofMillis(100)).get(9).position();
        task.close();
        return afterTen;
    }

    private static List<String> linesElevenToTwenty() {
        return java.util.stream.IntStream.rangeClosed(11, 20).mapToObj(i -> "line-" + i).toList();
    }

    @Test
    void aRotationWhileNotRunningFinishesTheOldFileFromThePositionFirst() throws Exception {
        append("app.log.2", "an older rotation\n"); // a sibling with another fileKey: not the old file
        Map<String, String> afterTen = twentyLinesCommittedAfterTen();
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        append("app.log", "new\n");
        start(afterTen, "rotate.wait.ms", "100");
        List<String> expected = new ArrayList<>(linesElevenToTwenty());
        expected.add("new");
        assertThat(bodies(take(11))).containsExactlyElementsOf(expected);
        assertThat(take(0)).isEmpty();
    }

    @Test
    void aFileRotatedAwayAndNotRecreatedYetIsFollowedFromThePosition() throws Exception {
        Map<String, String> afterTen = twentyLinesCommittedAfterTen();
        Files.move(dir.resolve("app.log"), dir.resolve("app.log-20260131"));
        start(afterTen, "rotate.wait.ms", "100");
        assertThat(bodies(take(10))).containsExactlyElementsOf(linesElevenToTwenty());
        append("app.log-20260131", "late\n"); // the writer still had the old file open
        append("app.log", "new\n");
        assertThat(bodies(take(2))).containsExactly("late", "new");
    }

    @Test
    void aRotatedFileThatIsGoneLeavesOnlyTheNewFile() throws Exception {
        Map<String, String> afterTen = twentyLinesCommittedAfterTen();
        Files.move(dir.resolve("app.log"), dir.resolve("app.log.1"));
        Files.delete(dir.resolve("app.log.1")); // or compressed, or moved elsewhere: its tail cannot be read (logged)
        append("app.log", "new\n");
        start(afterTen);
        assertThat(bodies(take(1))).containsExactly("new");
    }

    @Test
    void truncationStartsAgainFromZero() throws Exception {
        append("app.log", "aaaa\nbbbb\n");
        start(Map.of());
        take(2);
        Files.writeString(dir.resolve("app.log"), "c\n", UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        assertThat(bodies(take(1))).containsExactly("c");
    }

    /**
     * copytruncate (or {@code > app.log}) of a small file that the application writes past the old
     * position before the task looks: the size alone does not show the truncation; the first bytes
     * (the fingerprint) do, and the file is read from 0 rather than from the middle of a line.
     */
    @Test
    void aTruncatedFileRefilledPastThePositionIsReadFromZero() throws Exception {
        append("app.log", "aaaa\nbbbb\n");
        start(Map.of());
        assertThat(bodies(take(2))).containsExactly("aaaa", "bbbb");
        Files.writeString(dir.resolve("app.log"), "cccccccccccc\ndd\n", UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        assertThat(bodies(take(2))).containsExactly("cccccccccccc", "dd");
    }

    @Test
    void aTooLongLineIsABadRecordAfterTheGoodOnes() throws Exception {
        append("app.log", "ok\n" + "x".repeat(20) + "\nafter\n");
        start(Map.of(), "max.line.bytes", "10");
        assertThat(bodies(task.poll(Duration.ofMillis(100)))).containsExactly("ok");
        assertThatThrownBy(() -> task.poll(Duration.ofMillis(100))).isInstanceOfSatisfying(BadRecordException.class, e -> {
            assertThat(e.getMessage()).contains("is 20 bytes (expected: at most max.line.bytes=10)");
            SourceRecord bad = (SourceRecord) e.record();
            assertThat(UTF_8.decode(bad.message().body()).toString()).isEqualTo("x".repeat(10));
            assertThat(bad.position()).containsEntry("offset", "24");
        });
        assertThat(bodies(take(1))).containsExactly("after");
    }

    @Test
    void aTooLongLineLongerThanTheBufferIsSkippedToItsEnd() throws Exception {
        append("app.log", "y".repeat(100_000) + "\nnext\n");
        start(Map.of(), "max.line.bytes", "100", "read.buffer.bytes", "1000");
        assertThatThrownBy(() -> task.poll(Duration.ofMillis(200))).isInstanceOf(BadRecordException.class)
                .hasMessageContaining("is 100000 bytes");
        assertThat(bodies(take(1))).containsExactly("next");
    }

    @Test
    void chunksConcatenateToTheFile() throws Exception {
        append("app.log", "0123456789abc");
        start(Map.of(), "mode", "chunks", "chunk.bytes", "5");
        assertThat(bodies(take(3))).containsExactly("01234", "56789", "abc");
    }

    @Test
    void startAtTheEndSkipsWhatIsThere() throws Exception {
        append("app.log", "old\n");
        start(Map.of(), "start", "end");
        append("app.log", "new\n");
        assertThat(bodies(take(1))).containsExactly("new");
    }

    @Test
    void waitsForAFileThatDoesNotExistYet() throws Exception {
        start(Map.of());
        assertThat(task.poll(Duration.ofMillis(20))).isEmpty();
        append("app.log", "hello\n");
        assertThat(bodies(take(1))).containsExactly("hello");
    }
}
