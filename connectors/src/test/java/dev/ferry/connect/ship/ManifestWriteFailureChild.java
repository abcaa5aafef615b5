package dev.ferry.connect.ship;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * A child JVM whose manifest append fails part-way, for real: it lowers its own file size limit
 * ({@code RLIMIT_FSIZE}, with {@code prlimit}; the JVM ignores SIGXFSZ, so a write past the limit
 * writes up to it and the next one fails with EFBIG) to a few bytes past the manifest's end,
 * appends a line, lifts the limit and appends another. Argument: the archive directory. Prints
 * what happened; exit code 0 when the first append failed as intended and the second did not.
 */
final class ManifestWriteFailureChild {
    static final Manifest.Entry CUT = new Manifest.Entry("commitlog/00000000000000000000", 1048576, OptionalInt.of(0x1a2b3c4d));
    static final Manifest.Entry NEXT = new Manifest.Entry("commitlog/00000000000001048576", 1048576, OptionalInt.of(0x5e6f7081));
    /** How many bytes of {@link #CUT}'s line the limit lets through. */
    static final int BYTES_WRITTEN = 10;

    private ManifestWriteFailureChild() {
    }

    public static void main(String[] args) throws Exception {
        Path archive = Path.of(args[0]);
        Manifest m = Manifest.open(archive);
        fileSizeLimit(Long.toString(Files.size(m.path()) + BYTES_WRITTEN));
        try {
            m.add(CUT);
            System.out.println("write did not fail");
            System.exit(1);
        } catch (IOException e) {
            System.out.println("add failed: " + e.getMessage());
        }
        fileSizeLimit("unlimited");
        m.add(NEXT);
        m.close();
        System.out.println("added the next line");
        System.exit(0);
    }

    private static void fileSizeLimit(String soft) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()), "--fsize=" + soft + ":")
                .inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("prlimit --fsize=" + soft + " failed with exit code " + p.exitValue());
        }
    }
}
