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
 * ignored and cut off when the manifest is opened.
 *
 * <p><b>Thread safety.</b> Methods are synchronized; one archive directory must not be written
 * by two processes (there is no file lock).
 */
final class Manifest {
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

    private Manifest(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Opens (or creates) the manifest of {@code archive}, dropping a torn last line. */
    static Manifest open(Path archive) throws IOException {
        Files.createDirectories(archive);
        Path path = archive.resolve(FILE);
        boolean created = !Files.exists(path);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Manifest m = new Manifest(path, ch);
        try {
            if (created || ch.size() == 0) {
                m.write(HEADER + '\n');
                ArchiveDir.fsyncDirectory(archive);
                return m;
            }
            String text = Files.readString(path, StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n') + 1;
            if (end < text.length()) {
                ch.truncate(text.substring(0, end).getBytes(StandardCharsets.UTF_8).length);
                ch.force(true);
            }
            String[] lines = text.substring(0, end).split("\n");
            if (lines.length == 0 || !lines[0].equals(HEADER)) {
                throw new IOException(path + ": first line: '" + (lines.length == 0 ? "" : lines[0])
                        + "' (expected: '" + HEADER + "')");
            }
            for (int i = 1; i < lines.length; i++) {
                Entry e = parse(path, i + 1, lines[i]);
                m.entries.put(e.name(), e);
            }
            ch.position(ch.size());
            return m;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
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
            throw new IOException(path + ": line " + lineNumber + ": '" + line + "' (expected: NAME LENGTH CRC32C-HEX|-)", e);
        }
    }

    synchronized Optional<Entry> get(String name) {
        return Optional.ofNullable(entries.get(name));
    }

    /** Records a shipped file durably (append + force). */
    synchronized void add(Entry e) throws IOException {
        write(e.line());
        entries.put(e.name(), e);
    }

    synchronized Map<String, Entry> entries() {
        return Map.copyOf(entries);
    }

    private void write(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        long at = channel.size();
        while (b.hasRemaining()) {
            at += channel.write(b, at);
        }
        channel.force(false);
    }

    synchronized void close() throws IOException {
        channel.close();
    }

    Path path() {
        return path;
    }
}
