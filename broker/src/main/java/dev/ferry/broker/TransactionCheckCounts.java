package dev.ferry.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * DATA/transactions/checks (text, UTF-8)
 * one line per count saved, the last line of a half offset wins:
 *   halfOffset checks
 * </pre>
 *
 * <p>Written by the check thread before the checks it counts are sent, so a check sent is a check
 * counted, whatever crash follows. A scan appends the counts it changed ({@link #append}, forced):
 * rewriting every undecided half's count at every scan cost a scan as much as there are undecided
 * halves. When the file holds more than twice the undecided halves' lines (and more than
 * {@value #MIN_LINES_TO_COMPACT}), and at the first save after a start, it is rewritten whole with
 * the undecided ones only ({@link #write}: temp file, force, rename, folder force). A crash in an
 * append leaves its last line without its newline: {@link #read} leaves such a line out (the
 * half's earlier line, or none, counts), and the rewrite at the first save drops it. A line of a
 * half decided since is harmless: only undecided halves read their count. A missing file (a first
 * start, an older version) means no checks yet.
 *
 * <p><b>Thread safety.</b> Not thread-safe: start-up and the check thread use it.
 */
final class TransactionCheckCounts {
    /** Below this many lines the file is never rewritten for its size. */
    static final int MIN_LINES_TO_COMPACT = 1_024;

    private final Path path;
    /** Lines in the file (as far as this instance wrote them); -1 until the first {@link #write}. */
    private long lines = -1;
    /** Bytes written to the file so far (tests: what a scan costs). */
    private long bytesWritten;

    TransactionCheckCounts(Path dir) {
        this.path = dir.resolve("checks");
    }

    /** The counts written last, by half offset; empty if there is no file. A last line without its newline is left out. */
    Map<Long, Integer> read() {
        Map<Long, Integer> counts = new HashMap<>();
        if (!Files.exists(path)) {
            return counts;
        }
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
        int n = 0;
        int start = 0;
        for (int end; (end = text.indexOf('\n', start)) >= 0; start = end + 1) {
            n++;
            String line = text.substring(start, end);
            String[] f = line.split(" ");
            try {
                if (f.length != 2) {
                    throw new IllegalArgumentException();
                }
                counts.put(Long.parseLong(f[0]), Integer.parseInt(f[1]));
            } catch (RuntimeException e) {
                throw new BrokerException(path + ": line " + n + ": '" + line + "' (expected: halfOffset checks; the file only"
                        + " counts check-backs: moved away, the undecided halves are counted again from 0)");
            }
        }
        return counts;
    }

    /** Whether the next save should be a {@link #write} of all {@code undecided} halves' counts rather than an {@link #append}. */
    boolean rewriteDue(int undecided) {
        return lines < 0 || (lines > MIN_LINES_TO_COMPACT && lines > 2L * undecided);
    }

    /** Adds {@code changed} (half offset to checks) at the end of the file, durably. */
    void append(Map<Long, Integer> changed) {
        if (changed.isEmpty()) {
            return;
        }
        ByteBuffer bytes = encode(changed);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            ch.force(true);
        } catch (IOException e) {
            lines = -1; // a part may be written: the next save rewrites the file whole
            throw new UncheckedIOException("cannot append to " + path, e);
        }
        lines += changed.size();
    }

    /** Replaces the file with {@code counts} (half offset to checks), durably. */
    void write(Map<Long, Integer> counts) {
        try {
            Directories.replaceAtomically(path, encode(counts));
        } catch (IOException e) {
            lines = -1;
            throw new UncheckedIOException("cannot write " + path, e);
        }
        lines = counts.size();
    }

    private ByteBuffer encode(Map<Long, Integer> counts) {
        StringBuilder b = new StringBuilder(counts.size() * 16);
        counts.forEach((half, n) -> b.append(half).append(' ').append(n).append('\n'));
        ByteBuffer bytes = StandardCharsets.UTF_8.encode(b.toString());
        bytesWritten += bytes.remaining();
        return bytes;
    }

    long bytesWritten() {
        return bytesWritten;
    }
}
