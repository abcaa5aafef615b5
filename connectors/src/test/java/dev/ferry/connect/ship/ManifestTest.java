package dev.ferry.connect.ship;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The manifest's appends on a real file whose writes fail (the layout itself: {@link ShipLayoutTest}). */
class ManifestTest {
    @TempDir
    Path tmp;

    /**
     * An append that fails part-way (a real short write: the child JVM's file size limit) is cut
     * off again: the next line starts on a line of its own, and the manifest reads back. It used to
     * stay, and the next line ran into it: one garbled line, which made the manifest unreadable.
     */
    @Test
    void aLineWhoseWriteFailedPartWayIsCutSoTheNextLineIsReadable() throws Exception {
        assumePrlimit();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                ManifestWriteFailureChild.class.getName(), tmp.toString()).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), UTF_8);
        assertThat(child.waitFor()).as("child exit code; its output: %s", output).isZero();
        assertThat(output).contains("add failed: File too large").contains("added the next line");
        assertThat(Files.readString(tmp.resolve(Manifest.FILE))).isEqualTo(Manifest.HEADER + "\n" + ManifestWriteFailureChild.NEXT.line());
        assertThat(Manifest.read(tmp)).containsOnlyKeys(ManifestWriteFailureChild.NEXT.name());
    }

    private static void assumePrlimit() throws InterruptedException {
        try {
            new ProcessBuilder("prlimit", "--version").redirectErrorStream(true).start().waitFor();
        } catch (IOException e) {
            Assumptions.abort("prlimit (util-linux) not found: " + e.getMessage());
        }
    }
}
