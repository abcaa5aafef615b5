package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restart after a crash that is itself killed, again and again, at random points of the open:
 * while recovery writes back from the staging ring what the killed writer had only there, forces
 * it, gives back the end segment's tail, makes the new ring, writes the checkpoint. What a user
 * relies on: recovery can be cut short anywhere and run again; every record the writer
 * acknowledged is there after the restart that finally completes, at its offset and position,
 * byte-equal, and appends continue after it.
 */
class RecoveryKillTest {
    private static final int KILLED_OPENS = 10;

    @TempDir
    Path tmp;

    @Test
    void recoveryKilledAtRandomPointsLosesNothingAcknowledged() throws Exception {
        long runSeed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(runSeed);
        Path dir = tmp.resolve("store");
        List<Long> positions = writeAndKill(dir);
        assertThat(positions).as("records the killed writer acknowledged").hasSizeGreaterThan(50);

        int completed = 0;
        for (int i = 0; i < KILLED_OPENS; i++) {
            completed += openAndKill(dir, random.nextInt(200, 700), "run seed " + runSeed + ", open " + i) ? 1 : 0;
        }
        System.out.printf("RecoveryKillTest: %d of %d killed opens had completed%n", completed, KILLED_OPENS);

        try (MessageStore store = MessageStore.open(HoldingWriter.config(dir))) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.crashed()).as("%s", report).isTrue();
            List<StoredMessage> all = readAll(store, HoldingWriter.TOPIC, 0);
            assertThat(all).as("run seed %d: records in the queue", runSeed).hasSize(positions.size());
            for (int i = 0; i < all.size(); i++) {
                StoredMessage m = all.get(i);
                assertThat(m.physicalOffset()).as("run seed %d: position of record %d", runSeed, i).isEqualTo(positions.get(i));
                assertThat(m.body()).as("run seed %d: body of record %d", runSeed, i).isEqualTo(bytes(HoldingWriter.message(i)));
                assertThat(store.readAt(m.physicalOffset())).as("record %d passes its checks", i).isPresent();
            }
            AppendResult next = store.append(HoldingWriter.message(positions.size()));
            assertThat(next.queueOffset()).as("offset of the next append").isEqualTo(positions.size());
        }
    }

    /** A writer that commits nothing by itself appends past two segment ends and the ring's end, then is killed. */
    private List<Long> writeAndKill(Path dir) throws Exception {
        Path stderr = tmp.resolve("writer.err");
        Process child = StoreTestSupport.childJvm(HoldingWriter.class, dir.toString(), "0", "1120000")
                .redirectError(stderr.toFile()).start();
        List<Long> positions = new ArrayList<>();
        try {
            if (!HoldingWriter.readAcks(child, new ArrayList<>(), positions)) {
                fail("writer ended before DONE; stderr:%n%s", Files.readString(stderr));
            }
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).as("writer gone after SIGKILL").isTrue();
        }
        return positions;
    }

    /**
     * Starts an open and kills it {@code delayMs} after it began (a child JVM opens this store in 0.3-0.7 s
     * here: the kills fall before, inside and after it); returns whether it had completed by then.
     */
    private boolean openAndKill(Path dir, int delayMs, String where) throws Exception {
        Path stdout = tmp.resolve("opener.out");
        Path stderr = tmp.resolve("opener.err");
        Process child = StoreTestSupport.childJvm(RecoveringOpener.class, dir.toString()).redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile()).start();
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.readString(stdout, StandardCharsets.US_ASCII).contains("OPENING")) {
                if (!child.isAlive() || System.nanoTime() > until) {
                    fail("%s: opener did not start (exit %s); stderr:%n%s", where, child.isAlive() ? "none" : child.exitValue(),
                            Files.readString(stderr));
                }
                Thread.sleep(1);
            }
            Thread.sleep(delayMs);
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).as("%s: opener gone after SIGKILL", where).isTrue();
            assertThat(child.exitValue()).as("%s: exit status (137: SIGKILL); stderr: %s", where, Files.readString(stderr))
                    .isEqualTo(128 + 9);
            return Files.readString(stdout, StandardCharsets.US_ASCII).contains("OPENED");
        } finally {
            child.destroyForcibly();
        }
    }

    private static byte[] bytes(LogMessage m) {
        ByteBuffer b = m.body();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
