package dev.ferry.connect.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link Transfer#copy} reports to its {@link Transfer.Progress}. */
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
}
