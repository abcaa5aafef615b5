package dev.ferry.connect.ship;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link Transfer#copy} reports to its {@link Transfer.Progress}, and how it ends when the target takes nothing. */
class TransferTest {
    @TempDir
    Path tmp;

    /**
     * Each wait for the rate limit is bracketed by {@code throttled(true)} and
     * {@code throttled(false)} with no bytes moved in between, so a write deadline can leave the
     * waits out. A fixed clock makes every chunk wait (by the time the limit gives it, 100 ms
     * and then 200 ms: the clock never catches up), so the sequence is exact.
     */
    @Test
    void everyRateLimitWaitIsReportedWithNoBytesMovedDuringIt() throws Exception {
        byte[] bytes = new byte[2 * 4096];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 31);
        }
        Path source = Files.write(tmp.resolve("source"), bytes);
        Path copy = tmp.resolve("copy");
        // 40,960 bytes/s: chunks of 4096 bytes (a tenth of a second's worth, at least 4096)
        Transfer transfer = new Transfer(Transfer.DEFAULT_CHUNK_BYTES, 40_960,
                Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC), new StopSignal());
        List<String> events = new ArrayList<>();
        long[] movedSinceEvent = {0};
        try (FileChannel src = FileChannel.open(source, StandardOpenOption.READ);
             FileChannel dst = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long reached = transfer.copy(src, 0, bytes.length, dst, new Transfer.Progress() {
                @Override
                public void moved(long n) {
                    movedSinceEvent[0] += n; // transferTo may move a chunk in several calls: count them together
                }

                @Override
                public void throttled(boolean waiting) {
                    if (movedSinceEvent[0] > 0) {
                        events.add("moved " + movedSinceEvent[0]);
                        movedSinceEvent[0] = 0;
                    }
                    events.add(waiting ? "wait" : "go on");
                }
            });
            assertThat(reached).isEqualTo(bytes.length);
        }
        assertThat(movedSinceEvent[0]).as("bytes moved after the last wait").isZero();
        assertThat(events).containsExactly("moved 4096", "wait", "go on", "moved 4096", "wait", "go on");
        assertThat(Files.readAllBytes(copy)).isEqualTo(bytes);
    }

    /**
     * A target that keeps taking nothing — here a real non-blocking pipe nobody reads, full after
     * its buffer — fails the copy with an error rather than spinning on {@code transferTo}
     * returning 0 forever.
     */
    @Test
    void aTargetThatKeepsTakingNothingFailsTheCopy() throws Exception {
        Path source = Files.write(tmp.resolve("source"), new byte[1 << 20]);
        Pipe pipe = Pipe.open();
        try (FileChannel src = FileChannel.open(source, StandardOpenOption.READ); Pipe.SinkChannel sink = pipe.sink();
             Pipe.SourceChannel unread = pipe.source()) {
            sink.configureBlocking(false);
            Transfer transfer = new Transfer(Transfer.DEFAULT_CHUNK_BYTES, 0, Clock.systemUTC(), new StopSignal());
            long[] moved = {0};
            assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
                    assertThatThrownBy(() -> transfer.copy(src, 0, src.size(), sink, n -> moved[0] += n))
                            .isInstanceOf(IOException.class)
                            .hasMessageContaining("transferTo moved no byte " + Transfer.MAX_EMPTY_CALLS + " times in a row"));
            assertThat(moved[0]).as("what the pipe's buffer took").isLessThan(1 << 20);
        }
    }
}
