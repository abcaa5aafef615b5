package dev.ferry.connect.file;

import dev.ferry.connect.BadRecordException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.SourceRecord;
import dev.ferry.connect.SourceTask;
import dev.ferry.connect.TaskContext;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code file-source}: follows a file like {@code tail -F} and turns it into messages, one per
 * line ({@code mode=lines}; the {@code \n} or {@code \r\n} is stripped) or one per chunk of at
 * most {@code chunk.bytes} ({@code mode=chunks}; the chunks concatenated are the file).
 *
 * <p><b>Position.</b> {@code {file, fileKey, offset, fingerprint}}: the file's identity (its inode,
 * as {@link BasicFileAttributes#fileKey()} gives it, or the creation time where there is none),
 * the byte offset after the last record, and a CRC32C of the file's first min(offset, 1 KiB)
 * bytes. On a restart with the same file the task reads on from {@code offset}. If the path now
 * names another file, or none (rotated while the task was stopped or restarting), the task looks
 * for the old file, by {@code fileKey}, among the files next to it whose name starts with the
 * file's name ({@code app.log.1}, {@code app.log-20260131}: logrotate's names) and, if one still
 * holds the position, reads it on from {@code offset} to its end before it follows the path, as
 * at a rotation seen while running; without one (deleted, compressed, moved elsewhere) it starts
 * the path's file from 0 and logs a warning: the unread end of the old file is not sent. If the
 * file is shorter than {@code offset} (truncated), or its first bytes no longer match the
 * fingerprint (deleted and recreated, and the filesystem gave the new file the old inode), it
 * starts that file from 0. A position without a fingerprint (written by an older version) is
 * not checked for it.
 *
 * <p><b>Rotation and truncation.</b> When the read reaches the end of the data, the task looks
 * at the path: if it names a different file (renamed and recreated), the old file, still open,
 * is read on until it was not written for {@code rotate.wait.ms} ({@link #oldFileDone}: the
 * application writes to it until it reopens its log) — a last line without a newline becomes a
 * record then — and the new file is followed from 0; if it is the same file but shorter than what was read, it was
 * truncated and is read again from 0. After each read of new data the file's first bytes are
 * compared with the last fingerprint taken ({@link #headChanged}): a file truncated and written
 * again past the old position is read from 0 too, not from the middle of a line. While the path
 * does not exist the task waits.
 *
 * <p><b>{@code start=end}</b> applies to the first start only: the end the file was opened at is
 * handed to the runtime as {@link #startPosition()}, which commits it at once.
 *
 * <p><b>Bad lines.</b> A line longer than {@code max.line.bytes} is reported as a
 * {@link BadRecordException} once its end is found, with the first {@code max.line.bytes} bytes
 * as the body and the position after it, so the runtime sends it to the error topic (or fails).
 * Records before it are returned by the poll before.
 *
 * <p><b>Speed.</b> Reads with a {@link FileChannel} into one reused heap buffer of
 * {@code read.buffer.bytes} and returns up to that much data per poll (many thousand lines), each
 * line copied once into its message body.
 *
 * <p><b>Thread safety.</b> Not thread-safe; the runtime calls it from one thread.
 */
public final class FileSourceTask implements SourceTask {
    private static final Logger LOG = LoggerFactory.getLogger(FileSourceTask.class);

    enum Mode { LINES, CHUNKS }

    enum Start { BEGINNING, END }

    // settings
    private Path path;
    private Mode mode;
    private int maxLineBytes;
    private int chunkBytes;
    private Start start;
    private String key;
    private String tag;
    private long pollIntervalMs;
    private int bufferBytes;
    private long rotateWaitMs;
    private Clock clock = Clock.systemUTC();

    /**
     * The largest {@code max.line.bytes} and {@code chunk.bytes}: the broker's default largest
     * body ({@code maxBodyBytes}), which a source record may not exceed (the runtime refuses a
     * larger one before sending it); a line or chunk of this size with its key and tag also fits
     * the producer's 8 MiB buffer.
     */
    static final int MAX_BODY_BYTES = 4 << 20;

    /** How many of a file's first bytes its fingerprint covers (see {@link #fingerprint}). */
    static final int FINGERPRINT_BYTES = 1024;

    // state
    private FileChannel channel;
    private String fileKey;
    /** The open file's fingerprint over all {@link #FINGERPRINT_BYTES} first bytes, once computed; null after open or truncation. */
    private String headFingerprint;
    /** Offset in the file of {@code buffer}'s first byte (the next record's start). */
    private long bufferStart;
    private byte[] buffer;
    /** Valid bytes in {@code buffer}. */
    private int filled;
    /** In a line longer than max.line.bytes: its start offset, its first bytes; skipping to its newline. */
    private long badLineStart = -1;
    private byte[] badLinePrefix;
    private long badLineLength;
    /**
     * The path names a new file: the open (old) one is read on until it was not written for
     * {@code rotate.wait.ms} ({@link #oldFileDone}), then the new one opened.
     */
    private boolean draining;
    /**
     * While draining: the file that was at the path when the rotation was seen, opened then and
     * followed after the old one, wherever it is by then (a busy log rotated again within
     * {@code rotate.wait.ms} is renamed on, and its lines would be skipped were the path opened
     * instead; found by a reviewer). Null if none was there yet: the path is opened then.
     */
    private FileChannel next;
    private String nextKey;
    /**
     * When the open file was last seen written, in {@code clock} millis: its modification time
     * when opened, then each read that found new bytes, and the moment a rotation was seen.
     */
    private long lastWrittenMillis;
    /** A bad line found after good records in the same poll: thrown by the next poll. */
    private BadRecordException deferred;
    /** See {@link #startPosition()}. */
    private Map<String, String> startPosition = Map.of();
    /**
     * The last fingerprint computed from the open file ({@link #fingerprint}): the CRC32C of its
     * first {@code knownHeadLength} bytes (0: none yet). Checked again after each read of new data,
     * to tell a file truncated and refilled past the position ({@link #headChanged}).
     */
    private int knownHeadLength;
    private String knownHead;

    @Override
    public void configure(ConnectorConfig config) {
        path = Path.of(config.string("file", "the path of the file to follow"));
        config.string("topic", "the topic to send the file's records to");
        mode = config.choice("mode", Mode.class, Mode.LINES);
        maxLineBytes = config.intValue("max.line.bytes", 1 << 20, 1, MAX_BODY_BYTES);
        chunkBytes = config.intValue("chunk.bytes", 64 << 10, 1, MAX_BODY_BYTES);
        start = config.choice("start", Start.class, Start.BEGINNING);
        key = config.optional("key").orElse(null);
        if (key != null && (key.isEmpty() || key.indexOf(' ') >= 0 || Utf8.length(key) > Limits.DEFAULT.maxKeyBytes())) {
            throw config.invalid("key", key, "a message key: non-empty, without spaces, at most "
                    + Limits.DEFAULT.maxKeyBytes() + " bytes");
        }
        tag = config.optional("tag").orElse("");
        if (Utf8.length(tag) > Limits.DEFAULT.maxTagsBytes()) {
            throw config.invalid("tag", tag, "at most " + Limits.DEFAULT.maxTagsBytes() + " bytes");
        }
        pollIntervalMs = config.longValue("poll.interval.ms", 100, 1, 60_000);
        rotateWaitMs = config.longValue("rotate.wait.ms", 5_000, 0, 3_600_000);
        int unit = mode == Mode.LINES ? maxLineBytes : chunkBytes;
        bufferBytes = config.intValue("read.buffer.bytes", Math.max(1 << 20, unit + 2), unit + 2, 256 << 20);
    }

    @Override
    public void start(TaskContext context) throws IOException {
        if (path == null) {
            configure(context.config());
        }
        buffer = new byte[bufferBytes];
        clock = context.clock();
        Map<String, String> pos = context.committedPosition();
        if (!pos.isEmpty()) {
            long offset = Long.parseLong(pos.getOrDefault("offset", "0"));
            String fingerprint = pos.get("fingerprint"); // absent in positions written before it existed: not checked
            String oldKey = pos.get("fileKey");
            boolean opened = open();
            if (opened && fileKey.equals(oldKey)) {
                if (resumable(offset, fingerprint)) {
                    bufferStart = offset;
                } else {
                    LOG.warn("file-source {}: the file changed since position {} (truncated or recreated while stopped); "
                            + "reading it from 0", path, pos);
                    bufferStart = 0;
                }
            } else if (oldKey != null && openRotated(oldKey, offset, fingerprint)) {
                bufferStart = offset; // the poll reads the old file to its end, then follows the path, as at a rotation
                // with a new file at the path, the rotation is known: the old file is finished once it was not written
                // for rotate.wait.ms, counted from its modification time (set by open), not from now as when one is seen
                // while running. With none there yet, the rotation is seen when it appears.
                draining = opened;
            } else if (opened) {
                LOG.warn("file-source {}: the path names another file since position {} (rotated while stopped) and no file "
                        + "next to it whose name starts with {} is the old one: reading the new file from 0; the old file's "
                        + "bytes after offset {} are not sent", path, pos, path.getFileName(), offset);
                bufferStart = 0;
            } else {
                LOG.warn("file-source {}: the file is gone since position {} and no file next to it whose name starts with {} "
                        + "is the old one: the old file's bytes after offset {} are not sent; waiting for the file to appear, "
                        + "to read it from 0", path, pos, path.getFileName(), offset);
            }
        } else if (open() && start == Start.END) {
            bufferStart = channel.size();
            // committed at once by the runtime: without it every start before the first acknowledged
            // record would seek to the end again, skipping what was appended while the task was not running
            startPosition = position(bufferStart);
        }
    }

    /**
     * With {@code start=end} and no committed position: the end of the file as it was opened, for
     * the runtime to commit at once (later starts resume there, so {@code start=end} applies only
     * the first time). Empty otherwise (a start from 0, or the file not there yet: it is then read
     * from 0 when it appears).
     */
    @Override
    public Map<String, String> startPosition() {
        return startPosition;
    }

    /** Whether the open file holds the committed position: at least {@code offset} bytes and, if given, the fingerprint. */
    private boolean resumable(long offset, String fingerprint) throws IOException {
        return channel.size() >= offset && (fingerprint == null || fingerprint.equals(fingerprint(offset)));
    }

    /**
     * After a rotation while the task was not running (stopped, or restarting after a failure):
     * looks among the path's siblings whose name starts with the file's name ({@code app.log.1},
     * {@code app.log-20260131}, as logrotate names them) for the file of the committed position,
     * {@code oldKey}, still holding that position, and makes it the open file. The poll then reads
     * it to its end and moves on to the file at the path, as after a rotation seen while running.
     * False, the path's file (if any) still open, if there is none.
     */
    private boolean openRotated(String oldKey, long offset, String fingerprint) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        String name = path.getFileName().toString();
        List<Path> candidates = new ArrayList<>();
        try (var siblings = Files.newDirectoryStream(dir, p -> p.getFileName().toString().startsWith(name)
                && !p.getFileName().toString().equals(name))) {
            siblings.forEach(candidates::add);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) { // the folder cannot be listed (no read permission): as if nothing were there
            LOG.warn("file-source {}: cannot list {} to find the rotated file: {}", path, dir, e.toString());
            return false;
        }
        FileChannel atPath = channel;
        String atPathKey = fileKey;
        for (Path p : candidates) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                if (!a.isRegularFile() || !fileKey(a).equals(oldKey) || !open(p)) {
                    continue;
                }
            } catch (NoSuchFileException e) {
                continue; // rotated on meanwhile
            }
            if (fileKey.equals(oldKey) && resumable(offset, fingerprint)) {
                if (candidates.size() > 1) {
                    // with several rotated files, those between the old one and the path's are not read
                    LOG.warn("file-source {}: rotated since the position at offset {}: reading the old file, now {}, to its end, "
                            + "then {}; files rotated in between ({} other candidates next to it) are not read", path, offset, p, path,
                            candidates.size() - 1);
                } else {
                    LOG.info("file-source {}: rotated since the position at offset {}: reading the old file, now {}, to its end "
                            + "first", path, offset, p);
                }
                if (atPath != null) {
                    next = atPath; // followed after the old one, even if renamed on meanwhile
                    nextKey = atPathKey;
                }
                return true;
            }
            channel.close(); // not the old file after all (renamed meanwhile, or another file on a reused inode)
            channel = atPath;
            fileKey = atPathKey;
            headFingerprint = null;
            knownHeadLength = 0;
        }
        return false;
    }

    /** Opens the path if it exists; false if it does not (yet). */
    private boolean open() throws IOException {
        return open(path);
    }

    /** Opens {@code file} as the file being read, from 0; false if it does not exist. */
    private boolean open(Path file) throws IOException {
        Opened o = openFile(file);
        if (o == null) {
            return false;
        }
        channel = o.channel();
        fileKey = fileKey(o.attributes());
        lastWrittenMillis = o.attributes().lastModifiedTime().toMillis();
        headFingerprint = null;
        knownHeadLength = 0;
        bufferStart = 0;
        filled = 0;
        badLineStart = -1;
        draining = false;
        return true;
    }

    static String fileKey(BasicFileAttributes a) {
        Object k = a.fileKey();
        return k != null ? k.toString() : "created:" + a.creationTime().toMillis();
    }

    @Override
    public List<SourceRecord> poll(Duration maxWait) throws IOException, BadRecordException, InterruptedException {
        if (deferred != null) {
            throw takeDeferred();
        }
        long deadline = System.nanoTime() + maxWait.toNanos();
        List<SourceRecord> out = new ArrayList<>();
        while (true) {
            if (channel != null || open()) {
                int read = fill();
                if (read > 0 && headChanged()) {
                    LOG.info("file-source {}: its first {} bytes changed (truncated and written again, {} bytes now; had read {}); "
                            + "reading it from 0", path, knownHeadLength, channel.size(), bufferStart + filled);
                    readAgainFromZero();
                    continue;
                }
                boolean finishing = read < 0 && draining && oldFileDone();
                if (filled > 0) {
                    parse(out, finishing); // the old file's last line without a newline becomes a record once it is done
                }
                if (deferred != null && out.isEmpty()) {
                    throw takeDeferred();
                }
                if (!out.isEmpty() || deferred != null) {
                    return out;
                }
                if (read < 0) { // at the end of the data for now
                    if (draining) {
                        if (finishing && filled == 0 && badLineStart < 0) {
                            LOG.info("file-source {}: rotated; finished the old file at {} bytes (not written for {} ms), "
                                    + "following the new one", path, bufferStart, rotateWaitMs);
                            channel.close();
                            channel = null;
                            draining = false;
                            if (next != null) {
                                follow(next, nextKey);
                                next = null;
                            }
                            continue;
                        }
                    } else if (rotatedOrTruncated()) {
                        continue;
                    }
                } else if (System.nanoTime() < deadline) {
                    continue; // data came but no record yet (inside a long bad line): read on without waiting
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return out;
            }
            Thread.sleep(Math.min(pollIntervalMs, Math.max(1, left / 1_000_000)));
        }
    }

    private BadRecordException takeDeferred() {
        BadRecordException e = deferred;
        deferred = null;
        return e;
    }

    /** Reads what fits into the buffer after the unparsed bytes; returns bytes read, -1 at the end of the file. */
    private int fill() throws IOException {
        if (filled == buffer.length) {
            return 0;
        }
        ByteBuffer b = ByteBuffer.wrap(buffer, filled, buffer.length - filled);
        int total = 0;
        while (b.hasRemaining()) {
            int n = channel.read(b, bufferStart + filled + total);
            if (n <= 0) {
                break;
            }
            total += n;
        }
        filled += total;
        if (total > 0) {
            lastWrittenMillis = clock.millis();
        }
        return total == 0 ? -1 : total;
    }

    /**
     * Whether the old file of a rotation is done: not written for {@code rotate.wait.ms}. The
     * application writes to the renamed file until it reopens its log (logrotate's postrotate
     * signal, or never, with {@code copytruncate}'s counterpart {@code create} and no signal): the
     * grace period lets those lines be read, in order, before the new file's (Filebeat's
     * {@code close_inactive}). The new file's lines wait that long after every rotation.
     */
    private boolean oldFileDone() {
        // 0: at once, as before the setting, also for a file whose modification time lies ahead of this clock
        return rotateWaitMs == 0 || clock.millis() - lastWrittenMillis >= rotateWaitMs;
    }

    /**
     * At the end of the data, looks at the path. Another file there (renamed and recreated):
     * start draining the old one — read it to its end, its last bytes a record — before the new
     * one is opened. The same file, shorter than what was read: truncated, read again from 0.
     */
    private boolean rotatedOrTruncated() throws IOException {
        BasicFileAttributes now;
        try {
            now = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return false; // renamed away, not recreated yet: keep following the old one
        }
        if (!fileKey(now).equals(fileKey)) {
            draining = true;
            holdNext();
            // the writer may not have reopened yet: the old file's grace period starts now at the earliest
            lastWrittenMillis = Math.max(lastWrittenMillis, clock.millis());
            return true;
        }
        if (now.size() < bufferStart + filled) {
            LOG.info("file-source {}: truncated to {} bytes (had read {}); reading it from 0", path, now.size(), bufferStart + filled);
            readAgainFromZero();
            return true;
        }
        return false;
    }

    /** Opens the file now at the path as {@link #next}, if it is still there and another than the open one. */
    private void holdNext() throws IOException {
        Opened o;
        try {
            o = openFile(path);
        } catch (IOException e) {
            // not readable yet (logrotate sets the new file's owner after creating it): the path is opened once the
            // old file is done, as when nothing was there, rather than fail the task at the moment of rotation
            LOG.debug("file-source {}: cannot open the new file yet: {}", path, e.toString());
            return;
        }
        if (o == null) {
            return; // renamed on already: the path is opened once the old file is done
        }
        if (fileKey(o.attributes()).equals(fileKey)) {
            o.channel().close();
            return;
        }
        next = o.channel();
        nextKey = fileKey(o.attributes());
    }

    /** An open file and its attributes as read right after the open. */
    private record Opened(FileChannel channel, BasicFileAttributes attributes) {
    }

    /**
     * Opens {@code file} for reading; null if it does not exist, also when it goes between the
     * open and the read of its attributes (the channel is then closed: a path renamed and deleted
     * quickly leaked an open, deleted file each time, found by a reviewer).
     */
    private static Opened openFile(Path file) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            return new Opened(ch, Files.readAttributes(file, BasicFileAttributes.class));
        } catch (IOException | RuntimeException e) {
            ch.close();
            if (e instanceof NoSuchFileException) {
                return null;
            }
            throw e;
        }
    }

    /**
     * Makes {@code ch}, opened earlier, the file read, from 0. It was last written at the latest now
     * (its modification time is not known from the channel): a later rotation of it waits the whole
     * {@code rotate.wait.ms} from here at least.
     */
    private void follow(FileChannel ch, String key) {
        channel = ch;
        fileKey = key;
        lastWrittenMillis = clock.millis();
        readAgainFromZero();
    }

    /** After a truncation: the open file holds new content, read from 0; what the buffer holds is dropped. */
    private void readAgainFromZero() {
        headFingerprint = null;
        knownHeadLength = 0;
        bufferStart = 0;
        filled = 0;
        badLineStart = -1;
        badLinePrefix = null;
    }

    /** Turns the buffer's complete records into {@code out}; {@code endOfFile}: the rest is a record too. */
    private void parse(List<SourceRecord> out, boolean endOfFile) {
        if (mode == Mode.CHUNKS) {
            parseChunks(out);
            return;
        }
        int i = 0;
        int lineStart = 0;
        while (i < filled) {
            if (badLineStart >= 0) {
                int nl = indexOf(buffer, (byte) '\n', i, filled);
                int end = nl < 0 ? filled : nl + 1;
                badLineLength += (nl < 0 ? filled : nl) - i; // the line's bytes, without its newline
                i = end;
                lineStart = end;
                if (nl >= 0) {
                    reportBadLine(bufferStart + end);
                    if (!out.isEmpty() || deferred != null) {
                        break;
                    }
                }
                continue;
            }
            int nl = indexOf(buffer, (byte) '\n', i, Math.min(filled, lineStart + maxLineBytes + 2));
            if (nl < 0) {
                int len = filled - lineStart;
                if (len > maxLineBytes + 1 || (len > maxLineBytes && buffer[filled - 1] != '\r')) {
                    badLineStart = bufferStart + lineStart;
                    badLinePrefix = Arrays.copyOfRange(buffer, lineStart, lineStart + maxLineBytes);
                    badLineLength = 0;
                    continue; // skip mode scans from lineStart to the newline, wherever it is
                }
                break;
            }
            int end = nl;
            if (end > lineStart && buffer[end - 1] == '\r') {
                end--;
            }
            if (end - lineStart > maxLineBytes) {
                badLineStart = bufferStart + lineStart;
                badLinePrefix = Arrays.copyOfRange(buffer, lineStart, lineStart + maxLineBytes);
                badLineLength = nl - lineStart;
                i = nl + 1;
                lineStart = nl + 1;
                reportBadLine(bufferStart + lineStart);
                if (!out.isEmpty() || deferred != null) {
                    break;
                }
                continue;
            }
            out.add(record(Arrays.copyOfRange(buffer, lineStart, end), bufferStart + nl + 1));
            i = nl + 1;
            lineStart = i;
        }
        if (endOfFile && deferred == null && badLineStart < 0 && lineStart < filled) {
            out.add(record(Arrays.copyOfRange(buffer, lineStart, filled), bufferStart + filled)); // last line without newline
            lineStart = filled;
        }
        if (endOfFile && badLineStart >= 0) {
            reportBadLine(bufferStart + filled);
            lineStart = filled;
        }
        compact(lineStart);
    }

    private void parseChunks(List<SourceRecord> out) {
        int i = 0;
        while (i < filled) {
            int end = Math.min(filled, i + chunkBytes);
            out.add(record(Arrays.copyOfRange(buffer, i, end), bufferStart + end));
            i = end;
        }
        compact(i);
    }

    private void reportBadLine(long positionAfter) {
        SourceRecord r = record(badLinePrefix, positionAfter);
        deferred = new BadRecordException(r, "line at " + path + ":" + badLineStart + " is " + badLineLength
                + " bytes (expected: at most max.line.bytes=" + maxLineBytes + ")");
        badLineStart = -1;
        badLinePrefix = null;
    }

    /** Drops the buffer's first {@code consumed} bytes. */
    private void compact(int consumed) {
        if (consumed > 0) {
            System.arraycopy(buffer, consumed, buffer, 0, filled - consumed);
            filled -= consumed;
            bufferStart += consumed;
        }
    }

    private SourceRecord record(byte[] body, long positionAfter) {
        Message.Builder m = Message.builder("").body(body).tags(tag);
        if (key != null) {
            m.keys(List.of(key));
        }
        return new SourceRecord(m.build(), null, position(positionAfter));
    }

    private Map<String, String> position(long offset) {
        return Map.of("file", path.toString(), "fileKey", fileKey, "offset", Long.toString(offset), "fingerprint",
                fingerprintOrEmpty(offset));
    }

    private String fingerprintOrEmpty(long offset) {
        try {
            return fingerprint(offset);
        } catch (IOException e) {
            return ""; // never matches: a restart reads the file from 0 (at-least-once)
        }
    }

    /**
     * The open file's fingerprint for a position at {@code offset}: CRC32C of its first
     * min(offset, {@value #FINGERPRINT_BYTES}) bytes (which a position never moves past, so they
     * do not change while the file is appended to), as 8 hex digits. A file deleted and recreated
     * while the task was stopped can get the same inode (fileKey) back; its first bytes tell it
     * apart.
     */
    String fingerprint(long offset) throws IOException {
        int n = (int) Math.min(offset, FINGERPRINT_BYTES);
        if (n == FINGERPRINT_BYTES && headFingerprint != null) {
            return headFingerprint;
        }
        String hex = headCrc(n);
        if (n == FINGERPRINT_BYTES) {
            headFingerprint = hex;
        }
        if (n > 0) {
            knownHeadLength = n;
            knownHead = hex;
        }
        return hex;
    }

    /** CRC32C of the open file's first {@code n} bytes as they are now, as 8 hex digits; "short" if it has fewer. */
    private String headCrc(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b, b.position()) < 0) {
                return "short"; // the file is shorter than the position: never matches
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(b.flip());
        return String.format("%08x", crc.getValue());
    }

    /**
     * Whether the open file's first bytes are no longer those of the last fingerprint: truncated
     * ({@code copytruncate}, {@code > app.log}) and written again, perhaps past the position before
     * the task looked, so the size alone does not tell. Called after a read of new data: if the
     * file changed before that read, the bytes read are the new content's, not the old one's
     * continuation; if after, they were read right and the next read's check sees it. (New content
     * whose first bytes equal the old ones is not told apart.)
     */
    private boolean headChanged() throws IOException {
        return knownHeadLength > 0 && !headCrc(knownHeadLength).equals(knownHead);
    }

    private static int indexOf(byte[] b, byte v, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public long lag() {
        try {
            return channel == null ? -1 : Math.max(0, channel.size() - bufferStart);
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException {
        if (next != null) {
            next.close();
            next = null;
        }
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    @Override
    public String toString() {
        return "FileSourceTask{" + Objects.requireNonNullElse(path, "?") + "}";
    }
}
