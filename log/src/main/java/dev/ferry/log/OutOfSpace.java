package dev.ferry.log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Tells a full disk from other I/O errors, for the places that handle it apart: a commit that
 * gives the staging ring's reserve back, an open that goes on without its reserve or its
 * checkpoint.
 */
final class OutOfSpace {
    private OutOfSpace() {}

    /**
     * ENOSPC or EDQUOT: the error says so (in English), or the file system of {@code file} has less
     * room left than the {@code pending} bytes and a margin (the message comes from strerror, which
     * may be translated).
     */
    static boolean is(IOException e, Path file, long pending) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("no space left") || m.contains("quota")) {
            return true;
        }
        try {
            return Files.getFileStore(file).getUsableSpace() < pending + (1L << 20);
        } catch (IOException | RuntimeException again) {
            return false;
        }
    }
}
