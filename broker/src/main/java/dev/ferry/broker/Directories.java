package dev.ferry.broker;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Forcing a folder's entries to disk. A file created or renamed into place is only durable once
 * its folder is forced too: until then a power loss can take the new name away (the file is
 * gone, or the old one is back) although its bytes were forced. The broker's metadata files are
 * written to a temp file, forced, renamed, then their folder forced with {@link #force}.
 */
final class Directories {
    private Directories() {
    }

    /**
     * Creates {@code dir} and its missing parents, and forces the folder each new one was made in:
     * a folder created and not forced can vanish in a power loss with everything written into it
     * since.
     */
    static void create(Path dir) throws IOException {
        Path target = dir.toAbsolutePath();
        Path existing = target;
        while (existing != null && !Files.isDirectory(existing)) {
            existing = existing.getParent();
        }
        Files.createDirectories(target);
        for (Path p = target; p != null && !p.equals(existing); p = p.getParent()) {
            force(p.getParent());
        }
    }

    /** Forces {@code dir}'s entries (its files' names) to disk. */
    static void force(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /**
     * Replaces {@code path} with {@code content}, so that after a crash it holds either the old or
     * the new bytes, whole: written to {@code path.tmp}, forced, renamed over {@code path}, then the
     * folder forced.
     */
    static void replaceAtomically(Path path, ByteBuffer content) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            while (content.hasRemaining()) {
                ch.write(content);
            }
            ch.force(true);
        }
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        force(path.getParent());
    }
}
