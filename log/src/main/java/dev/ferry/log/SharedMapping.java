package dev.ferry.log;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file's channel and mapping (a commit-log segment, an index file), shared by the part of the
 * store that owns the file and by threads that read it: the mapping is unmapped and the channel
 * closed once the owner has let go (retention deleted the file, or the store closed) and the last
 * reader has finished. So no reader touches
 * unmapped memory (that would crash the JVM), and a deleted file's disk space and mapping come
 * back at once instead of when the garbage collector gets to the buffer: a broker with many
 * queues would otherwise keep thousands of deleted files mapped, against the kernel's limit on
 * mappings per process ({@code vm.max_map_count}, 65,530 by default).
 *
 * <p>Readers take a reference with {@link #retain} for the time they read and drop it with
 * {@link #release}; the owner holds one from creation, dropped once by {@link #releaseOwner}
 * however often it is called (deleting a file and closing the store both let go; a safety net,
 * as retention no longer runs once the store is closed). Threads that write through the mapping
 * take none: a segment is let go only below what was written and flushed, or at close; an offset
 * index unmaps only once its appender and dispatcher have stopped, or calls {@link #abandon}
 * instead; a key file keeps its writers out with its monitor and a released flag.
 */
final class SharedMapping {
    final FileChannel channel;
    final MappedByteBuffer map;
    /** Readers + 1 for the owner until it lets go; 0 = unmapped. */
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicBoolean ownerGone = new AtomicBoolean();

    SharedMapping(FileChannel channel, MappedByteBuffer map) {
        this.channel = channel;
        this.map = map;
    }

    /** Takes a reader reference; false if the mapping was already released. */
    boolean retain() {
        for (;;) {
            int r = refs.get();
            if (r <= 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /**
     * Drops a reader reference (or, through {@link #releaseOwner}, the owner's); the last one unmaps.
     * Returns true if this call unmapped (the caller may close what else it holds for the file).
     */
    boolean release() {
        if (refs.decrementAndGet() == 0) {
            Unmapper.unmap(map);
            closeChannel();
            return true;
        }
        return false;
    }

    /** The owner lets go of the file; only the first call counts. Returns true if this call unmapped. */
    boolean releaseOwner() {
        return ownerGone.compareAndSet(false, true) && release();
    }

    /**
     * The owner lets go while a writer may still touch the mapping (it did not stop in time): the
     * channel is closed, the mapping is left to the garbage collector.
     */
    void abandon() {
        if (ownerGone.compareAndSet(false, true)) {
            closeChannel();
        }
    }

    private void closeChannel() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing was written through it that a close could lose: entries go through the mapping
        }
    }
}
