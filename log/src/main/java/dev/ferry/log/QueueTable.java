package dev.ferry.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The offset indexes of every (topic, queue), under {@code DIR/index/TOPIC/QUEUE_ID/}.
 *
 * <p><b>Thread safety.</b> {@link #getOrCreate} is called under the store's append lock (appends,
 * {@code MessageStore.createQueues}) or while the store opens;
 * each topic's array is replaced, never changed in place, and published through the concurrent
 * map, so readers see either the old or the new array.
 */
final class QueueTable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(QueueTable.class);
    /** A queue's folder name: its id in decimal, as the store writes it (up to 9 digits: an int). */
    private static final Pattern QUEUE_FOLDER = Pattern.compile("0|[1-9][0-9]{0,8}");
    private final Path dir;
    private final int entriesPerFile;
    private final ConcurrentHashMap<String, OffsetIndex[]> topics = new ConcurrentHashMap<>();

    QueueTable(Path dir, int entriesPerFile) {
        this(dir, entriesPerFile, Optional.empty());
    }

    /**
     * Opens the indexes under {@code dir}; the last checkpoint's record of each queue's index end
     * ({@link Checkpoint#recordedEnd}) tells each where to look for its entries
     * ({@link OffsetIndex#OffsetIndex(Path, String, int, int, long)}).
     */
    QueueTable(Path dir, int entriesPerFile, Optional<Checkpoint> checkpoint) {
        this.dir = dir;
        this.entriesPerFile = entriesPerFile;
        if (!Files.isDirectory(dir)) {
            return;
        }
        try {
            openAll(dir, checkpoint);
        } catch (RuntimeException | Error e) {
            close(true); // a damaged index file: the indexes opened before it are not left open
            throw e;
        }
    }

    /**
     * Entries per file of the offset-index files already under {@code dir} ({@code
     * TOPIC/QUEUE_ID/BASE}), or 0 if there are none to tell. A store's files must all be cut at one
     * size: a file's name is its first offset, a multiple of the entries per file, so finding an
     * offset is arithmetic. Opened with another value, every queue with a file past the first looked
     * damaged ("had no index file ... between two others") and every start indexed the whole commit
     * log again. A file is made at its full size, which tells how many entries it was made for;
     * the largest size found is the answer if every file's name is a multiple of it. If not (files
     * made under two values, by a version before this), the names' greatest common divisor is what
     * they were cut at.
     *
     * <p>A file whose making was cut short (a full disk, a crash) holds its first page only, 4,096
     * bytes, the size of a file made for 204 entries: such a size tells nothing, and a smaller one
     * loses to any whole file. Taken from the first file the scan came across, it made every
     * queue's files 204 entries (4 KiB) for good, after indexing the whole commit log again.
     *
     * <p>Reads the size of every file: one directory listing per queue, as opening the queues does.
     */
    static int entriesPerFileOnDisk(Path dir) {
        long names = 0; // gcd of every file's base offset (0 while all are 0)
        long fromSize = 0; // the most entries a file's size tells (0: none tells)
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> ts = Files.list(dir)) {
            for (Path t : (Iterable<Path>) ts::iterator) {
                if (!Files.isDirectory(t)) {
                    continue;
                }
                try (Stream<Path> qs = Files.list(t)) {
                    for (Path q : (Iterable<Path>) qs::iterator) {
                        for (long base : FileNames.list(q)) {
                            names = gcd(names, base);
                            long size = Files.size(q.resolve(FileNames.name(base)));
                            if (size > OffsetIndex.HEADER_SIZE && size != CUT_SHORT_SIZE
                                    && (size - OffsetIndex.HEADER_SIZE) % OffsetIndex.ENTRY_SIZE == 0) {
                                fromSize = Math.max(fromSize, (size - OffsetIndex.HEADER_SIZE) / OffsetIndex.ENTRY_SIZE);
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            return 0; // opening the indexes says what cannot be read
        }
        long n = fromSize > 0 && names % fromSize == 0 ? fromSize : names;
        return n > 0 && n <= LogConfig.MAX_INDEX_ENTRIES_PER_FILE ? (int) n : 0;
    }

    /** The size of an index file whose making stopped after its first page ({@code OffsetIndex.createFile}). */
    private static final long CUT_SHORT_SIZE = 4096;

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /**
     * Opens the index of every queue folder {@code DIR/index/TOPIC/QUEUE_ID}. A file where a topic's
     * folder would be is no index the store wrote (a note, an editor's backup, a copy left by hand):
     * it is named in a warning and left alone. Listing it as a folder failed the open with "cannot
     * list DIR/index", which named neither the file nor what was wrong with it.
     */
    private void openAll(Path dir, Optional<Checkpoint> checkpoint) {
        try (Stream<Path> ts = Files.list(dir)) {
            for (Path t : (Iterable<Path>) ts::iterator) {
                if (!Files.isDirectory(t)) {
                    LOG.warn("{} is not a folder, so not a topic's offset indexes; ignored", t);
                    continue;
                }
                try (Stream<Path> qs = Files.list(t)) {
                    for (Path q : (Iterable<Path>) qs::iterator) {
                        String name = q.getFileName().toString();
                        if (!QUEUE_FOLDER.matcher(name).matches() || !Files.isDirectory(q)) {
                            // a queue id the store never writes so ("007" beside "7" would open queue 7 twice; past an int
                            // it failed the open with a NumberFormatException), or a file
                            LOG.warn("{} is not a queue's folder (the store names them by queue id, as 0, 1, ...); ignored", q);
                            continue;
                        }
                        String topic = t.getFileName().toString();
                        int queueId = Integer.parseInt(name);
                        open(topic, queueId, checkpoint.map(c -> c.recordedEnd(topic, queueId)).orElse(-1L));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    OffsetIndex get(String topic, int queueId) {
        OffsetIndex[] queues = topics.get(topic);
        return queues == null || queueId < 0 || queueId >= queues.length ? null : queues[queueId];
    }

    OffsetIndex getOrCreate(String topic, int queueId) {
        OffsetIndex[] queues = topics.get(topic);
        if (queues != null && queueId < queues.length && queues[queueId] != null) {
            return queues[queueId];
        }
        return open(topic, queueId, -1);
    }

    /** Opens (or creates) the index of a queue not in the table; {@code recordedEnd}: see {@link OffsetIndex}, -1 if none. */
    private OffsetIndex open(String topic, int queueId, long recordedEnd) {
        OffsetIndex[] queues = topics.get(topic);
        OffsetIndex[] grown = queues == null ? new OffsetIndex[queueId + 1]
                : Arrays.copyOf(queues, Math.max(queues.length, queueId + 1));
        OffsetIndex q = new OffsetIndex(dir.resolve(topic).resolve(Integer.toString(queueId)), topic, queueId, entriesPerFile,
                recordedEnd);
        grown[queueId] = q;
        topics.put(topic, grown);
        return q;
    }

    Set<String> topics() {
        return Set.copyOf(topics.keySet());
    }

    /** Queue ids of {@code topic} that have an index, ascending. */
    List<Integer> queueIds(String topic) {
        List<Integer> out = new ArrayList<>();
        OffsetIndex[] queues = topics.get(topic);
        if (queues != null) {
            for (int i = 0; i < queues.length; i++) {
                if (queues[i] != null) {
                    out.add(i);
                }
            }
        }
        return out;
    }

    /** The first queue whose index files were damaged at open ({@link OffsetIndex#damageAtOpen}), said in words; null if none. */
    String damageAtOpen() {
        for (OffsetIndex q : all()) {
            String damage = q.damageAtOpen();
            if (damage != null) {
                return "queue " + q.topic + "/" + q.queueId + " " + damage;
            }
        }
        return null;
    }

    List<OffsetIndex> all() {
        List<OffsetIndex> out = new ArrayList<>();
        for (OffsetIndex[] queues : topics.values()) {
            for (OffsetIndex q : queues) {
                if (q != null) {
                    out.add(q);
                }
            }
        }
        return out;
    }

    /** For the checkpoint: per topic, queue id to the end (next offset) of its index, for the queues with entries. */
    Map<String, Map<Integer, Long>> indexedEnds() {
        Map<String, Map<Integer, Long>> out = new HashMap<>();
        topics.forEach((topic, queues) -> {
            Map<Integer, Long> ends = new HashMap<>();
            for (int i = 0; i < queues.length; i++) {
                if (queues[i] != null && queues[i].indexedOffset() > 0) {
                    ends.put(i, queues[i].indexedOffset());
                }
            }
            if (!ends.isEmpty()) {
                out.put(topic, ends);
            }
        });
        return out;
    }

    void forceAll() {
        for (OffsetIndex q : all()) {
            q.force();
        }
    }

    /** Closes every index; {@code unmap}: see {@link OffsetIndex#close}. */
    void close(boolean unmap) {
        for (OffsetIndex q : all()) {
            q.close(unmap);
        }
    }
}
