package dev.ferry.log;

/** When an append counts as done. */
public enum FlushMode {
    /**
     * Done once the record is in the page cache; a background flusher forces dirty pages every
     * {@code flushIntervalMs} (when at least {@code flushMinDirtyPages} are dirty). A process crash
     * loses nothing; a machine crash loses at most the last interval.
     */
    ASYNC,
    /**
     * Done once an fsync covering the record has returned (group commit: one fsync serves every
     * append waiting at that moment). Nothing acknowledged is lost even if the machine crashes.
     */
    SYNC
}
