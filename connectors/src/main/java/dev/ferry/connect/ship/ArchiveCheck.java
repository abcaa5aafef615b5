package dev.ferry.connect.ship;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Checks an archive directory against its {@link Manifest} without changing anything: every
 * listed file must exist under its final name with the listed length and, when listed with a
 * CRC32C, that checksum. Step 2 of a restore (docs/CONNECTORS.md "Restore"), and a must after a
 * power loss of a host that wrote the archive with {@code force=false}: there a file can have
 * its final name, its manifest line and its length but not its bytes, which shipping itself
 * never looks at again.
 *
 * <pre>
 * java -cp connectors/target/classes:log/target/classes dev.ferry.connect.ship.ArchiveCheck ARCHIVE
 * </pre>
 * Prints one line per file that fails ({@code BAD}, {@code SHORT}, {@code MISSING}) or could
 * not be checked ({@code UNVERIFIED}: listed with CRC {@code -}), then a summary; exit code 0
 * when every listed file has its length and (where listed) checksum, 1 otherwise, 2 for a bad
 * command line or an unreadable manifest. Run it while no connector writes the archive.
 */
public final class ArchiveCheck {
    private ArchiveCheck() {
    }

    /** What checking found; {@code failed} lists files that must not be restored as they are. */
    record Result(int ok, int unverified, int failed) {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: ArchiveCheck ARCHIVE_DIR");
            System.exit(2);
        }
        try {
            Result r = check(Path.of(args[0]), System.out);
            System.exit(r.failed() == 0 ? 0 : 1);
        } catch (IOException e) {
            System.err.println("ArchiveCheck: " + e.getMessage());
            System.exit(2);
        }
    }

    /** Checks every file {@code archive}'s manifest lists; prints failures and a summary to {@code out}. */
    static Result check(Path archive, PrintStream out) throws IOException {
        Map<String, Manifest.Entry> entries = Manifest.read(archive);
        Checksums checksums = new Checksums();
        int ok = 0;
        int unverified = 0;
        int failed = 0;
        for (Manifest.Entry e : entries.values()) {
            Path file = archive.resolve(e.name());
            long size;
            try {
                size = Files.size(file);
            } catch (NoSuchFileException x) {
                out.println("MISSING " + e.name() + " (listed with " + e.length() + " bytes)");
                failed++;
                continue;
            }
            if (size != e.length()) {
                out.println("SHORT " + e.name() + ": " + size + " bytes (listed: " + e.length() + ")");
                failed++;
                continue;
            }
            if (e.crc().isEmpty()) {
                out.println("UNVERIFIED " + e.name() + ": listed without a CRC32C (shipped with verify=false)");
                unverified++;
                continue;
            }
            int crc;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                crc = checksums.crc32c(ch, e.length());
            }
            if (crc != e.crc().getAsInt()) {
                out.println("BAD " + e.name() + ": crc32c " + Checksums.hex(crc) + " (listed: "
                        + Checksums.hex(e.crc().getAsInt()) + ")");
                failed++;
            } else {
                ok++;
            }
        }
        out.println(archive + ": " + entries.size() + " listed, " + ok + " ok, " + unverified + " unverified, "
                + failed + " failed");
        return new Result(ok, unverified, failed);
    }
}
