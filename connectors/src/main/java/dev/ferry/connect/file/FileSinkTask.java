package dev.ferry.connect.file;

import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.PositionStore;
import dev.ferry.connect.SinkTask;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code file-sink}: appends message bodies to a file, each followed by {@code \n}
 * ({@code format=lines}; a body that itself holds a newline is a bad record, since it would
 * read back as two lines) or as they are ({@code format=raw}).
 *
 * <p><b>Rolling.</b> With {@code roll.bytes} &gt; 0, a write that would take the current file
 * {@code FILE} past that size first closes it and renames it to {@code FILE.N}, N one more than
 * the highest rolled number present (so {@code FILE.1} is the oldest), then starts an empty
 * {@code FILE}. A single record larger than {@code roll.bytes} gets a file of its own. Nothing
 * deletes rolled files.
 *
 * <p><b>Durability.</b> {@link #put} buffers and writes; {@link #flush} writes the rest and
 * forces the file ({@link FileChannel#force}); the runtime commits the consumer offsets only
 * after that. A crash after a write but before the commit makes the runtime deliver the
 * messages since the last commit again, so the file can repeat its tail: at-least-once.
 * A body and its {@code \n} are always written together, and in lines mode {@link #start} cuts
 * a last line without its {@code \n} (part of a record a crash cut short, which comes again), so
 * the repeated records always start on a line of their own.
 *
 * <p><b>Thread safety.</b> Not thread-safe; the runtime calls it from one thread.
 */
public final class FileSinkTask implements SinkTask {
    private static final Logger LOG = LoggerFactory.getLogger(FileSinkTask.class);

    enum Format { LINES, RAW }

    private static final Pattern ROLLED = Pattern.compile("\\.(\\d+)$");
    private static final byte[] NEWLINE = {'\n'};

    private Path path;
    private Format format;
    private long rollBytes;
    private FileChannel channel;
    private long size;
    private ByteBuffer pending;

    @Override
    public void configure(ConnectorConfig config) {
        path = Path.of(config.string("file", "the path of the file to append to"));
        format = config.choice("format", Format.class, Format.LINES);
        rollBytes = config.longValue("roll.bytes", 0, 0, Long.MAX_VALUE);
    }

    @Override
    public void start(TaskContext context) throws IOException {
        if (path == null) {
            configure(context.config());
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        pending = ByteBuffer.allocate(1 << 20);
        openCurrent();
        if (format == Format.LINES) {
            cutPartialLine();
        }
    }

    /**
     * In lines mode the sink only ever flushes (and so commits offsets after) whole lines, so a
     * file that does not end with {@code \n} ends with part of a record a crash cut short; that
     * record comes again (it was not committed). Cuts the file after its last {@code \n} (to 0
     * if it has none) and forces it, so the replay starts on a line of its own.
     */
    private void cutPartialLine() throws IOException {
        if (size == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(64 << 10);
        long end = size;
        long keep = 0;
        search:
        while (end > 0) {
            long from = Math.max(0, end - b.capacity());
            b.clear().limit((int) (end - from));
            while (b.hasRemaining()) {
                if (channel.read(b, from + b.position()) < 0) {
                    throw new IOException(path + ": shrank while being read at start");
                }
            }
            for (int i = b.limit() - 1; i >= 0; i--) {
                if (b.get(i) == '\n') {
                    keep = from + i + 1;
                    break search;
                }
            }
            end = from;
        }
        if (keep == size) {
            return;
        }
        LOG.warn("file-sink {}: ends with {} bytes of a line without its newline (a crash while writing it); cut, the record "
                + "is written again", path, size - keep);
        channel.truncate(keep);
        channel.force(false);
        size = keep;
        channel.position(size);
    }

    /**
     * Opens FILE, creating it if absent. A new FILE's directory entry is forced at once: the
     * records written to it are forced and then committed, and a power loss that kept the data but
     * not the entry (ext4 in other modes, XFS) would lose committed records with the file.
     */
    private void openCurrent() throws IOException {
        boolean created = !Files.exists(path);
        channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        if (created) {
            PositionStore.forceDirectory(path.toAbsolutePath().getParent());
        }
        size = channel.size();
        channel.position(size);
    }

    @Override
    public void put(List<Message> messages) throws IOException, BadRecordException {
        for (Message m : messages) {
            ByteBuffer body = m.body();
            if (format == Format.LINES && contains(body, (byte) '\n')) {
                throw new BadRecordException(m, "body holds a newline (format=lines would split it; use format=raw)");
            }
            int length = body.remaining() + (format == Format.LINES ? 1 : 0);
            if (rollBytes > 0 && size + pending.position() + length > rollBytes && size + pending.position() > 0) {
                roll();
            }
            write(body, format == Format.LINES);
        }
    }

    /**
     * Buffers {@code body} and, with {@code newline}, its {@code \n}, or writes them at once when
     * they do not fit the buffer. Never splits them: a body goes to the file only in the same
     * write call as its newline, so a crash cannot leave a complete body without its {@code \n}
     * that the replayed records would then run into (a crash in the middle of that write can still
     * leave a partial line: {@link #cutPartialLine} removes it on start).
     */
    private void write(ByteBuffer body, boolean newline) throws IOException {
        int length = body.remaining() + (newline ? 1 : 0);
        if (length > pending.remaining()) {
            drain();
            if (length > pending.capacity()) {
                ByteBuffer[] parts = newline ? new ByteBuffer[] {body, ByteBuffer.wrap(NEWLINE)} : new ByteBuffer[] {body};
                while (parts[parts.length - 1].hasRemaining()) {
                    size += channel.write(parts);
                }
                return;
            }
        }
        pending.put(body);
        if (newline) {
            pending.put((byte) '\n');
        }
    }

    /**
     * Writes the buffer to the file. A write that fails part-way leaves in the buffer exactly the
     * bytes it did not write, in write mode, so a later drain (the close after the failure) writes
     * those and never again the ones already in the file.
     */
    private void drain() throws IOException {
        pending.flip();
        try {
            writeFully(pending);
        } finally {
            pending.compact();
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            size += channel.write(b);
        }
    }

    private static boolean contains(ByteBuffer b, byte v) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) == v) {
                return true;
            }
        }
        return false;
    }

    /**
     * Forces the current file, renames it to FILE.N and starts an empty FILE; the rename is
     * forced with the new FILE's entry (see {@link #openCurrent}).
     */
    private void roll() throws IOException {
        drain();
        channel.force(false);
        channel.close();
        Path rolled = path.resolveSibling(path.getFileName() + "." + (highestRolled() + 1));
        Files.move(path, rolled, StandardCopyOption.ATOMIC_MOVE);
        openCurrent();
    }

    private long highestRolled() throws IOException {
        long max = 0;
        String prefix = path.getFileName().toString();
        Path dir = path.toAbsolutePath().getParent();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith(prefix + ".")) {
                    Matcher m = ROLLED.matcher(n.substring(prefix.length()));
                    if (m.matches()) {
                        max = Math.max(max, Long.parseLong(m.group(1)));
                    }
                }
            }
        }
        return max;
    }

    @Override
    public void flush() throws IOException {
        drain();
        channel.force(false);
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            try {
                flush();
            } finally {
                channel.close();
                channel = null;
            }
        }
    }
}
