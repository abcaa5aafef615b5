package dev.ferry.connect.ship;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The archive's {@code MANIFEST}: which files were shipped completely, with their length and
 * checksum. A file is in the archive when its line is here <em>and</em> the file has that
 * length; a line is appended (and forced) only after the file was verified, forced and renamed
 * to its final name.
 *
 * <p>Format: UTF-8 text, {@code \n} after every line, append-only.
 * <pre>
 * line 1        "ferry-ship-manifest 1"                     magic word and format version
 * every other   NAME ' ' LENGTH ' ' CRC                      one shipped file
 *   NAME        relative path, as in the data directory ({@link ShipFile#name()})
 *   LENGTH      decimal byte count
 *   CRC         CRC32C of the whole file as 8 lower-case hex digits, or "-" when shipped with verify=false
 * </pre>
 * A file shipped again (after an operator deleted it from the archive) gets a second line; the
 * last line for a name wins. A last line without its {@code \n} (a crash while appending) is
 * ignored and cut off when the manifest is opened (an append that fails part-way is cut off at
 * once, {@link #write}), as is everything from a first NUL byte on
 * (a tail that never reached the disk: see {@code force=false}); dropping lines is always safe,
 * a listed-no-more final file is verified again.
 *
 * <p><b>Thread safety.</b> Methods are synchronized; one archive directory must not be written
 * by two processes (there is no file lock).
 */
final class Manifest {
    /** Loaded only when there is something to log, so the manifest works without slf4j (ShipBenchmark, ArchiveCheck). */
    private static final class Log {
        static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Manifest.class);
    }
    static final String FILE = "MANIFEST";
    static final String HEADER = "ferry-ship-manifest 1";
    static final String NO_CRC = "-";

    /** One shipped file; {@code crc} is empty when it was shipped without verification. */
    record Entry(String name, long length, OptionalInt crc) {
        String line() {
            return name + ' ' + length + ' ' + (crc.isPresent() ? Checksums.hex(crc.getAsInt()) : NO_CRC) + '\n';
        }
    }

    private final Path path;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final FileChannel channel;
    private final boolean force;

    private Manifest(Path path, FileChannel channel, boolean force) {
        this.path = path;
        this.channel = channel;
        this.force = force;
    }

    /** Opens (or creates) the manifest of {@code archive}, dropping a torn last line; every write is forced. */
    /**
     * The manifest's content is not a manifest (a wrong first line, a line not NAME LENGTH CRC): no
     * retry reads it better, so the shipping task fails on it rather than retrying every interval.
     */
    static final class DamagedException extends IOException {
        DamagedException(String message) {
            super(message);
        }

        DamagedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static Manifest open(Path archive) throws IOException {
        return open(archive, true);
    }

    /**
     * Opens (or creates) the manifest of {@code archive}, dropping a torn last line.
     *
     * @param force force every write (and fsync the directory when creating it); {@code false}
     *              leaves all of that to the OS's write-back ({@code force=false} of the connectors)
     */
    static Manifest open(Path archive, boolean force) throws IOException {
        Files.createDirectories(archive);
        Path path = archive.resolve(FILE);
        boolean created = !Files.exists(path);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Manifest m = new Manifest(path, ch, force);
        try {
            if (created || ch.size() == 0) {
                m.write(HEADER + '\n');
                if (force) {
                    ArchiveDir.fsyncDirectory(archive);
                }
                return m;
            }
            byte[] bytes = Files.readAllBytes(path);
            int end = usableLength(bytes);
            if (end < bytes.length) {
                if (indexOf(bytes, (byte) 0) >= 0) {
                    Log.LOG.warn("{}: cut after its last complete line before a NUL byte ({} bytes dropped): a tail the OS had "
                            + "not written back before a crash (force=false?); files listed there are verified again",
                            path, bytes.length - end);
                }
                ch.truncate(end);
                if (force) {
                    ch.force(true);
                }
                if (end == 0) {
                    // nothing of it reached the disk, its first line neither: a manifest not yet written, not a damaged one
                    m.write(HEADER + '\n');
                    return m;
                }
            }
            m.entries.putAll(parseAll(path, bytes, end));
            ch.position(ch.size());
            return m;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Reads the manifest of {@code archive} without changing it (for checks of an archive no
     * connector writes): the entries, last line per name, as {@link #open} would see them.
     */
    static Map<String, Entry> read(Path archive) throws IOException {
        Path path = archive.resolve(FILE);
        byte[] bytes = Files.readAllBytes(path);
        return parseAll(path, bytes, usableLength(bytes));
    }

    /**
     * How much of a manifest's bytes counts: up to its last {@code \n}, and before its first NUL
     * byte (a tail whose length reached the disk but whose bytes did not, after a power loss
     * without forces; some filesystems show those as zeros).
     */
    private static int usableLength(byte[] bytes) {
        int nul = indexOf(bytes, (byte) 0);
        int limit = nul >= 0 ? nul : bytes.length;
        for (int i = limit - 1; i >= 0; i--) {
            if (bytes[i] == '\n') {
                return i + 1;
            }
        }
        return 0;
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static Map<String, Entry> parseAll(Path path, byte[] bytes, int end) throws IOException {
        String[] lines = new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n");
        if (lines.length == 0 || !lines[0].equals(HEADER)) {
            throw new DamagedException(path + ": first line: '" + (lines.length == 0 ? "" : lines[0])
                    + "' (expected: '" + HEADER + "')");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            Entry e = parse(path, i + 1, lines[i]);
            entries.put(e.name(), e);
        }
        return entries;
    }

    private static Entry parse(Path path, int lineNumber, String line) throws IOException {
        String[] f = line.split(" ");
        try {
            if (f.length != 3 || !ShipFile.isValidName(f[0])) {
                throw new IllegalArgumentException("3 fields NAME LENGTH CRC");
            }
            OptionalInt crc = f[2].equals(NO_CRC) ? OptionalInt.empty() : OptionalInt.of(Integer.parseUnsignedInt(f[2], 16));
            return new Entry(f[0], Long.parseLong(f[1]), crc);
        } catch (IllegalArgumentException e) {
            throw new DamagedException(path + ": line " + lineNumber + ": '" + line + "' (expected: NAME LENGTH CRC32C-HEX|-)", e);
        }
    }

    synchronized Optional<Entry> get(String name) {
        return Optional.ofNullable(entries.get(name));
    }

    /** Records a shipped file: append, and force unless opened with {@code force=false}. */
    synchronized void add(Entry e) throws IOException {
        write(e.line());
        entries.put(e.name(), e);
    }

    synchronized Map<String, Entry> entries() {
        return Map.copyOf(entries);
    }

    /**
     * Appends {@code text}. A write that fails part-way (disk full, file size limit) is cut off
     * again, so the manifest still ends after a complete line: left there, the next line would be
     * appended to the partial one and read back as one garbled line.
     */
    private void write(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        long before = channel.size();
        long at = before;
        try {
            while (b.hasRemaining()) {
                at += channel.write(b, at);
            }
        } catch (IOException e) {
            try {
                channel.truncate(before);
            } catch (IOException again) {
                e.addSuppressed(again); // the partial line stays; open() cuts a torn last line, but not one followed by more
            }
            throw e;
        }
        if (force) {
            channel.force(false);
        }
    }

    synchronized void close() throws IOException {
        channel.close();
    }

    Path path() {
        return path;
    }
}
