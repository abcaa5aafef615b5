package dev.ferry.log;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Renders a storage file as text, one line per record or entry: the {@code ferry dump} command,
 * golden-file tests and bug reports use it. Reads the file read-only; never changes it.
 *
 * <p>Each stops as soon as {@code out} reports an error ({@link PrintStream#checkError()}): a
 * PrintStream never throws, so {@code ferry dump segment FILE | head} kept rendering all of a
 * 1 GiB segment into the closed pipe after head had exited. The methods answer whether all of
 * the text reached {@code out}.
 */
public final class Dump {
    private Dump() {}

    /**
     * Prints every record of a commit-log segment file, and where and why the data ends; false if
     * {@code out} failed and it stopped early.
     *
     * @throws IllegalArgumentException if the file's name is not a segment's (its base offset)
     * @throws UncheckedIOException if it is missing or cannot be read
     */
    public static boolean segment(Path file, PrintStream out) {
        MappedByteBuffer map = mapReadOnly(file); // first: a missing file is that, whatever its name
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        if (!FileNames.isSegmentName(name)) {
            throw new IllegalArgumentException(file + ": not a segment file name (expected 20 digits, the segment's base offset, "
                    + "as in commitlog/00000000000000000000)");
        }
        long base = Long.parseLong(name);
        int size = map.capacity();
        out.printf("segment %s base=%d size=%d%n", file.getFileName(), base, size);
        int pos = 0;
        long records = 0;
        while (true) {
            RecordCodec.Check c = RecordCodec.check(map, pos, size, base);
            if (c instanceof RecordCodec.Whole w) {
                StoredMessage m = RecordCodec.decode(map, pos);
                out.printf("@%d len=%d topic=%s queue=%d offset=%d flags=0x%x born=%d store=%d tags=%s keys=%s props=%s body=%d%n",
                        base + pos, w.length(), m.topic(), m.queueId(), m.queueOffset(), m.flags(), m.bornTimestamp(),
                        m.storeTimestamp(), m.tags(), m.keys(), m.properties(), m.body().length);
                pos += w.length();
                records++;
                if (out.checkError()) {
                    return false;
                }
            } else if (c instanceof RecordCodec.EndOfSegment) {
                out.printf("@%d end-of-segment marker (%d bytes left)%n", base + pos, size - pos);
                break;
            } else if (c instanceof RecordCodec.EndOfData) {
                out.printf("@%d end of data%n", base + pos);
                break;
            } else if (c instanceof RecordCodec.Torn t) {
                out.printf("@%d TORN: %s%n", base + pos, t.reason());
                break;
            }
        }
        out.printf("%d records%n", records);
        return !out.checkError();
    }

    /**
     * Prints the header and the written entries of an offset-index file; false if {@code out}
     * failed and it stopped early.
     *
     * @throws IllegalArgumentException if the file's header is not an offset index's (magic, version), or
     *     the file is shorter than the header
     * @throws UncheckedIOException if the file is missing or cannot be read
     */
    public static boolean index(Path file, PrintStream out) {
        MappedByteBuffer map = mapReadOnly(file);
        if (map.capacity() < OffsetIndex.HEADER_SIZE) { // an error, not a dump: nothing of an index was printed
            throw new IllegalArgumentException(file + ": " + map.capacity() + " bytes, shorter than an offset index's "
                    + OffsetIndex.HEADER_SIZE + "-byte header (expected: an offset-index file, as in index/TOPIC/QUEUE/00000000000000000000)");
        }
        if (map.getInt(0) != OffsetIndex.MAGIC || map.getShort(4) != OffsetIndex.VERSION) { // a segment, a key index, ...
            throw new IllegalArgumentException(String.format("%s: not an offset-index file (magic 0x%x version %d, expected: magic 0x%x"
                    + " version %d, as in index/TOPIC/QUEUE/00000000000000000000)", file, map.getInt(0), map.getShort(4),
                    OffsetIndex.MAGIC, OffsetIndex.VERSION));
        }
        long base = map.getLong(8);
        out.printf("index %s magic=0x%x version=%d base=%d%n", file.getFileName(), map.getInt(0), map.getShort(4), base);
        int entries = (map.capacity() - OffsetIndex.HEADER_SIZE) / OffsetIndex.ENTRY_SIZE;
        int written = 0;
        for (int i = 0; i < entries; i++) {
            int p = OffsetIndex.HEADER_SIZE + i * OffsetIndex.ENTRY_SIZE;
            int size = map.getInt(p + OffsetIndex.ENTRY_SIZE_OFFSET);
            if (size <= 0) {
                break;
            }
            out.printf("offset=%d physical=%d size=%d tagHash=0x%x%n", base + i, map.getLong(p + OffsetIndex.ENTRY_PHYSICAL_OFFSET),
                    size, map.getLong(p + OffsetIndex.ENTRY_TAG_HASH_OFFSET));
            written++;
            if (out.checkError()) {
                return false;
            }
        }
        out.printf("%d entries (capacity %d)%n", written, entries);
        return !out.checkError();
    }

    private static MappedByteBuffer mapReadOnly(Path file) {
        if (Files.isDirectory(file)) {
            throw new UncheckedIOException(file + ": is a directory, not a file", new IOException("is a directory"));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new UncheckedIOException(file + ": permission denied", e);
        } catch (IOException e) {
            if (throughARegularFile(file)) {
                // ENOTDIR ("Not a directory"): the file cannot exist, as with a missing folder on its way
                throw new UncheckedIOException(file + ": no such file", new NoSuchFileException(file.toString(), null, e.getMessage()));
            }
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether one of the folders on {@code file}'s way is a regular file ({@code seg.bak/000...}):
     * such a file does not exist, and is reported as missing rather than as the system's "Not a directory".
     */
    private static boolean throughARegularFile(Path file) {
        for (Path p = file.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p)) {
                return true;
            }
        }
        return false;
    }

}
