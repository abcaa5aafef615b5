package dev.ferry.connect.ship;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

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
 * the directory fsynced, and only then the manifest line appended and forced. (The force and
 * the read-back for the checksum run at the same time on two threads, and write-back may have
 * started earlier ({@link Overlap.Flusher}); the rename waits for both to end.) A crash at any
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

        /**
         * The manifest lists the name with another length: another store's file (sealed files never
         * change size). Nothing was touched; the caller fails with a {@link ForeignArchiveException}.
         */
        record Different(Manifest.Entry entry) implements Status {}
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
    private final Overlap overlap = new Overlap("archive-verify");
    private final boolean force;

    ArchiveDir(Path root) throws IOException {
        this(root, true);
    }

    /**
     * @param force {@code true}: the commit rule as stated above, every step forced.
     *              {@code false} ({@code force=false} of the connectors): no fsync at all, like
     *              {@code cp} — no background forces ({@link #flusher} does nothing), no final
     *              force of the part, no directory fsync after the rename, no force of the
     *              manifest line (nor of the manifest's creation or repair); the checksum is
     *              still compared (the copy read back from the page cache) before the rename
     */
    ArchiveDir(Path root, boolean force) throws IOException {
        this.root = root;
        this.force = force;
        this.manifest = Manifest.open(root, force);
    }

    /** Whether this archive forces what it writes ({@code force} setting). */
    boolean forces() {
        return force;
    }

    /**
     * Background write-back of a part while it is written ({@link Overlap.Flusher}), or, with
     * {@code force=false}, a flusher that never forces anything.
     */
    Overlap.Flusher flusher(FileChannel part) {
        return force ? overlap.flusher(part) : Overlap.Flusher.NONE;
    }

    /** The helper threads of whoever writes this archive (checksums, background forces). */
    Overlap overlap() {
        return overlap;
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

    /**
     * Where {@code name} of {@code length} bytes stands; may turn an unlisted final file (or one
     * shorter or longer than its line) back into a part. A line of another length is
     * {@link Status.Different}: the archive is left as it is.
     */
    Status status(String name, long length) throws IOException {
        Path fin = finalPath(name);
        Path part = partPath(name);
        long finalSize = sizeOrMinusOne(fin);
        var entry = manifest.get(name);
        if (entry.isPresent() && entry.get().length() != length) {
            // a sealed file never changes size: the archive holds (or held) another store's file of this name
            return new Status.Different(entry.get());
        }
        if (entry.isPresent() && finalSize == length) {
            return new Status.Have(entry.get());
        }
        if (finalSize >= 0) {
            // renamed but not listed (a crash in between), or damaged since (force=false): verify it again as a part
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

    /** The checksum a part must have: the sender's, read from the socket, or the source's, from a helper thread. */
    @FunctionalInterface
    interface ExpectedCrc {
        int await() throws IOException, InterruptedException;
    }

    /**
     * Finishes a part that should now hold all {@code length} bytes: force, verify against
     * {@code expected} (if present), rename, fsync the directory, list it (with {@code force=false}:
     * verify, rename, list, none of it forced). The force runs on
     * this thread while a helper reads the copy back for its checksum ({@link Overlap}); the
     * rename waits for both, and for {@code expected}.
     *
     * @param part the channel the bytes were written through (opened by {@link #openPart}):
     *             its force reports any write-back error since it was opened
     * @throws IOException also when the part is shorter than {@code length} (the bytes did not all arrive)
     */
    Completion complete(FileChannel part, String name, long length, Optional<ExpectedCrc> expected)
            throws IOException, InterruptedException {
        return complete(part, name, length, expected, null);
    }

    /**
     * As {@link #complete(FileChannel, String, long, Optional)}, with the copy's checksum already
     * started by the caller ({@code started}, trailing the transfer: the directory target with
     * {@code force=false}); {@code null}: started here, during the final force. Either way the
     * rename waits for it; it is cancelled when this returns.
     */
    Completion complete(FileChannel part, String name, long length, Optional<ExpectedCrc> expected, Overlap.Sum started)
            throws IOException, InterruptedException {
        if (part.size() != length) {
            throw new IOException(partPath(name) + ": " + part.size() + " bytes (expected: " + length + ")");
        }
        OptionalInt actual = OptionalInt.empty();
        int wanted = 0;
        if (started != null && expected.isEmpty()) {
            started.cancel();
        }
        Overlap.Sum copySum = expected.isEmpty() ? null : started != null ? started : overlap.crc32c(part, length);
        try {
            if (force) {
                part.force(true);
            }
            if (copySum != null) {
                wanted = expected.get().await();
                actual = OptionalInt.of(copySum.await());
            }
        } finally {
            if (copySum != null) {
                copySum.cancel(); // a no-op once it ended; else (an error above) stops it before the part is closed
            }
        }
        if (actual.isPresent() && actual.getAsInt() != wanted) {
            Files.delete(partPath(name));
            return new Completion.Mismatch(wanted, actual.getAsInt());
        }
        Path fin = finalPath(name);
        Files.move(partPath(name), fin, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (force) {
            fsyncDirectory(fin.getParent());
        }
        manifest.add(new Manifest.Entry(name, length, actual));
        return new Completion.Done(actual);
    }

    /** Deletes the part of a file that will not come (deleted by retention before it was shipped). */
    void discard(String name) throws IOException {
        Files.deleteIfExists(partPath(name));
    }

    /**
     * Whether {@code name} of {@code length} bytes is in the archive as {@link #status} would find
     * it ({@link Status.Have}): a manifest line of that length and a final file of that length. A
     * stat and a map lookup; changes nothing.
     */
    boolean has(String name, long length) throws IOException {
        var entry = manifest.get(name);
        return entry.isPresent() && entry.get().length() == length && sizeOrMinusOne(finalPath(name)) == length;
    }

    /** The names ({@link ShipFile#name()}) of every {@code .part} in the archive, in no particular order. */
    List<String> partNames() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().endsWith(PART_SUFFIX) && Files.isRegularFile(p))
                    .map(p -> {
                        String relative = root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                        return relative.substring(0, relative.length() - PART_SUFFIX.length());
                    })
                    .filter(ShipFile::isValidName)
                    .toList();
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause(); // a directory that vanished or cannot be read during the walk
        }
    }

    @Override
    public void close() throws IOException {
        overlap.close();
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
