package dev.ferry.cli;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Progress lines for long operations (records done, rate, ETA), printed to stderr at most once
 * a second when stderr is a terminal, and not at all when it is piped. Not thread-safe: call
 * {@link #print} from one thread.
 */
final class Progress {
    private final long total;
    private final AtomicLong done;
    private final long start = System.nanoTime();
    private final boolean terminal = System.console() != null;
    private long lastPrint;

    Progress(long total, AtomicLong done) {
        this.total = total;
        this.done = done;
    }

    void print() {
        long now = System.nanoTime();
        if (!terminal || now - lastPrint < 1_000_000_000L) {
            return;
        }
        lastPrint = now;
        long d = done.get();
        double s = (now - start) / 1e9;
        double rate = d / Math.max(s, 1e-9);
        double eta = rate > 0 ? (total - d) / rate : Double.NaN;
        System.err.printf(Locale.ROOT, "%,d / %,d  %.0f/s  eta %.0f s%n", d, total, rate, eta);
    }
}
