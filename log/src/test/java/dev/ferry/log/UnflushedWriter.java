package dev.ferry.log;

import java.nio.file.Path;

/**
 * Child JVM of {@link PowerLossTest}: appends 8 MiB through the mappings with the flusher as good
 * as off, prints {@code DONE}, and waits to be killed, leaving its records in the page cache only.
 */
public final class UnflushedWriter {
    static LogConfig config(Path dir, FlushMode mode) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(16 << 20).stagedWrites(false).flushMode(mode)
                .flushIntervalMs(3_600_000).flushMinDirtyPages(Integer.MAX_VALUE).build();
    }

    public static void main(String[] args) throws Exception {
        StoreTestSupport.exitAfterAMinute();
        MessageStore store = MessageStore.open(config(Path.of(args[0]), FlushMode.ASYNC));
        for (int i = 0; i < 8192; i++) {
            store.append(LogMessage.builder("t", 0, StoreTestSupport.body(1024 - StoreTestSupport.HEADER_FOR_TOPIC_T, i)).build());
        }
        System.out.println("DONE " + store.writtenOffset());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
