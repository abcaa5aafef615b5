package dev.ferry.log;

import java.nio.file.Path;

/**
 * The child process of {@link IndexRebuildTest}'s kill case: opens a store whose indexes need a
 * rebuild ({@link #config}: 100 entries per index file, so the rebuild creates many files and
 * takes long enough to be killed in), prints {@code OPENED} once the open returned, and waits to be
 * killed.
 *
 * <p>Usage: {@code RebuildingOpener DIR}. It exits by itself (status 3) after 60 s.
 */
public final class RebuildingOpener {
    private RebuildingOpener() {}

    static LogConfig config(Path dir) {
        return StoreTestSupport.smallConfig(dir).segmentBytes(1 << 20).build();
    }

    public static void main(String[] args) throws Exception {
        StoreTestSupport.exitAfterAMinute();
        MessageStore store = MessageStore.open(config(Path.of(args[0])));
        System.out.println("OPENED " + store.recoveryReport().recordsScanned());
        System.out.flush();
        Thread.sleep(60_000);
    }
}
