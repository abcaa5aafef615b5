package dev.ferry.connect.ship;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One sealed file of a broker's data directory that is to be shipped: its path relative to the
 * data directory (always with {@code /}, the same path it gets in the archive), where it lies
 * now, and its length when it was found. Immutable.
 *
 * @param name   relative path, e.g. {@code commitlog/00000000000001048576} or
 *               {@code index/orders/3/00000000000000300000}
 * @param source the file in the broker's data directory
 * @param length its size in bytes when the scan found it (sealed files never change size)
 * @param kind   what the file is
 */
public record ShipFile(String name, Path source, long length, Kind kind) {
    /** The kinds of files shipped, in the order a scan ships them. */
    public enum Kind {
        /** A commit-log segment. */
        SEGMENT,
        /** An offset-index file of one (topic, queue). */
        OFFSET_INDEX,
        /** A key-index file. */
        KEY_INDEX
    }

    /**
     * The relative paths a receiver accepts: exactly the layout of a store's data directory
     * (docs/STORAGE.md), so no name from the wire can point outside the archive.
     */
    private static final Pattern NAME = Pattern.compile(
            "commitlog/[0-9]{20}|keyindex/[0-9]{20}|index/[A-Za-z0-9._%|-]{1,200}/[0-9]{1,5}/[0-9]{20}");

    public ShipFile {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(kind, "kind");
        if (!isValidName(name)) {
            throw new IllegalArgumentException("name: '" + name + "' (expected: " + NAME.pattern() + ")");
        }
        if (length < 0) {
            throw new IllegalArgumentException("length: " + length + " (expected: >= 0)");
        }
    }

    /** Whether {@code name} is a path a store's data directory can hold (and nothing else: no "..", no absolute path). */
    public static boolean isValidName(String name) {
        return NAME.matcher(name).matches() && !name.contains("/../") && !name.contains("/./")
                && !name.startsWith("index/../") && !name.startsWith("index/./");
    }
}
