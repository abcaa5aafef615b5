package dev.ferry.connect.ship;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * Ships into a local archive directory (another disk, an NFS mount): {@code sendfile} from the
 * segment into {@code NAME.part}, then the {@link ArchiveDir} commit rule.
 *
 * <p>Three things run next to the copy on helper threads ({@link Overlap}): the CRC32C of the
 * source, trailing {@code sendfile} through the same page-cache pages; forces of the part
 * while it grows, so the disk writes it back during the transfer; and, once all bytes are in,
 * the read-back of the copy for its CRC32C while this thread forces the part a last time. The
 * rename waits for the last force and both checksums. On the 2-core build VM that brought
 * verified shipping from 0.61-0.77 to 0.98-1.29 of {@code cp} + {@code sync}
 * ({@link ShipBenchmark}, docs/CONNECTORS.md "Performance").
 *
 * <p>With {@code force=false} nothing is forced (no flusher, no final force, no directory or
 * manifest fsync: {@link ArchiveDir#ArchiveDir(Path, boolean)}), and the copy's checksum trails
 * the transfer like the source's, on its own {@link Overlap.Watermark}; the rename still waits
 * for both checksums.
 *
 * <p><b>Thread safety.</b> As {@link ShipTarget}: one shipping thread.
 */
final class DirectoryTarget implements ShipTarget {
    private final ArchiveDir archive;
    private final Transfer transfer;
    private final boolean verify;

    DirectoryTarget(Path dir, Transfer transfer, boolean verify) throws IOException {
        this(dir, transfer, verify, true);
    }

    /** @param force {@code false}: no fsync at all, like {@code cp} (see {@link ArchiveDir#ArchiveDir(Path, boolean)}) */
    DirectoryTarget(Path dir, Transfer transfer, boolean verify, boolean force) throws IOException {
        this.archive = new ArchiveDir(dir, force);
        this.transfer = transfer;
        this.verify = verify;
    }

    ArchiveDir archive() {
        return archive;
    }

    @Override
    public Outcome ship(ShipFile file, FileChannel source, LongConsumer moved) throws IOException, InterruptedException {
        ArchiveDir.Status status = archive.status(file.name(), file.length());
        if (status instanceof ArchiveDir.Status.Different d) {
            throw ForeignArchiveException.length(describe(), file.name(), d.entry().length(), file.length());
        }
        if (status instanceof ArchiveDir.Status.Have have) {
            // same name and length proves little (segments all have the same length): with verify, the checksum must agree
            if (verify && have.entry().crc().isPresent()) {
                int sourceCrc = new Checksums().crc32c(source, file.length());
                if (sourceCrc != have.entry().crc().getAsInt()) {
                    throw new ForeignArchiveException(describe(), file.name(), have.entry().crc().getAsInt(), sourceCrc);
                }
            }
            return new Outcome.AlreadyThere();
        }
        long offset = ((ArchiveDir.Status.Resume) status).offset();
        Overlap overlap = archive.overlap();
        // the source's checksum trails the copy on a helper thread ([0, offset), kept from before, at once)
        Overlap.Watermark copied = new Overlap.Watermark(offset);
        Overlap.Sum sourceSum = verify ? overlap.crc32c(source, file.length(), copied) : null;
        try (FileChannel part = archive.openPart(file.name())) {
            // force=false: there is no final force to hide the read-back behind, so the copy's checksum
            // trails the transfer too, reading each range of the part back from the page cache once sendfile
            // wrote it (its own watermark: cancelling one sum must not cancel the other)
            Overlap.Watermark written = new Overlap.Watermark(offset);
            Overlap.Sum copySum = verify && !archive.forces() ? overlap.crc32c(part, file.length(), written) : null;
            try {
                return finish(file, part, source, offset, copied, written, sourceSum, copySum, moved);
            } finally {
                if (copySum != null) {
                    copySum.cancel(); // before the part is closed
                }
            }
        } finally {
            if (sourceSum != null) {
                sourceSum.cancel(); // a no-op once it ended; else (stopped, failed) it lets go of the source first
            }
        }
    }

    private Outcome finish(ShipFile file, FileChannel part, FileChannel source, long offset, Overlap.Watermark copied,
                           Overlap.Watermark written, Overlap.Sum sourceSum, Overlap.Sum copySum, LongConsumer moved)
            throws IOException, InterruptedException {
        Overlap.Flusher flusher = archive.flusher(part);
        try {
            part.position(offset);
            long[] position = {offset};
            long reached = transfer.copy(source, offset, file.length(), part, n -> {
                moved.accept(n);
                position[0] += n;
                copied.advance(position[0]);
                written.advance(position[0]);
                if (position[0] < file.length()) {
                    flusher.dirty(); // not after the last bytes: the final force below covers them
                }
            });
            if (reached < file.length()) {
                return new Outcome.Stopped(reached); // the part is kept unforced, as before: a resume re-verifies it
            }
            flusher.finish();
        } finally {
            flusher.cancel();
        }
        Optional<ArchiveDir.ExpectedCrc> expected = verify ? Optional.of(sourceSum::await) : Optional.empty();
        ArchiveDir.Completion done = archive.complete(part, file.name(), file.length(), expected, copySum);
        if (done instanceof ArchiveDir.Completion.Mismatch m) {
            return new Outcome.Mismatch(m.expected(), m.actual());
        }
        return new Outcome.Shipped(file.length() - offset, offset, ((ArchiveDir.Completion.Done) done).crc());
    }

    @Override
    public void discard(String name) throws IOException {
        archive.discard(name);
    }

    @Override
    public List<String> partNames() throws IOException {
        return archive.partNames();
    }

    @Override
    public boolean stillHas(ShipFile file) throws IOException {
        return archive.has(file.name(), file.length());
    }

    @Override
    public String describe() {
        return "directory " + archive.root();
    }

    @Override
    public void close() throws IOException {
        archive.close();
    }
}
