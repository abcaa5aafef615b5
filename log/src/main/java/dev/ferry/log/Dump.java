package dev.ferry.log;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Renders a storage file as text, one line per record or entry: the {@code ferry dump} command,
 * golden-file tests and bug reports use it. Reads the file read-only; never changes it.
 */
public final class Dump {
    private Dump() {}

    /** Prints every record of a commit-log segment file, and where and why the data ends. */
    public static void segment(Path file, PrintStream out) {
        long base = Long.parseLong(file.getFileName().toString());
        MappedByteBuffer map = mapReadOnly(file);
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
    }

    /** Prints the header and the written entries of an offset-index file. */
    public static void index(Path file, PrintStream out) {
        MappedByteBuffer map = mapReadOnly(file);
        if (map.capacity() < OffsetIndex.HEADER_SIZE) {
            out.printf("%s: %d bytes, shorter than the %d-byte header%n", file, map.capacity(), OffsetIndex.HEADER_SIZE);
            return;
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
        }
        out.printf("%d entries (capacity %d)%n", written, entries);
    }

    private static MappedByteBuffer mapReadOnly(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

}
