package dev.ferry.cli.metrics;

import dev.ferry.gateway.GatewayMetrics;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's reports as Micrometer meters (names in docs/OPERATIONS.md, "Metrics").
 *
 * <p>Hot-path cost: a request is one array lookup by enum ordinal and one timer record; a send or
 * fetch adds one {@link ConcurrentHashMap#get} by topic (the topic string the request already
 * carries: nothing is concatenated) and two counter increments. Meters of a request code or
 * status are made up front; those of a topic or codec on first use.
 *
 * <p><b>Thread safety.</b> Safe for any number of threads, as {@link GatewayMetrics} requires.
 */
public final class MicrometerGatewayMetrics implements GatewayMetrics {
    private record TopicMeters(Counter messagesIn, Counter bytesIn, Counter messagesOut, Counter bytesOut) {}

    private final MeterRegistry registry;
    /** Indexed by {@link RequestCode#ordinal()}. */
    private final Timer[] requests;
    /** Indexed by {@link Status#ordinal()}; null for OK. */
    private final Counter[] requestErrors;
    private final ConcurrentHashMap<String, TopicMeters> topics = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> connections = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> connectionErrors = new ConcurrentHashMap<>();

    public MicrometerGatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
        RequestCode[] codes = RequestCode.values();
        requests = new Timer[codes.length];
        for (RequestCode c : codes) {
            requests[c.ordinal()] = Timer.builder("ferry.requests")
                    .description("Time from a request's decode to its reply being written, by request code")
                    .tag("code", c.name())
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofNanos(20_000))
                    .maximumExpectedValue(Duration.ofSeconds(30))
                    .register(registry);
        }
        Status[] statuses = Status.values();
        requestErrors = new Counter[statuses.length];
        for (Status s : statuses) {
            if (s != Status.OK) {
                requestErrors[s.ordinal()] = errors("request", s.name());
            }
        }
    }

    private Counter errors(String kind, String reason) {
        return Counter.builder("ferry.errors")
                .description("Errors: requests answered with an error status (kind=request), refused handshakes, unreadable frames, failed connections")
                .tag("kind", kind)
                .tag("reason", reason)
                .register(registry);
    }

    @Override
    public void connectionOpened(String codec) {
        connections(codec).incrementAndGet();
    }

    @Override
    public void connectionClosed(String codec) {
        connections(codec).decrementAndGet();
    }

    private AtomicInteger connections(String codec) {
        AtomicInteger n = connections.get(codec);
        if (n != null) {
            return n;
        }
        return connections.computeIfAbsent(codec, c -> {
            AtomicInteger open = new AtomicInteger();
            Gauge.builder("ferry.connections", open, AtomicInteger::get)
                    .description("Connections open (handshake done), by codec")
                    .tag("codec", c)
                    .strongReference(true)
                    .register(registry);
            return open;
        });
    }

    @Override
    public void frameBudget(java.util.function.LongSupplier reservedBytes, java.util.function.IntSupplier waitingConnections) {
        Gauge.builder("ferry.frames.buffered", reservedBytes, s -> s.getAsLong())
                .description("Bytes of request frames being read or not yet decoded, set aside from frames.max.buffered.bytes")
                .baseUnit("bytes")
                .strongReference(true)
                .register(registry);
        Gauge.builder("ferry.frames.waiting.connections", waitingConnections, s -> s.getAsInt())
                .description("Connections not read now because frames.max.buffered.bytes cannot cover their next frame")
                .strongReference(true)
                .register(registry);
    }

    @Override
    public void requestCompleted(RequestCode code, Status status, long nanos) {
        requests[code.ordinal()].record(nanos, TimeUnit.NANOSECONDS);
        if (status != Status.OK) {
            requestErrors[status.ordinal()].increment();
        }
    }

    @Override
    public void messagesIn(String topic, int messages, long bytes) {
        TopicMeters m = topic(topic);
        m.messagesIn.increment(messages);
        m.bytesIn.increment(bytes);
    }

    @Override
    public void messagesOut(String topic, int messages, long bytes) {
        TopicMeters m = topic(topic);
        m.messagesOut.increment(messages);
        m.bytesOut.increment(bytes);
    }

    private TopicMeters topic(String topic) {
        TopicMeters m = topics.get(topic);
        return m != null ? m : topics.computeIfAbsent(topic, t -> new TopicMeters(
                counter("ferry.messages.in", "Messages stored by sends, by topic", t),
                counter("ferry.bytes.in", "Stored record bytes (headers included) of messages sent, by topic", t),
                counter("ferry.messages.out", "Messages returned by fetches, by topic", t),
                counter("ferry.bytes.out", "Stored record bytes (headers included) of messages fetched, by topic", t)));
    }

    private Counter counter(String name, String description, String topic) {
        return Counter.builder(name).description(description).tag("topic", topic).register(registry);
    }

    /** Drops the topic's meters; a send or fetch that raced the deletion may make them again (the next deletion drops them). */
    @Override
    public void topicDeleted(String topic) {
        TopicMeters m = topics.remove(topic);
        if (m != null) {
            registry.remove(m.messagesIn);
            registry.remove(m.bytesIn);
            registry.remove(m.messagesOut);
            registry.remove(m.bytesOut);
        }
    }

    @Override
    public void connectionError(String kind, String reason) {
        String key = kind + '/' + reason; // rare: not on the request path
        connectionErrors.computeIfAbsent(key, k -> errors(kind, reason)).increment();
    }
}
