package dev.ferry.log;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Faults in the pages of a segment ahead of the appender, on another thread, so the appender
 * copies bytes instead of taking page faults (in a VM a write fault on a file mapping costs
 * microseconds).
 *
 * <p>It may run while the appender writes the same segment. It touches each page with a
 * compare-and-set of 0 to 0 on the page's first 8 bytes: if the appender already wrote there,
 * the CAS fails and changes nothing; if not, it writes the 0 that is there. Either way no byte
 * the appender wrote is lost, which a plain write of 0 could not promise.
 *
 * <p><b>Thread safety.</b> Holds a reference on the segment while it works, so the mapping
 * stays valid; stops early when the segment is released by its owner.
 */
final class PageWarmer {
    private static final int PAGE = 4096;
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private PageWarmer() {}

    /**
     * Touches the pages of {@code s} from {@code from} on, skipping ahead whenever the appender
     * (whose end of log {@code writtenOffset} gives) has passed the warmer; returns pages touched.
     */
    static int warm(Segment s, int from, java.util.function.LongSupplier writtenOffset) {
        if (!s.retain()) {
            return 0;
        }
        try {
            int pages = 0;
            for (int p = (from + PAGE - 1) & -PAGE; p + 8 <= s.size; p += PAGE) {
                if (s.isClosing()) {
                    break;
                }
                if ((pages & 255) == 0) {
                    long writer = writtenOffset.getAsLong() - s.baseOffset;
                    if (writer >= p) {
                        p = (int) Math.min(s.size, (writer + PAGE) & -PAGE);
                        continue;
                    }
                }
                LONGS.compareAndSet(s.map, p, 0L, 0L);
                pages++;
            }
            return pages;
        } finally {
            s.release();
        }
    }
}
