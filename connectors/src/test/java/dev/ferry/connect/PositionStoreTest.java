package dev.ferry.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The position file: round trip, a leftover temp file, a file of another version. */
class PositionStoreTest {
    @TempDir
    Path dir;

    @Test
    void savesAndLoadsThroughATempFile() throws IOException {
        PositionStore store = new PositionStore(dir.resolve("positions"));
        assertThat(store.load("a")).isEmpty();
        store.save("a", Map.of("fileKey", "(dev=1,ino=2)", "offset", "81920"));
        Files.writeString(dir.resolve("positions/a.json.tmp"), "{\"half"); // a crash mid-save leaves this: ignored
        assertThat(store.load("a")).isEqualTo(Map.of("fileKey", "(dev=1,ino=2)", "offset", "81920"));
        assertThat(Files.readString(store.file("a"))).isEqualTo(
                "{\"version\":1,\"connector\":\"a\",\"position\":{\"fileKey\":\"(dev=1,ino=2)\",\"offset\":\"81920\"}}");
        store.save("a", Map.of("offset", "1"));
        assertThat(store.load("a")).isEqualTo(Map.of("offset", "1"));
    }

    @Test
    void refusesAnotherVersion() throws IOException {
        PositionStore store = new PositionStore(dir);
        Files.writeString(store.file("a"), "{\"version\":2,\"position\":{}}");
        assertThatThrownBy(() -> store.load("a")).isInstanceOf(UncheckedIOException.class).hasMessageContaining("version: 2 (expected: 1)");
    }
}
