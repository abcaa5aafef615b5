package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The staging ring's laps, driven directly as the appender and a reader drive it, with a 64 KiB
 * ring (its hot part, 32 KiB, is below the 256 KiB at which the appender wakes the committer
 * thread, so nothing commits unless the test says so): bytes of the previous lap that were not
 * committed when a new lap started keep their places, and a commit that spans both laps copies
 * each byte from where its lap put it.
 */
class StagingRingLapsTest {
    private static final int RING = 64 << 10;
    private static final int CHUNK = 1_000;

    @TempDir
    Path tmp;

    @Test
    void aCommitAcrossTheStartOfALapCopiesEachLapFromItsPlace() throws IOException {
        Path dir = tmp.resolve("store");
        Files.createDirectories(dir);
        Segment segment = Segment.create(dir, 0, 1 << 20, false);
        long[] published = {0};
        StagingRing ring = StagingRing.create(dir, RING, 0, p -> p < segment.endOffset() ? segment : null, () -> published[0],
                3_600_000);
        try {
            long end = stage(ring, 0, 33 * CHUNK, published); // past the hot part (32 KiB): the next append starts a lap
            ring.commit(16 * CHUNK); // the committer has copied half of it
            ring.checkWritable();
            assertThat(header(dir, StagingRing.START_OFFSET)).as("the new lap's start").isEqualTo(end);
            assertThat(header(dir, StagingRing.PREVIOUS_START_OFFSET)).as("the previous lap's start").isZero();
            long newLapEnd = stage(ring, end, 10 * CHUNK, published); // room: below the previous lap's first uncommitted byte
            assertThat(ring.committedOffset()).as("nothing committed by the new lap's appends").isEqualTo(16 * CHUNK);
            ring.commit(newLapEnd); // one commit from the previous lap into the new one
            assertThat(ring.committedOffset()).isEqualTo(newLapEnd);
        } finally {
            ring.close(published[0]);
        }
        ByteBuffer file = ByteBuffer.allocate((int) published[0]);
        try (FileChannel ch = FileChannel.open(segment.path, StandardOpenOption.READ)) {
            ch.read(file, 0);
        } finally {
            segment.close();
        }
        for (int i = 0; i < file.capacity(); i++) {
            assertThat(file.get(i)).as("segment byte %d", i).isEqualTo(byteAt(i));
        }
    }

    /** Stages {@code length} bytes from {@code from} as the appender does, one chunk per append; returns the new end. */
    private static long stage(StagingRing ring, long from, int length, long[] published) {
        long at = from;
        for (long end = from + length; at < end; ) {
            int n = (int) Math.min(CHUNK, end - at);
            ring.awaitSpace(at + n);
            ByteBuffer chunk = ByteBuffer.allocate(n);
            for (int i = 0; i < n; i++) {
                chunk.put(i, byteAt(at + i));
            }
            ring.put(at, chunk);
            at += n;
            ring.staged(at);
            published[0] = at;
        }
        return at;
    }

    /** The test's log byte at position {@code p}: never 0, so a byte copied from the wrong place shows. */
    private static byte byteAt(long p) {
        return (byte) (1 + p % 251);
    }

    private static long header(Path dir, int offset) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve(StagingRing.FILE), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            ch.read(b, offset);
            return b.getLong(0);
        }
    }
}
