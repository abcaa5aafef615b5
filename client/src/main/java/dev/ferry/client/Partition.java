package dev.ferry.client;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Messages waiting to be batched for one (topic, queue): the producer's accumulator for that
 * queue. Queue id {@link dev.ferry.protocol.Message#ANY_QUEUE} collects messages of a topic whose
 * queue count is not known; each of their batches goes to a queue the broker picks.
 *
 * <p><b>Thread safety.</b> Any number of sending threads append (a lock-free queue offer and an
 * atomic add: no lock per message); one thread, the producer's event loop, takes batches out.
 * {@code bytes} is incremented before the offer and decremented after the poll, so it never
 * under-counts what the queue holds.
 */
final class Partition {
    final String topic;
    final int queueId;
    final String label;
    final ConcurrentLinkedQueue<PendingRecord> queue = new ConcurrentLinkedQueue<>();
    final AtomicLong bytes = new AtomicLong();
    /**
     * Batches of this queue waiting to be resent (backing off, or in the producer's retry
     * queue): while there are any, no later batch of the queue is sent, so a resend does not land
     * behind messages sent after it. Event loop only.
     */
    int resending;

    Partition(String topic, int queueId) {
        this.topic = topic;
        this.queueId = queueId;
        this.label = "SEND_BATCH " + topic + "/" + queueId;
    }

    /**
     * Appends; returns the bytes queued before this record, from which the caller sees whether
     * the queue was empty or a batch just filled.
     */
    long append(PendingRecord r) {
        long before = bytes.getAndAdd(r.size);
        queue.offer(r);
        return before;
    }

    /** Takes up to {@code maxBytes} (at least one record) and {@code maxCount} records. Event loop only. */
    Batch take(long maxBytes, int maxCount) {
        Batch b = new Batch(this, Math.min(maxCount, 64));
        long taken = 0;
        PendingRecord r;
        while (b.count < maxCount && (r = queue.peek()) != null) {
            if (b.count > 0 && taken + r.size > maxBytes) {
                break;
            }
            queue.poll();
            b.add(r);
            taken += r.size;
        }
        bytes.addAndGet(-taken);
        return b;
    }
}
