package dev.ferry.broker;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A small key=value file (java.util.Properties syntax, UTF-8) replaced atomically:
 * written to a temp file, forced, renamed over the old one, and the folder forced. A reader sees
 * the old or the new content, never a mix. Used for the broker's metadata (topics, committed
 * offsets).
 *
 * <p>The folder is forced because the rename is a change of the folder: until it is on disk, a
 * power loss can bring back the old file although {@link #write} returned. Where one file is
 * written before another on purpose (a deleted topic is listed in {@code deleted-topics.properties}
 * before it leaves {@code topics.properties}), only this keeps that order after a power loss.
 */
final class PropertiesFile {
    private final Path path;

    PropertiesFile(Path path) {
        this.path = path;
    }

    Map<String, String> read() {
        Map<String, String> out = new TreeMap<>();
        if (!Files.exists(path)) {
            return out;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
        p.forEach((k, v) -> out.put((String) k, (String) v));
        return out;
    }

    /**
     * {@code value}, read under {@code key}, as a decimal integer in [{@code min}, {@code max}];
     * otherwise a {@link BrokerException} naming this file, {@code what} the value is and the
     * value, so that a hand-edited file (a broker's state copied, see docs/CONNECTORS.md) fails the
     * start with where to look rather than a bare {@code NumberFormatException}.
     */
    long number(String what, String value, long min, long max) {
        try {
            long n = Long.parseLong(value.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        throw new BrokerException(path + ": " + what + ": '" + value + "' (expected: a decimal integer, " + min + ".." + max + ")");
    }

    void write(Map<String, String> values, String comment) {
        Properties p = new Properties();
        p.putAll(values);
        StringWriter text = new StringWriter();
        try {
            p.store(text, comment);
            Directories.create(path.getParent());
            Directories.replaceAtomically(path, StandardCharsets.UTF_8.encode(text.toString()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }
}
