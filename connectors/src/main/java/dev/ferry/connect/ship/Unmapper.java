package dev.ferry.connect.ship;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.MappedByteBuffer;

/**
 * Releases a file mapping now instead of when the garbage collector gets to it, so a segment
 * that retention deletes right after it was checksummed gives its disk space back at once
 * (the same trick as the {@code log} module's own {@code Unmapper}, which is package-private
 * there). Java 17 has no public API for it: this is the one place in this package that uses
 * {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported, accessible without flags).
 * If that is not available the mapping is left to the GC.
 *
 * <p>The caller must guarantee that nothing touches the buffer afterwards (a touch would crash
 * the JVM): {@link Checksums} maps, reads and unmaps within one method. Thread-safe.
 */
final class Unmapper {
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe;
        Method cleaner;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", java.nio.ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            cleaner = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    private Unmapper() {
    }

    static void unmap(MappedByteBuffer buffer) {
        if (INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException e) {
            // left to the garbage collector
        }
    }
}
