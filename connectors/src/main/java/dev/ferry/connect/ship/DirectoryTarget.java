package dev.ferry.connect.ship;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.function.LongConsumer;

/**
 * Ships into a local archive directory (another disk, an NFS mount): {@code sendfile} from the
 * segment into {@code NAME.part}, then the {@link ArchiveDir} commit rule.
 *
 * <p><b>Thread safety.</b> As {@link ShipTarget}: one shipping thread.
 */
final class DirectoryTarget implements ShipTarget {
    private final ArchiveDir archive;
    private final Transfer transfer;
    private final boolean verify;
    private final Checksums checksums = new Checksums();

    DirectoryTarget(Path dir, Transfer transfer, boolean verify) throws IOException {
        this.archive = new ArchiveDir(dir);
        this.transfer = transfer;
        this.verify = verify;
    }

    ArchiveDir archive() {
        return archive;
    }

    @Override
    public Outcome ship(ShipFile file, FileChannel source, LongConsumer moved) throws IOException, InterruptedException {
        ArchiveDir.Status status = archive.status(file.name(), file.length());
        if (status instanceof ArchiveDir.Status.Have) {
            return new Outcome.AlreadyThere();
        }
        long offset = ((ArchiveDir.Status.Resume) status).offset();
        try (FileChannel part = archive.openPart(file.name())) {
            part.position(offset);
            long reached = transfer.copy(source, offset, file.length(), part, moved);
            if (reached < file.length()) {
                return new Outcome.Stopped(reached);
            }
        }
        OptionalInt expected = verify ? OptionalInt.of(checksums.crc32c(source, file.length())) : OptionalInt.empty();
        ArchiveDir.Completion done = archive.complete(file.name(), file.length(), expected);
        if (done instanceof ArchiveDir.Completion.Mismatch m) {
            return new Outcome.Mismatch(m.expected(), m.actual());
        }
        return new Outcome.Shipped(file.length() - offset, offset, ((ArchiveDir.Completion.Done) done).crc());
    }

    @Override
    public void discard(ShipFile file) throws IOException {
        archive.discard(file.name());
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
