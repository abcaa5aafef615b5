package dev.ferry.cli;

import dev.ferry.client.FerryClient;
import dev.ferry.client.Producer;
import dev.ferry.client.SendResult;
import dev.ferry.protocol.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ferry produce}: sends one message per line of standard input; prints a summary to stderr. */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = "Send one message per line of standard input: the line's bytes as they are (any bytes, not only UTF-8), "
                + "without its \\n or \\r\\n.")
final class ProduceCommand implements Callable<Integer> {
    @Mixin ServerOptions server;
    @Option(names = "--topic", required = true, description = "Topic to send to (created with the broker's default queue count if missing).") String topic;
    @Option(names = "--key", description = "Message key (indexed; also picks the queue, so one key stays in order).") String key;
    @Option(names = "--tag", description = "Message tag (consumers can filter on it).") String tag;
    @Option(names = "--property", description = "A property k=v (repeatable).") List<String> properties = new ArrayList<>();
    @Option(names = "--delay-ms", description = "Deliver after this many ms (delayed delivery).", defaultValue = "0") long delayMs;

    @Override
    public Integer call() throws Exception {
        // before connecting, and before reading any input: refused by the broker, each line would fail on its own
        if (key != null && (key.isEmpty() || key.indexOf(' ') >= 0)) {
            throw new BadCommandLineException("--key: '" + key + "' (expected: non-empty, without spaces)");
        }
        if (delayMs < 0) {
            throw new BadCommandLineException("--delay-ms: " + delayMs + " (expected: >= 0)");
        }
        Map<String, String> props = new LinkedHashMap<>();
        for (String p : properties) {
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new BadCommandLineException("--property: '" + p + "' (expected: key=value)");
            }
            props.put(p.substring(0, eq), p.substring(eq + 1));
        }
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        List<String> errors = new ArrayList<>();
        try (FerryClient client = server.connect(); Producer producer = client.producer()) {
            LineReader in = new LineReader(System.in, MAX_LINE_BYTES);
            byte[] line;
            while ((line = in.next()) != null) {
                Message.Builder b = Message.builder(topic).body(line)
                        .bornTimestamp(System.currentTimeMillis()).properties(props);
                if (key != null) {
                    b.keys(List.of(key));
                }
                if (tag != null) {
                    b.tags(tag);
                }
                if (delayMs > 0) {
                    b.deliverAt(System.currentTimeMillis() + delayMs);
                }
                Message m = b.build();
                CompletableFuture<SendResult> f = key != null ? producer.sendAsync(m, key) : producer.sendAsync(m);
                f.whenComplete((r, t) -> { // not kept: a file of millions of lines must not keep a future each
                    if (t == null) {
                        sent.incrementAndGet();
                    } else {
                        failed.incrementAndGet();
                        synchronized (errors) {
                            if (errors.size() < 3) {
                                errors.add(t.getCause() != null ? t.getCause().getMessage() : t.getMessage());
                            }
                        }
                    }
                });
            }
            producer.flush(); // returns once every send's future has completed, and so counted
        }
        System.err.printf("sent %d, failed %d%n", sent.get(), failed.get());
        errors.forEach(e -> System.err.println("ferry: send failed: " + e));
        return failed.get() == 0 ? 0 : Ferry.EXIT_FAILED;
    }

    /**
     * The longest line read: a message's body must fit a frame (the protocol's default limit), and
     * a line read whole before the producer refused it would hold all of a file without line ends
     * in memory first.
     */
    private static final int MAX_LINE_BYTES = dev.ferry.protocol.Limits.DEFAULT.maxFrameBytes();

    /**
     * Reads standard input line by line as bytes, not text: a body is sent exactly as it was read,
     * also when it is not UTF-8 (decoding replaced such bytes with U+FFFD), and a lone '\r' stays
     * in the body (a Reader ended the line there). A line ends at '\n' (a '\r' before it is dropped)
     * or at the end of input.
     */
    static final class LineReader {
        private final InputStream in;
        private final int maxLineBytes;
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int end;
        private long lines;

        LineReader(InputStream in, int maxLineBytes) {
            this.in = in;
            this.maxLineBytes = maxLineBytes;
        }

        /** The next line's bytes, without its ending; null at the end of input. */
        byte[] next() throws IOException {
            ByteArrayOutputStream longLine = null; // only for a line that crosses the buffer's end
            while (true) {
                if (pos == end) {
                    int n = in.read(buf);
                    if (n < 0) {
                        return longLine == null || longLine.size() == 0 ? null : longLine.toByteArray();
                    }
                    pos = 0;
                    end = n;
                }
                int nl = pos;
                while (nl < end && buf[nl] != '\n') {
                    nl++;
                }
                if (nl == end) {
                    if (longLine == null) {
                        longLine = new ByteArrayOutputStream();
                    }
                    if (longLine.size() + (end - pos) > maxLineBytes + 1L) { // + 1: its '\r'
                        throw new IOException("line " + (lines + 1) + ": more than " + maxLineBytes + " bytes (expected: at most "
                                + maxLineBytes + ", a frame's payload; a binary file without line ends?)");
                    }
                    longLine.write(buf, pos, end - pos);
                    pos = end;
                    continue;
                }
                byte[] line;
                if (longLine == null) {
                    line = Arrays.copyOfRange(buf, pos, nl);
                } else {
                    longLine.write(buf, pos, nl - pos);
                    line = longLine.toByteArray();
                }
                pos = nl + 1;
                lines++;
                return line.length > 0 && line[line.length - 1] == '\r' ? Arrays.copyOf(line, line.length - 1) : line;
            }
        }
    }
}
