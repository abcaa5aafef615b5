package dev.ferry.connect.ship;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.OptionalInt;

/**
 * The receiving end of shipping, shared by the directory target and the socket receiver: an
 * archive directory laid out like a broker's data directory, plus a {@link Manifest}.
 *
 * <pre>
 * ARCHIVE/MANIFEST                                 shipped files, length, CRC32C ({@link Manifest})
 * ARCHIVE/commitlog/NNNNNNNNNNNNNNNNNNNN           sealed segments, byte-identical to the broker's
 * ARCHIVE/index/TOPIC/QUEUE/NNNNNNNNNNNNNNNNNNNN   sealed offset-index files
 * ARCHIVE/keyindex/NNNNNNNNNNNNNNNNNNNN            sealed key-index files
 * ARCHIVE/.../NAME.part                            a file being received; its length is where a resume starts
 * </pre>
 *
 * <p><b>Commit rule.</b> A file is in the archive once it has its final name and a manifest
 * line. Bytes go to {@code NAME.part}; when all have arrived the part is forced, its CRC32C
 * compared with the source's (unless verification is off), renamed atomically to {@code NAME},
 * the directory fsynced, and only then the manifest line appended and forced. A crash at any
 * step leaves either a {@code .part} (resumed from its length, re-verified as a whole) or a
 * final file without a line (turned back into a {@code .part} and verified again).
 *
 * <p><b>Thread safety.</b> Not thread-safe: one shipping task or one receiver connection at a
 * time writes an archive directory.
 */
final class ArchiveDir implements Closeable {
    static final String PART_SUFFIX = ".part";

    /** Where a file stands in the archive. */
    sealed interface Status {
        /** Shipped before: final file and manifest line agree on the length. */
        record Have(Manifest.Entry entry) implements Status {}

        /** Not there yet: send from {@code offset} (the length of the existing part, or 0). */
        record Resume(long offset) implements Status {}
    }

    /** How finishing a part ended. */
    sealed interface Completion {
        /** Verified (crc present) or unverified (crc empty), renamed and listed. */
        record Done(OptionalInt crc) implements Completion {}

        /** The part's checksum is not the source's; the part was deleted, a retry starts at 0. */
        record Mismatch(int expected, int actual) implements Completion {}
    }

    private final Path root;
    private final Manifest manifest;
    private final Checksums checksums = new Checksums();

    ArchiveDir(Path root) throws IOException {
        this.root = root;
        this.manifest = Manifest.open(root);
    }

    Path root() {
        return root;
    }

    Manifest manifest() {
        return manifest;
    }

    Path finalPath(String name) {
        return root.resolve(name);
    }

    Path partPath(String name) {
        return root.resolve(name + PART_SUFFIX);
    }

    /** Where {@code name} of {@code length} bytes stands; may turn an unlisted final file back into a part. */
    Status status(String name, long length) throws IOException {
        Path fin = finalPath(name);
        Path part = partPath(name);
        long finalSize = sizeOrMinusOne(fin);
        var entry = manifest.get(name);
        if (entry.isPresent() && entry.get().length() == length && finalSize == length) {
            return new Status.Have(entry.get());
        }
        if (finalSize >= 0) {
            // renamed but not listed (a crash in between), or changed since: verify it again as a part
            Files.move(fin, part, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        long partSize = sizeOrMinusOne(part);
        if (partSize > length) {
            Files.delete(part);
            partSize = -1;
        }
        return new Status.Resume(Math.max(0, partSize));
    }

    /** Opens (creating it and its directories) the part of {@code name} for writing at any position. */
    FileChannel openPart(String name) throws IOException {
        Path part = partPath(name);
        Files.createDirectories(part.getParent());
        return FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /**
     * Finishes a part that should now hold all {@code length} bytes: force, verify against
     * {@code expectedCrc} (if present), rename, fsync the directory, list it.
     *
     * @throws IOException also when the part is shorter than {@code length} (the bytes did not all arrive)
     */
    Completion complete(String name, long length, OptionalInt expectedCrc) throws IOException {
        Path part = partPath(name);
        OptionalInt actual = OptionalInt.empty();
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (ch.size() != length) {
                throw new IOException(part + ": " + ch.size() + " bytes (expected: " + length + ")");
            }
            ch.force(true);
            if (expectedCrc.isPresent()) {
                actual = OptionalInt.of(checksums.crc32c(ch, length));
            }
        }
        if (expectedCrc.isPresent() && actual.getAsInt() != expectedCrc.getAsInt()) {
            Files.delete(part);
            return new Completion.Mismatch(expectedCrc.getAsInt(), actual.getAsInt());
        }
        Path fin = finalPath(name);
        Files.move(part, fin, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(fin.getParent());
        manifest.add(new Manifest.Entry(name, length, actual));
        return new Completion.Done(actual);
    }

    /** Deletes the part of a file that will not come (deleted by retention before it was shipped). */
    void discard(String name) throws IOException {
        Files.deleteIfExists(partPath(name));
    }

    @Override
    public void close() throws IOException {
        manifest.close();
    }

    /** Makes a directory entry (a created, renamed or deleted file) durable. */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static long sizeOrMinusOne(Path p) throws IOException {
        try {
            return Files.size(p);
        } catch (NoSuchFileException e) {
            return -1;
        }
    }
}
