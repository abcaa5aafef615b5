package dev.ferry.connect.ship;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The overlapped verification path ({@link Overlap}) driven directly: a copy damaged while the
 * source's checksum trails the transfer is caught before the rename, a stop cancels the
 * helpers, a background force's error reaches the committing thread.
 */
class OverlapTest {
    private static final int LENGTH = (3 << 20) + 12_345; // several 256 KiB chunks and a ragged tail
    private static final long CHUNK = 256 * 1024;

    @TempDir
    Path tmp;

    private ShipFile source() throws IOException {
        byte[] b = new byte[LENGTH];
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < b.length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        Path p = tmp.resolve("data/commitlog/00000000000000000000");
        Files.createDirectories(p.getParent());
        Files.write(p, b);
        return new ShipFile("commitlog/00000000000000000000", p, LENGTH, ShipFile.Kind.SEGMENT);
    }

    private static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    /** Flips one byte of the part through another channel, as a faulty disk or a stray writer would. */
    private static void damage(Path part, long at) {
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x40)).rewind();
            ch.write(one, at);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aCopyDamagedDuringTheTransferIsCaughtBeforeTheRename() throws Exception {
        ShipFile f = source();
        byte[] original = Files.readAllBytes(f.source());
        Path archive = tmp.resolve("archive");
        Path part = archive.resolve(f.name() + ArchiveDir.PART_SUFFIX);
        // early: the first chunk, long before the source's checksum is done; late: the last byte, after the last chunk
        for (long at : new long[] {1000, LENGTH - 1}) {
            Transfer transfer = new Transfer(CHUNK, 0, Clock.systemUTC(), new StopSignal());
            try (DirectoryTarget target = new DirectoryTarget(archive, transfer, true);
                 FileChannel src = FileChannel.open(f.source(), StandardOpenOption.READ)) {
                long[] moved = {0};
                ShipTarget.Outcome o = target.ship(f, src, n -> {
                    moved[0] += n;
                    if (moved[0] > at && moved[0] - n <= at) {
                        damage(part, at); // right after the chunk holding byte `at` arrived
                    }
                });
                byte[] damaged = original.clone();
                damaged[(int) at] ^= 0x40;
                assertThat(o).as("damage at byte %d", at).isEqualTo(new ShipTarget.Outcome.Mismatch(crc(original), crc(damaged)));
                assertThat(part).as("the damaged part is deleted").doesNotExist();
                assertThat(archive.resolve(f.name())).as("never renamed").doesNotExist();
                assertThat(target.archive().manifest().get(f.name())).as("never listed").isEmpty();
            }
        }
        // the retry, undisturbed, ships it
        Transfer transfer = new Transfer(CHUNK, 0, Clock.systemUTC(), new StopSignal());
        try (DirectoryTarget target = new DirectoryTarget(archive, transfer, true);
             FileChannel src = FileChannel.open(f.source(), StandardOpenOption.READ)) {
            ShipTarget.Outcome o = target.ship(f, src, n -> { });
            assertThat(o).isEqualTo(new ShipTarget.Outcome.Shipped(LENGTH, 0, OptionalInt.of(crc(original))));
            assertThat(Files.readAllBytes(archive.resolve(f.name()))).isEqualTo(original);
            assertThat(target.archive().manifest().get(f.name()).orElseThrow().crc()).hasValue(crc(original));
        }
    }

    @Test
    void withoutForceNothingIsForcedButADamagedCopyIsStillCaughtBeforeTheRename() throws Exception {
        ShipFile f = source();
        byte[] original = Files.readAllBytes(f.source());
        Path archive = tmp.resolve("archive");
        Path part = archive.resolve(f.name() + ArchiveDir.PART_SUFFIX);
        long at = LENGTH - 1; // the last byte: damaged after the transfer's last chunk, before the read-back
        Transfer transfer = new Transfer(CHUNK, 0, Clock.systemUTC(), new StopSignal());
        try (DirectoryTarget target = new DirectoryTarget(archive, transfer, true, false);
             FileChannel src = FileChannel.open(f.source(), StandardOpenOption.READ)) {
            assertThat(target.archive().forces()).isFalse();
            try (FileChannel any = FileChannel.open(f.source(), StandardOpenOption.READ)) {
                assertThat(target.archive().flusher(any)).as("no background forces").isSameAs(Overlap.Flusher.NONE);
            }
            long[] moved = {0};
            ShipTarget.Outcome o = target.ship(f, src, n -> {
                moved[0] += n;
                if (moved[0] > at && moved[0] - n <= at) {
                    damage(part, at);
                }
            });
            byte[] damaged = original.clone();
            damaged[(int) at] ^= 0x40;
            assertThat(o).isEqualTo(new ShipTarget.Outcome.Mismatch(crc(original), crc(damaged)));
            assertThat(part).as("the damaged part is deleted").doesNotExist();
            assertThat(archive.resolve(f.name())).as("never renamed").doesNotExist();
            assertThat(target.archive().manifest().get(f.name())).as("never listed").isEmpty();

            ShipTarget.Outcome again = target.ship(f, src, n -> { });
            assertThat(again).isEqualTo(new ShipTarget.Outcome.Shipped(LENGTH, 0, OptionalInt.of(crc(original))));
            assertThat(Files.readAllBytes(archive.resolve(f.name()))).isEqualTo(original);
            assertThat(target.archive().manifest().get(f.name()).orElseThrow().crc()).hasValue(crc(original));
        }
    }

    @Test
    void aStopMidFileCancelsTheTrailingChecksumAndTheResumeVerifiesTheWholeFile() throws Exception {
        ShipFile f = source();
        byte[] original = Files.readAllBytes(f.source());
        Path archive = tmp.resolve("archive");
        StopSignal stop = new StopSignal();
        Transfer transfer = new Transfer(CHUNK, 0, Clock.systemUTC(), stop);
        long reached;
        try (DirectoryTarget target = new DirectoryTarget(archive, transfer, true);
             FileChannel src = FileChannel.open(f.source(), StandardOpenOption.READ)) {
            long[] moved = {0};
            long t0 = System.nanoTime();
            ShipTarget.Outcome o = target.ship(f, src, n -> {
                if ((moved[0] += n) >= 2 * CHUNK) {
                    stop.stop();
                }
            });
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("the stop is prompt").isLessThan(Duration.ofSeconds(5));
            assertThat(o).isInstanceOf(ShipTarget.Outcome.Stopped.class);
            reached = ((ShipTarget.Outcome.Stopped) o).position();
            assertThat(reached).isEqualTo(2 * CHUNK);
        }
        Path part = archive.resolve(f.name() + ArchiveDir.PART_SUFFIX);
        assertThat(Files.size(part)).isEqualTo(reached);
        damage(part, 10); // inside the kept prefix, which the resume does not send again

        Transfer again = new Transfer(CHUNK, 0, Clock.systemUTC(), new StopSignal());
        try (DirectoryTarget target = new DirectoryTarget(archive, again, true);
             FileChannel src = FileChannel.open(f.source(), StandardOpenOption.READ)) {
            ShipTarget.Outcome o = target.ship(f, src, n -> { });
            assertThat(o).as("the whole-file checksum covers the kept prefix").isInstanceOf(ShipTarget.Outcome.Mismatch.class);
            o = target.ship(f, src, n -> { });
            assertThat(o).isEqualTo(new ShipTarget.Outcome.Shipped(LENGTH, 0, OptionalInt.of(crc(original))));
            assertThat(Files.readAllBytes(archive.resolve(f.name()))).isEqualTo(original);
        }
    }

    @Test
    void theTrailingChecksumWaitsForTheWatermarkAndStopsWhenCancelled() throws Exception {
        ShipFile f = source();
        byte[] original = Files.readAllBytes(f.source());
        try (Overlap overlap = new Overlap("test");
             FileChannel src = FileChannel.open(f.source(), StandardOpenOption.READ)) {
            Overlap.Watermark w = new Overlap.Watermark(0);
            Overlap.Sum sum = overlap.crc32c(src, LENGTH, w);
            for (long p = 0; p < LENGTH; p += 100_000) {
                w.advance(p);
            }
            w.advance(LENGTH);
            assertThat(sum.await()).isEqualTo(crc(original));

            Overlap.Watermark never = new Overlap.Watermark(1000);
            Overlap.Sum stuck = overlap.crc32c(src, LENGTH, never);
            long t0 = System.nanoTime();
            stuck.cancel(); // returns once the helper let go of the channel
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(never.isCancelled()).isTrue();

            Overlap.Sum tooLong = overlap.crc32c(src, LENGTH + 1L, new Overlap.Watermark(LENGTH + 1L));
            assertThatThrownBy(tooLong::await).isInstanceOf(IOException.class).hasMessageContaining("expected: at least");
        }
    }

    @Test
    void anErrorOfABackgroundForceReachesTheCommittingThread() throws Exception {
        Path p = tmp.resolve("f");
        Files.write(p, new byte[10]);
        AtomicInteger forces = new AtomicInteger();
        try (Overlap overlap = new Overlap("test");
             FileChannel real = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileChannel failing = new FailingForce(real, forces)) {
            Overlap.Flusher flusher = overlap.flusher(failing);
            flusher.dirty();
            ShipTestSupport.await(Duration.ofSeconds(10), "the background force", () -> forces.get() > 0);
            // Linux reports a write-back error to each open file once: the flusher's is the only report
            assertThatThrownBy(flusher::finish).isInstanceOf(IOException.class)
                    .hasMessageContaining("background force of the copy failed").hasRootCauseMessage("injected EIO");
            flusher.cancel(); // idempotent
        }
    }

    /** A file channel whose force fails; nothing else is used by the flusher. */
    private static final class FailingForce extends FileChannel {
        private final FileChannel real;
        private final AtomicInteger forces;

        FailingForce(FileChannel real, AtomicInteger forces) {
            this.real = real;
            this.forces = forces;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            forces.incrementAndGet();
            throw new IOException("injected EIO");
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return real.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return real.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return real.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return real.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return real.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            real.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            real.truncate(size);
            return this;
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return real.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return real.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return real.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            return real.write(src, position);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return real.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return real.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return real.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() {
            // the real channel is closed by its own try-with-resources
        }
    }
}
