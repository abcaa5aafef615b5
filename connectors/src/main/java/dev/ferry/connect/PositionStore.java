package dev.ferry.connect;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The committed positions of source connectors, durable on local disk: one file per connector,
 * {@code DIR/NAME.json}, holding
 *
 * <pre>{"version":1,"connector":"NAME","position":{"fileKey":"(dev=803,ino=12)","offset":"81920"}}</pre>
 *
 * <p><b>Durability.</b> A position is committed once {@link #save} returned: the new content
 * is written to {@code NAME.json.tmp}, forced to disk, renamed atomically over {@code NAME.json},
 * and the directory is forced so the rename survives a power cut. A crash at any point leaves
 * either the old or the new file, never a mix; a leftover {@code .tmp} is ignored and
 * overwritten. Files of an unknown {@code version} are refused rather than misread.
 *
 * <p><b>Thread safety.</b> Safe for concurrent use by different connectors (different files);
 * one connector's saves must not race each other (its worker thread does them all).
 */
public final class PositionStore {
    /** Format version written in each file; readers refuse others. */
    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    public PositionStore(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The file holding {@code connector}'s position. */
    public Path file(String connector) {
        return dir.resolve(connector + ".json");
    }

    /** The committed position of {@code connector}, or an empty map if it never committed. */
    public Map<String, String> load(String connector) {
        Path f = file(connector);
        if (!Files.exists(f)) {
            return Map.of();
        }
        try {
            Map<String, Object> root = JSON.readValue(f.toFile(), new TypeReference<Map<String, Object>>() {});
            Object version = root.get("version");
            if (!(version instanceof Integer v) || v != VERSION) {
                throw new IOException("version: " + version + " (expected: " + VERSION + ")");
            }
            Map<String, String> out = new LinkedHashMap<>();
            if (root.get("position") instanceof Map<?, ?> m) {
                m.forEach((k, val) -> out.put(String.valueOf(k), String.valueOf(val)));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(f + ": unreadable position file (" + e.getMessage() + ")", e);
        }
    }

    /** Commits {@code position} as {@code connector}'s: durable when this returns. */
    public void save(String connector, Map<String, String> position) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", VERSION);
        root.put("connector", connector);
        root.put("position", new TreeMap<>(position));
        Path f = file(connector);
        Path tmp = dir.resolve(connector + ".json.tmp");
        try {
            Files.createDirectories(dir);
            byte[] bytes = JSON.writeValueAsBytes(root);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
            forceDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(f + ": cannot commit position (" + e.getMessage() + ")", e);
        }
    }

    /** Forces a directory's entries (a rename, a new file) to disk; a no-op where directories cannot be opened. */
    public static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported on this platform (Windows); the rename is still atomic
        }
    }
}
