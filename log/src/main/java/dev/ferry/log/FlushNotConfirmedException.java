package dev.ferry.log;

import java.util.List;

/**
 * SYNC flush: the records were written to the commit log, and are readable, but the fsync that
 * covers them did not complete within {@code syncFlushTimeoutMs} ({@link #timedOut()}) or failed.
 * They are not unwritten: a reader may already have them, and a process crash will not lose them
 * (the page cache outlives the process); only a machine crash may. A caller that keeps state about
 * what it stored (a transaction decided, a delayed message delivered) must treat them as stored,
 * and may tell its own client that durability is not confirmed. {@link #written()} are their
 * results, in the order they were appended.
 */
public final class FlushNotConfirmedException extends LogException {
    private static final long serialVersionUID = 1L;

    private final transient List<AppendResult> written;
    private final boolean timedOut;

    FlushNotConfirmedException(String message, List<AppendResult> written, boolean timedOut, Throwable cause) {
        super(message, cause);
        this.written = List.copyOf(written);
        this.timedOut = timedOut;
    }

    /** The records that were written, whose flush is not confirmed. */
    public List<AppendResult> written() {
        return written;
    }

    /** True if the fsync did not come back in time (it may still complete); false if it failed. */
    public boolean timedOut() {
        return timedOut;
    }

    /**
     * The records {@code failure} (as a future completes with it, possibly wrapped in a
     * {@link java.util.concurrent.CompletionException}) says were written all the same: its
     * {@link #written()} if it is a {@code FlushNotConfirmedException}, else null (nothing written).
     */
    public static List<AppendResult> writtenDespite(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof FlushNotConfirmedException f) {
                return f.written();
            }
        }
        return null;
    }
}
