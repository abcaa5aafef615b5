package dev.ferry.connect.ship;

import static dev.ferry.connect.ship.ShipTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.AppendResult;
import dev.ferry.log.MessageStore;
import dev.ferry.log.StoredMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive is a usable backup: the restore procedure of docs/CONNECTORS.md (copy the
 * archive's commitlog/, index/ and keyindex/ into an empty data directory, leave out MANIFEST
 * and *.part, open the store) gives back every message of the shipped segments.
 */
class RestoreTest {
    @TempDir
    Path tmp;

    @Test
    void aStoreOpenedOnARestoredArchiveReadsEveryShippedMessage() throws Exception {
        Path data = tmp.resolve("data");
        Path archive = tmp.resolve("archive");
        List<AppendResult> appended;
        try (MessageStore store = openStore(data)) {
            appended = fill(store, 4 * SEGMENT_BYTES + SEGMENT_BYTES / 3, 0);
            SegmentShipTask task = new SegmentShipTask();
            task.start(new Context(config("log.dir", data.toString(), "target.dir", archive.toString()), tmp.resolve("s")));
            task.shipOnce();
            task.close();
        }
        long archivedEnd = 4L * SEGMENT_BYTES; // segments 0-3 are sealed, 4 is the active one

        Path restored = tmp.resolve("restored");
        copyTree(archive, restored);
        try (MessageStore store = MessageStore.open(storeConfig(restored).build())) {
            List<AppendResult> expected = appended.stream().filter(r -> r.physicalOffset() + r.size() <= archivedEnd).toList();
            assertThat(expected).hasSizeGreaterThan(4000);
            for (int q = 0; q < QUEUES; q++) {
                final int queue = q;
                List<AppendResult> ofQueue = expected.stream().filter(r -> r.queueId() == queue).toList();
                assertThat(store.nextOffset(TOPIC, q)).as("queue %d ends where the archive ends", q).isEqualTo(ofQueue.size());
                List<StoredMessage> read = new ArrayList<>();
                while (read.size() < ofQueue.size()) {
                    List<StoredMessage> batch = store.readMessages(TOPIC, q, read.size(), 500);
                    assertThat(batch).as("queue %d at %d", q, read.size()).isNotEmpty();
                    read.addAll(batch);
                }
                for (int i = 0; i < ofQueue.size(); i++) {
                    AppendResult r = ofQueue.get(i);
                    StoredMessage m = read.get(i);
                    assertThat(m.physicalOffset()).isEqualTo(r.physicalOffset());
                    int seq = appended.indexOf(r);
                    assertThat(m.body()).as("body of queue %d offset %d", q, i).isEqualTo(body(seq));
                }
            }
            AppendResult some = expected.get(expected.size() / 2);
            int seq = appended.indexOf(some);
            assertThat(store.lookupByKey(TOPIC, "k" + seq, 10)).extracting(StoredMessage::physicalOffset)
                    .containsExactly(some.physicalOffset());
            // and the restored store takes new messages after the archived ones
            assertThat(store.append(dev.ferry.log.LogMessage.builder(TOPIC, 0, body(-1)).build()).physicalOffset())
                    .isGreaterThanOrEqualTo(archivedEnd);
        }
    }

    /** The restore step: every final file of the archive, without MANIFEST and *.part. */
    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isRegularFile(p) && n.matches("[0-9]{20}")) {
                    Path target = to.resolve(from.relativize(p));
                    Files.createDirectories(target.getParent());
                    Files.copy(p, target);
                }
            }
        }
    }
}
