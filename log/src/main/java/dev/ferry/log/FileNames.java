package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Segment file naming (20-digit zero-padded base offset) and directory durability helpers. */
final class FileNames {
    private FileNames() {}

    static String name(long baseOffset) {
        return String.format("%020d", baseOffset);
    }

    static boolean isSegmentName(String name) {
        return name.length() == 20 && name.chars().allMatch(Character::isDigit);
    }

    /** Base offsets of the segment files in {@code dir}, ascending; leftover temp files are deleted. */
    static List<Long> list(Path dir) {
        List<Long> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (isSegmentName(n)) {
                    out.add(Long.parseLong(n));
                } else if (n.endsWith(".tmp")) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(null);
        return out;
    }

    /** Makes a directory entry (a created, renamed or deleted file) durable. */
    /**
     * Replaces {@code dir/file} with {@code content} so that it is always the old or the new whole
     * file, and durable when this returns: written to {@code file.tmp}, forced, renamed over it, and
     * {@code dir} forced (the rename is a change of the folder).
     */
    static void replaceAtomically(Path dir, String file, java.nio.ByteBuffer content) {
        Path tmp = dir.resolve(file + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            while (content.hasRemaining()) {
                ch.write(content);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + tmp + ": " + e, e);
        }
        try {
            Files.move(tmp, dir.resolve(file), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rename " + tmp + ": " + e, e);
        }
        fsyncDirectory(dir);
    }

    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("fsync of directory " + dir, e);
        }
    }
}
