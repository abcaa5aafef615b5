package dev.ferry.log;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.MappedByteBuffer;

/**
 * Releases a file mapping now instead of when the garbage collector gets to it, so that the
 * disk space of a deleted 1 GiB segment comes back at once. Java 17 has no public API for it;
 * this is the one place that uses {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported,
 * accessible without flags). If that is not available the mapping is left to the GC.
 *
 * <p>The caller must guarantee that nothing touches the buffer afterwards (a touch would crash
 * the JVM): {@link Segment} and the index files ({@link SharedMapping}) do so with reference
 * counting; segment shipping unmaps each checksum window it mapped itself.
 * Public for that last user only.
 */
public final class Unmapper {
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method cleaner = null;
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

    private Unmapper() {}

    /** Unmaps {@code buffer} now (or leaves it to the GC where the JDK offers no way); nothing may touch it afterwards. */
    public static void unmap(MappedByteBuffer buffer) {
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
