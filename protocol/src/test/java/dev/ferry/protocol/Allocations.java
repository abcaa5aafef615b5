package dev.ferry.protocol;

import java.lang.management.ManagementFactory;

/**
 * Bytes allocated by the current thread, as the JVM counts them, so fuzz tests can assert that a
 * decoder did not allocate for a length or count it should have refused. Not thread-safe; call
 * from the thread that decodes.
 */
public final class Allocations {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Allocations() {
    }

    /** Running total of bytes allocated by this thread. */
    public static long current() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }
}
