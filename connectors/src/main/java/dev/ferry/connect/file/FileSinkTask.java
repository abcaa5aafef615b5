package dev.ferry.connect.file;

import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.PositionStore;
import dev.ferry.connect.SinkTask;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
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
 * A body and its {@code \n} are always written together.
 *
 * <p><b>What it wrote, and what it did not.</b> After each flush (and when it opens a file) the
 * sink records {@code FILE}'s length and identity in its task's state directory
 * ({@code file-sink.json}, a {@link PositionStore} file: {@code {"file": absolute path, "fileKey":
 * inode, "length": bytes, "fingerprint": CRC32C of the 64 bytes before length, in hex}}), forced
 * after the file itself. Before its first bytes go into an empty FILE it records them too
 * ({@code "head"}: up to 64 bytes, in hex, with length 0), since no bytes before length 0 can tell
 * the file apart. On start, bytes past the recorded length of the same file (same path and inode,
 * and the same fingerprint, or at length 0 the same first bytes) were written after the last
 * flush, so their messages were not committed and come again: they are cut (a partial line a
 * crash left among them), and the repeated records start where the last flush ended. Nothing
 * before the recorded length is ever cut, and nothing of a file the sink did not write (an
 * existing file, another one made at the path, or its state lost) or one shorter than recorded:
 * those are appended to as they are. Bytes that something else appends to the sink's own file
 * while the sink is stopped are taken for the sink's, and cut. In lines mode, a file that does not
 * end with {@code \n} (someone else's last line, or the end of raw output) gets one first, so the
 * records start on a line of their own. After a failed write nothing more is recorded (see
 * {@link #close}). Until session 18 the sink cut any file after its last {@code \n} on start: a
 * file it had written with {@code format=raw}, or one it did not write, lost its committed tail
 * (all of it, with no newline in it).
 *
 * <p><b>Thread safety.</b> Not thread-safe; the runtime calls it from one thread.
 */
public final class FileSinkTask implements SinkTask {
    private static final Logger LOG = LoggerFactory.getLogger(FileSinkTask.class);

    enum Format { LINES, RAW }

    private static final Pattern ROLLED = Pattern.compile("\\.(\\d+)$");
    private static final byte[] NEWLINE = {'\n'};
    /** The name of the sink's record in its task's state directory: {@code file-sink.json}. */
    private static final String STATE = "file-sink";
    /** How many of FILE's bytes before a recorded length are checksummed with it, to know the file again. */
    private static final int FINGERPRINT_BYTES = 64;

    private Path path;
    private Format format;
    private long rollBytes;
    private FileChannel channel;
    private long size;
    private ByteBuffer pending;
    /** Where the sink records what it flushed (see the class javadoc). */
    private PositionStore state;
    /** FILE's identity, as {@link FileSourceTask#fileKey} gives it. */
    private String fileKey;
    /** The length and identity last recorded; -1: none yet. */
    private long recordedLength = -1;
    private String recordedKey;
    /** The first bytes of the empty FILE were recorded (see {@link #recordHead}). */
    private boolean headRecorded;
    /** A write (or a flush) failed: nothing is recorded as flushed any more (see {@link #close}). */
    private boolean failed;

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
        state = new PositionStore(context.stateDir());
        openCurrent();
        resumeAfterLastFlush();
    }

    /**
     * On start: cuts what was written to FILE after the last flush (see the class javadoc), adds a
     * newline in lines mode if FILE does not end with one, and records where the sink starts.
     */
    private void resumeAfterLastFlush() throws IOException {
        Map<String, String> last;
        try {
            last = state.load(STATE);
        } catch (UncheckedIOException e) {
            LOG.warn("file-sink {}: {}; nothing is cut", path, e.getMessage());
            last = Map.of();
        }
        long flushed = parseLength(last.get("length"));
        // the inode alone does not tell: a file deleted and made again often gets its number back, and one
        // rewritten in place keeps it. Past a flushed length the 64 bytes before it must match; at length 0
        // (nothing flushed yet), the first bytes the sink wrote, recorded before it wrote them
        boolean written = path.toAbsolutePath().toString().equals(last.get("file")) && fileKey.equals(last.get("fileKey")) && flushed >= 0
                && flushed <= size && (flushed > 0 ? fingerprint(flushed).equals(last.get("fingerprint")) : startsWithHead(last.get("head")));
        if (written && size > flushed) {
            LOG.warn("file-sink {}: {} bytes written after the last flush (not committed: their messages come again); cut", path,
                    size - flushed);
            channel.truncate(flushed);
            size = flushed;
            channel.position(size);
        } else if (!written && size > 0) {
            LOG.info("file-sink {}: appending to a file of {} bytes the sink has no record of writing; nothing is cut", path, size);
        }
        if (format == Format.LINES && size > 0 && lastByte() != '\n') {
            LOG.warn("file-sink {}: does not end with a newline; one is added, so that the records start on a line of their own", path);
            writeFully(ByteBuffer.wrap(NEWLINE));
        }
        channel.force(false);
        recordFlushed();
    }

    /** True if FILE starts with (as much as it holds of) {@code head}, hex of the first bytes the sink was about to write; false if null. */
    private boolean startsWithHead(String head) throws IOException {
        if (head == null || head.isEmpty() || head.length() % 2 != 0) {
            return false;
        }
        byte[] expected;
        try {
            expected = HexFormat.of().parseHex(head);
        } catch (IllegalArgumentException e) {
            return false;
        }
        int n = (int) Math.min(expected.length, size);
        return Arrays.equals(bytesAt(0, n), 0, n, expected, 0, n);
    }

    private static long parseLength(String s) {
        try {
            return s == null ? -1 : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** CRC32C of FILE's last (up to) {@value #FINGERPRINT_BYTES} bytes before {@code end}, in hex. */
    private String fingerprint(long end) {
        int n = (int) Math.min(FINGERPRINT_BYTES, end);
        CRC32C crc = new CRC32C();
        try {
            crc.update(bytesAt(end - n, n));
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot read " + n + " bytes before " + end, e);
        }
        return Long.toHexString(crc.getValue());
    }

    private byte lastByte() throws IOException {
        return bytesAt(size - 1, 1)[0];
    }

    /** FILE's {@code n} bytes from {@code position}, which lie below its end. */
    private byte[] bytesAt(long position, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b, position + b.position()) < 0) {
                throw new IOException(path + ": shrank while being read");
            }
        }
        return b.array();
    }

    /**
     * Records FILE's length as flushed, once its bytes are forced; only when it changed (an idle
     * flush writes nothing). Not after a write failed: the runtime commits nothing then, and the
     * close that follows would record a record cut short as flushed.
     */
    private void recordFlushed() {
        if (failed || size == recordedLength && fileKey.equals(recordedKey)) {
            return;
        }
        saveState(Map.of());
        headRecorded = false;
    }

    /** Records FILE as {@code size} bytes long (see the class javadoc), with {@code extra} fields. */
    private void saveState(Map<String, String> extra) {
        Map<String, String> fields = new HashMap<>(extra);
        fields.putAll(Map.of("file", path.toAbsolutePath().toString(), "fileKey", fileKey, "length", Long.toString(size),
                "fingerprint", fingerprint(size)));
        state.save(STATE, fields);
        recordedLength = size;
        recordedKey = fileKey;
    }

    /**
     * Before the first bytes go into an empty FILE: records them (up to 64, as hex) with length 0,
     * so that the next start knows FILE for the sink's if it holds them, and cuts it back to empty
     * (a fingerprint of the zero bytes before length 0 would match any file). Once per file.
     */
    private void recordHead(ByteBuffer... parts) {
        if (size > 0 || headRecorded || failed) {
            return;
        }
        ByteBuffer head = ByteBuffer.allocate(FINGERPRINT_BYTES);
        for (ByteBuffer part : parts) {
            ByteBuffer d = part.duplicate();
            d.limit(d.position() + Math.min(d.remaining(), head.remaining()));
            head.put(d);
        }
        if (head.position() == 0) {
            return;
        }
        saveState(Map.of("head", HexFormat.of().formatHex(head.array(), 0, head.position()))); // size is 0 here
        headRecorded = true;
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
        fileKey = FileSourceTask.fileKey(Files.readAttributes(path, BasicFileAttributes.class));
    }

    @Override
    public void put(List<Message> messages) throws IOException, BadRecordException {
        try {
            putAll(messages);
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
    }

    private void putAll(List<Message> messages) throws IOException, BadRecordException {
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
     * leave a partial line: the next start cuts it, with whatever else followed the last flush).
     */
    private void write(ByteBuffer body, boolean newline) throws IOException {
        int length = body.remaining() + (newline ? 1 : 0);
        if (length > pending.remaining()) {
            drain();
            if (length > pending.capacity()) {
                ByteBuffer[] parts = newline ? new ByteBuffer[] {body, ByteBuffer.wrap(NEWLINE)} : new ByteBuffer[] {body};
                recordHead(parts);
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
            recordHead(pending);
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
     * forced with the new FILE's entry (see {@link #openCurrent}). The new FILE is recorded (empty)
     * before anything is written to it, so a crash after the roll cuts it back to empty.
     */
    private void roll() throws IOException {
        drain();
        channel.force(false);
        channel.close();
        Path rolled = path.resolveSibling(path.getFileName() + "." + (highestRolled() + 1));
        Files.move(path, rolled, StandardCopyOption.ATOMIC_MOVE);
        openCurrent();
        recordFlushed();
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
        try {
            drain();
            channel.force(false);
            recordFlushed();
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
    }

    /**
     * Writes and forces what is buffered. After a failed write (the runtime closes the task then,
     * and commits nothing) the bytes written are not recorded as flushed, so the next start cuts
     * them, a record the failed write cut short with them, and the messages come again.
     */
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
