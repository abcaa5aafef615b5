package dev.ferry.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * How often each undecided half message has been checked back ({@link Transactions}), kept across
 * restarts. The limit on checks is what finally gives up a transaction whose producer never
 * answers; counted in memory only, it started again from zero at every start, and a broker
 * restarted more often than {@code maxChecks} check intervals never gave one up. (RocketMQ keeps
 * the count in the half message, which it stores again at every check; here the transaction id is
 * the half's position, so the half is never stored again and the counts live beside it.)
 *
 * <pre>
 * DATA/transactions/checks (text, UTF-8; rewritten whole: temp file, force, rename, folder force)
 * one line per half message checked at least once and undecided when written:
 *   halfOffset checks
 * </pre>
 *
 * <p>Written by the check thread before the checks it counts are sent, so a check sent is a check
 * counted, whatever crash follows. A line of a half decided since is harmless: only undecided
 * halves read their count. A missing file (a first start, an older version) means no checks yet.
 *
 * <p><b>Thread safety.</b> Not thread-safe: start-up and the check thread use it.
 */
final class TransactionCheckCounts {
    private final Path dir;
    private final Path path;

    TransactionCheckCounts(Path dir) {
        this.dir = dir;
        this.path = dir.resolve("checks");
    }

    /** The counts written last, by half offset; empty if there is no file. */
    Map<Long, Integer> read() {
        Map<Long, Integer> counts = new HashMap<>();
        if (!Files.exists(path)) {
            return counts;
        }
        try {
            int n = 0;
            for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
                n++;
                String[] f = line.split(" ");
                try {
                    counts.put(Long.parseLong(f[0]), Integer.parseInt(f[1]));
                } catch (RuntimeException e) {
                    throw new BrokerException(path + ": line " + n + ": '" + line + "' (expected: halfOffset checks)");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
        return counts;
    }

    /** Replaces the file with {@code counts} (half offset to checks), durably. */
    void write(Map<Long, Integer> counts) {
        StringBuilder b = new StringBuilder(counts.size() * 16);
        counts.forEach((half, n) -> b.append(half).append(' ').append(n).append('\n'));
        Path tmp = dir.resolve("checks.tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer bytes = StandardCharsets.UTF_8.encode(b.toString());
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
                ch.force(true);
            }
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Directories.force(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }
}
