package dev.ferry.client;

import dev.ferry.protocol.Message;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;

/**
 * Messages of one (topic, queue) sent as one SEND_BATCH, and resent whole if that fails
 * retryably. Event loop only; not thread-safe.
 */
final class Batch {
    final Partition partition;
    PendingRecord[] records;
    int count;
    long bytes;
    int attempts;
    /** A sendBatch holding delayed messages: the broker's first offset says nothing of the others (reported as -1). */
    boolean offsetsUnknown;

    Batch(Partition partition, int capacity) {
        this.partition = partition;
        this.records = new PendingRecord[Math.max(capacity, 1)];
    }

    void add(PendingRecord r) {
        if (count == records.length) {
            records = Arrays.copyOf(records, count * 2);
        }
        records[count++] = r;
        bytes += r.size;
    }

    /** Enqueue time of the oldest message, from which its delivery deadline counts. */
    long oldestNanos() {
        long oldest = records[0].enqueuedNanos;
        for (int i = 1; i < count; i++) {
            oldest = Math.min(oldest, records[i].enqueuedNanos);
        }
        return oldest;
    }

    /** The messages, as a list view without a copy. */
    List<Message> messages() {
        return new AbstractList<>() {
            @Override
            public Message get(int index) {
                return records[index].message(partition);
            }

            @Override
            public int size() {
                return count;
            }
        };
    }
}
