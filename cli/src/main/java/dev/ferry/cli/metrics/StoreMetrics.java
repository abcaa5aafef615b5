package dev.ferry.cli.metrics;

import dev.ferry.broker.Broker;
import dev.ferry.broker.CommittedOffset;
import dev.ferry.log.MessageStore;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The storage engine's and the broker's state as meters, read when scraped: the flusher's fsync
 * count and time (the log module's counters, {@link MessageStore#fsyncCount()} and
 * {@link MessageStore#fsyncNanos()}), commit-log size and offsets, and consumer lag per (group,
 * topic, queue). Lag gauges are made as committed offsets appear and removed when they go away
 * (topic deleted); {@link #refresh()} does that and runs before each scrape.
 *
 * <p><b>Thread safety.</b> {@link #refresh()} is synchronized; the gauges read thread-safe
 * broker and store methods.
 */
public final class StoreMetrics {
    private final MeterRegistry registry;
    private final Broker broker;
    private final Map<CommittedOffset, Meter> lag = new HashMap<>();

    public StoreMetrics(MeterRegistry registry, Broker broker) {
        this.registry = registry;
        this.broker = broker;
        MessageStore store = broker.store();
        FunctionTimer.builder("ferry.log.flush", store, MessageStore::fsyncCount, MessageStore::fsyncNanos, TimeUnit.NANOSECONDS)
                .description("fsyncs of the commit log by the flusher, and the time they took")
                .register(registry);
        FunctionCounter.builder("ferry.log.fsyncs", store, MessageStore::fsyncCount)
                .description("fsync calls of the commit log by the flusher")
                .register(registry);
        Gauge.builder("ferry.log.disk.bytes", store, MessageStore::commitLogBytes)
                .description("Bytes of commit-log segment files on disk")
                .register(registry);
        Gauge.builder("ferry.log.written.offset", store, MessageStore::writtenOffset)
                .description("End of the commit log: the physical offset the next record gets")
                .register(registry);
        Gauge.builder("ferry.log.flushed.offset", store, MessageStore::flushedOffset)
                .description("How much of the commit log is known to be on disk")
                .register(registry);
        Gauge.builder("ferry.log.unflushed.bytes", store, s -> s.writtenOffset() - s.flushedOffset())
                .description("Commit-log bytes written but not yet known to be on disk")
                .register(registry);
        Gauge.builder("ferry.log.unindexed.bytes", store, s -> Math.max(0, s.writtenOffset() - s.indexedPhysicalOffset()))
                .description("Commit-log bytes written but not yet in the offset indexes (the index dispatcher's lag)")
                .register(registry);
        Gauge.builder("ferry.log.start.offset", store, MessageStore::minPhysicalOffset)
                .description("Earliest commit-log position still kept (moves with retention)")
                .register(registry);
    }

    /** Registers lag gauges for committed offsets that appeared, removes those whose offsets are gone. */
    public synchronized void refresh() {
        Set<CommittedOffset> seen = new HashSet<>();
        for (CommittedOffset c : broker.committedOffsets()) {
            CommittedOffset key = new CommittedOffset(c.group(), c.topic(), c.queueId(), 0);
            seen.add(key);
            lag.computeIfAbsent(key, k -> Gauge.builder("ferry.consumer.lag", k, this::lagOf)
                    .description("Messages of a queue a consumer group has not committed yet: end offset - committed offset "
                            + "(or the queue's first offset, if higher)")
                    .tag("group", k.group())
                    .tag("topic", k.topic())
                    .tag("queue", Integer.toString(k.queueId()))
                    .strongReference(true)
                    .register(registry));
        }
        for (Iterator<Map.Entry<CommittedOffset, Meter>> it = lag.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<CommittedOffset, Meter> e = it.next();
            if (!seen.contains(e.getKey())) {
                registry.remove(e.getValue());
                it.remove();
            }
        }
    }

    private double lagOf(CommittedOffset k) {
        var committed = broker.committedOffset(k.group(), k.topic(), k.queueId());
        if (committed.isEmpty()) {
            return Double.NaN;
        }
        // from the queue's first offset at the lowest, as DESCRIBE_GROUP counts: records below it (retention deleted
        // them, or the topic was deleted and created again) are nothing the group can still read
        long first = broker.store().minOffset(k.topic(), k.queueId());
        return Math.max(0, broker.store().nextOffset(k.topic(), k.queueId()) - Math.max(first, committed.getAsLong()));
    }
}
