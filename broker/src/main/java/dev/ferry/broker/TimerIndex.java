package dev.ferry.broker;

import java.util.Map;
import java.util.TreeMap;

/**
 * The pending delayed messages in memory: pairs (deliverAt, schedule offset), handed out in
 * (deliverAt, offset) order once due. A two-level time-bucketed wheel: far entries wait in coarse
 * buckets of {@code bucketMs} (a sorted map keyed by bucket number, each bucket two growable
 * {@code long} arrays, so about 16-24 bytes per pending message and no object per message); when a
 * bucket's start is reached its entries move into a small binary min-heap, the near level, which
 * gives them out exactly in time order. An add never scans; a poll is O(log n) in the heap.
 *
 * <p>Why not a per-millisecond map: with millions pending over 30 days nearly every message would
 * be its own map node (~100 bytes). Why not one heap of everything: the same 16 bytes per entry,
 * but every add and poll pays log(millions); buckets keep the heap at about one bucket's worth.
 *
 * <p><b>Thread safety.</b> Not thread-safe; {@link DelayedDelivery} guards it with its lock.
 */
final class TimerIndex {
    private final long bucketMs;
    private final TreeMap<Long, Bucket> far = new TreeMap<>();
    /** Buckets up to this number have been moved to the heap; later adds for them go to the heap. */
    private long nearBucket = Long.MIN_VALUE;
    private long[] heapTime = new long[64];
    private long[] heapOffset = new long[64];
    private int heapSize;
    private long size;

    TimerIndex(long bucketMs) {
        if (bucketMs < 1) {
            throw new IllegalArgumentException("bucketMs: " + bucketMs + " (expected: >= 1)");
        }
        this.bucketMs = bucketMs;
    }

    /** Entries of one far bucket, unsorted. */
    private static final class Bucket {
        long[] times = new long[4];
        long[] offsets = new long[4];
        int size;

        void add(long time, long offset) {
            if (size == times.length) {
                int n = size + Math.max(size >> 1, 4);
                times = java.util.Arrays.copyOf(times, n);
                offsets = java.util.Arrays.copyOf(offsets, n);
            }
            times[size] = time;
            offsets[size] = offset;
            size++;
        }
    }

    long size() {
        return size;
    }

    void add(long deliverAt, long offset) {
        long b = Math.floorDiv(deliverAt, bucketMs);
        if (b <= nearBucket) {
            push(deliverAt, offset);
        } else {
            far.computeIfAbsent(b, k -> new Bucket()).add(deliverAt, offset);
        }
        size++;
    }

    /** The earliest delivery time pending (Long.MAX_VALUE if none); buckets starting by {@code now} are moved near first. */
    long nextDue(long now) {
        promote(now);
        if (heapSize > 0) {
            return heapTime[0];
        }
        return far.isEmpty() ? Long.MAX_VALUE : far.firstKey() * bucketMs;
    }

    /**
     * Takes the earliest entry if it is due at {@code now}: {@code out[0]} = deliverAt,
     * {@code out[1]} = offset. False if nothing is due.
     */
    boolean pollDue(long now, long[] out) {
        promote(now);
        if (heapSize == 0 || heapTime[0] > now) {
            return false;
        }
        out[0] = heapTime[0];
        out[1] = heapOffset[0];
        heapSize--;
        if (heapSize > 0) {
            heapTime[0] = heapTime[heapSize];
            heapOffset[0] = heapOffset[heapSize];
            siftDown(0);
        }
        size--;
        return true;
    }

    private void promote(long now) {
        long b = Math.floorDiv(now, bucketMs);
        while (!far.isEmpty() && far.firstKey() <= b) {
            Map.Entry<Long, Bucket> e = far.pollFirstEntry();
            Bucket k = e.getValue();
            for (int i = 0; i < k.size; i++) {
                push(k.times[i], k.offsets[i]);
            }
        }
        nearBucket = Math.max(nearBucket, b);
    }

    private static boolean less(long t1, long o1, long t2, long o2) {
        return t1 < t2 || (t1 == t2 && o1 < o2);
    }

    private void push(long time, long offset) {
        if (heapSize == heapTime.length) {
            heapTime = java.util.Arrays.copyOf(heapTime, heapSize * 2);
            heapOffset = java.util.Arrays.copyOf(heapOffset, heapSize * 2);
        }
        int i = heapSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!less(time, offset, heapTime[parent], heapOffset[parent])) {
                break;
            }
            heapTime[i] = heapTime[parent];
            heapOffset[i] = heapOffset[parent];
            i = parent;
        }
        heapTime[i] = time;
        heapOffset[i] = offset;
    }

    private void siftDown(int i) {
        long t = heapTime[i];
        long o = heapOffset[i];
        int half = heapSize >>> 1;
        while (i < half) {
            int c = 2 * i + 1;
            int r = c + 1;
            if (r < heapSize && less(heapTime[r], heapOffset[r], heapTime[c], heapOffset[c])) {
                c = r;
            }
            if (!less(heapTime[c], heapOffset[c], t, o)) {
                break;
            }
            heapTime[i] = heapTime[c];
            heapOffset[i] = heapOffset[c];
            i = c;
        }
        heapTime[i] = t;
        heapOffset[i] = o;
    }
}
