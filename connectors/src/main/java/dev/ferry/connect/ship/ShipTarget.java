package dev.ferry.connect.ship;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.LongConsumer;

/**
 * Where shipped files go: an archive directory ({@link DirectoryTarget}) or a receiver over a
 * socket ({@link SocketTarget}). Both resume a file from what the far side already holds and
 * finish it with the same commit rule ({@link ArchiveDir}).
 *
 * <p><b>Thread safety.</b> {@link #ship} is called by the shipping task's thread only;
 * {@link #abort} may be called from another thread to cut a transfer in progress short.
 */
interface ShipTarget extends Closeable {
    /** How shipping one file ended. */
    sealed interface Outcome {
        /** Now in the archive: {@code sent} bytes went over, the first {@code resumedFrom} were there already. */
        record Shipped(long sent, long resumedFrom, OptionalInt crc) implements Outcome {}

        /** It was in the archive before. */
        record AlreadyThere() implements Outcome {}

        /** The copy's CRC32C is not the source's; the partial copy was discarded, the next try starts at 0. */
        record Mismatch(int source, int copy) implements Outcome {}

        /** The task was stopped after {@code position} bytes; the far side keeps them for a resume. */
        record Stopped(long position) implements Outcome {}
    }

    /**
     * Ships {@code file}, read from {@code source} (open, at least {@code file.length()} bytes).
     *
     * @param moved told each batch of bytes as it leaves, for progress
     * @throws IOException the target is unreachable or failed; the caller retries later
     */
    Outcome ship(ShipFile file, FileChannel source, LongConsumer moved) throws IOException, InterruptedException;

    /**
     * Forgets the partial copy of {@code name} ({@link ShipFile#name()}), a file that will never
     * come (retention deleted it); a no-op where unsupported.
     */
    void discard(String name) throws IOException;

    /**
     * The names of the partial copies the target holds, where it can list them (an archive
     * directory's {@code .part} files); empty where it cannot (a receiver's are left to its operator).
     */
    default List<String> partNames() throws IOException {
        return List.of();
    }

    /**
     * Whether a file this task found in the target before (shipped, or already there) is still
     * there, as {@link #ship} would find it — for a file an operator deleted from the archive
     * (docs/CONNECTORS.md, Restore), to be shipped again by the next scan. Must be cheap (it is
     * asked for every such file at every scan); where it cannot be (a receiver), {@code true}.
     */
    default boolean stillHas(ShipFile file) throws IOException {
        return true;
    }

    /** Aborts a transfer in progress from another thread (closes a socket); the default does nothing. */
    default void abort() {
    }

    /** For logs: "directory /backup/broker-a" or "receiver 10.0.0.7:7070". */
    String describe();
}
