package dev.ferry.client;

import dev.ferry.protocol.Headers;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Settings of a {@link GroupConsumer}: a member of a consumer group whose queues the broker
 * assigns. Immutable; validated when built.
 *
 * @param topics              topics to consume (a clustering member also reads the group's retry topic {@code %RETRY%GROUP})
 * @param group               consumer group
 * @param clientId            this member's id, unique in the group (default: random); [A-Za-z0-9._|-]
 * @param model               {@link Model#CLUSTERING} (queues shared, default) or {@link Model#BROADCASTING} (every member gets everything)
 * @param allocation          how a clustering group shares queues (default {@link Allocation#AVERAGE})
 * @param orderly             lock each queue on the broker and handle its messages one at a time, retrying failures in place (default false)
 * @param heartbeatIntervalMs how often the member heartbeats and picks up assignment changes (default 3,000)
 * @param startFrom           where a queue the group never committed on starts: EARLIEST or LATEST (default earliest)
 * @param maxReconsumeTimes   failed deliveries of a message before it is given up. A clustering member that is not
 *                            orderly sends it with each nack ({@link GroupConsumer#nack}), and the broker moves a message
 *                            that failed more often to the dead-letter topic instead of the retry topic, as RocketMQ's
 *                            consumer setting does; orderly and broadcasting members retry in place up to it, then
 *                            give the message up (orderly clustering: sent to the dead-letter topic; broadcasting,
 *                            orderly or not: skipped). Default -1: the broker's limit for a clustering member's nacks
 *                            (16; an embedded broker's GroupConfig.maxReconsumeTimes, which {@code ferry broker} does not
 *                            expose), {@value #DEFAULT_IN_PLACE_RETRIES} in place; 0..10,000
 *                            else. A message whose invisible time runs out (a member that never answered) always
 *                            counts against the broker's.
 * @param retryBackoffMs      pause before an in-place retry, and after a failed fetch (default 1,000)
 * @param maxWaitMs           long-poll wait of one FETCH (default 1,000)
 * @param maxFetchMessages    most messages per FETCH (default 256)
 * @param tags                broker-side tag filter; empty = all
 * @param sql                 broker-side SQL92 filter over the messages' properties, such as {@code a > 5 AND region IN
 *                            ('eu','us')} (docs/PROTOCOL.md, FETCH); empty = none (default). Applied to the group's
 *                            retry topic too (a retry copy keeps the properties). A clustering group's committed offset
 *                            moves past what it filters out, as past what a tag filter skips. An expression the broker
 *                            refuses (malformed, or past its limits) makes {@link GroupConsumer#poll} throw.
 */
public record GroupConsumerConfig(List<String> topics, String group, String clientId, Model model, Allocation allocation, boolean orderly,
                                  long heartbeatIntervalMs, StartPosition startFrom, int maxReconsumeTimes, long retryBackoffMs,
                                  long maxWaitMs, int maxFetchMessages, String tags, String sql) {
    /** In-place retries of an orderly or broadcasting member whose {@code maxReconsumeTimes} is the default, -1. */
    public static final int DEFAULT_IN_PLACE_RETRIES = 16;

    /** How a group shares messages. */
    public enum Model { CLUSTERING, BROADCASTING }

    /** Queue allocation strategy of a clustering group (the broker computes it). */
    public enum Allocation { AVERAGE, CONSISTENT_HASH }

    public GroupConsumerConfig {
        Objects.requireNonNull(topics, "topics");
        topics.forEach(Checks::topic); // before the copy, which throws a bare NullPointerException on a null topic
        topics = List.copyOf(topics);
        if (topics.isEmpty()) {
            throw new IllegalArgumentException("topics: empty (expected: at least one topic)");
        }
        Checks.nonEmpty("group", group);
        Checks.nonEmpty("clientId", clientId);
        if (!clientId.matches("[A-Za-z0-9._|-]{1,128}")) {
            throw new IllegalArgumentException("clientId: '" + clientId + "' (expected: 1..128 characters of [A-Za-z0-9._|-])");
        }
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(allocation, "allocation");
        Objects.requireNonNull(startFrom, "startFrom");
        Objects.requireNonNull(tags, "tags");
        Objects.requireNonNull(sql, "sql");
        Checks.range("heartbeatIntervalMs", heartbeatIntervalMs, 1, 600_000);
        Checks.range("maxReconsumeTimes", maxReconsumeTimes, -1, Headers.MAX_RECONSUME_TIMES_LIMIT);
        Checks.range("retryBackoffMs", retryBackoffMs, 1, 3_600_000);
        Checks.range("maxWaitMs", maxWaitMs, 0, 30_000);
        Checks.range("maxFetchMessages", maxFetchMessages, 1, Integer.MAX_VALUE);
    }

    /** Failed deliveries an orderly or broadcasting member retries in place: {@code maxReconsumeTimes}, or its default. */
    public int inPlaceRetries() {
        return maxReconsumeTimes >= 0 ? maxReconsumeTimes : DEFAULT_IN_PLACE_RETRIES;
    }

    public static Builder builder(String topic, String group) {
        return new Builder(Collections.singletonList(topic), group); // a null topic is named by build(), not List.of's bare NPE
    }

    public static Builder builder(List<String> topics, String group) {
        return new Builder(topics, group);
    }

    /** Builds a {@link GroupConsumerConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private final List<String> topics;
        private final String group;
        private String clientId = "c-" + UUID.randomUUID().toString().substring(0, 8);
        private Model model = Model.CLUSTERING;
        private Allocation allocation = Allocation.AVERAGE;
        private boolean orderly;
        private long heartbeatIntervalMs = 3_000;
        private StartPosition startFrom = StartPosition.EARLIEST;
        private int maxReconsumeTimes = -1;
        private long retryBackoffMs = 1_000;
        private long maxWaitMs = 1_000;
        private int maxFetchMessages = 256;
        private String tags = "";
        private String sql = "";

        private Builder(List<String> topics, String group) {
            this.topics = topics;
            this.group = group;
        }

        public Builder clientId(String v) { clientId = v; return this; }
        public Builder model(Model v) { model = v; return this; }
        public Builder broadcasting() { model = Model.BROADCASTING; return this; }
        public Builder allocation(Allocation v) { allocation = v; return this; }
        public Builder orderly(boolean v) { orderly = v; return this; }
        public Builder heartbeatIntervalMs(long v) { heartbeatIntervalMs = v; return this; }
        public Builder startFrom(StartPosition v) { startFrom = v; return this; }
        public Builder maxReconsumeTimes(int v) { maxReconsumeTimes = v; return this; }
        public Builder retryBackoffMs(long v) { retryBackoffMs = v; return this; }
        public Builder maxWaitMs(long v) { maxWaitMs = v; return this; }
        public Builder maxFetchMessages(int v) { maxFetchMessages = v; return this; }
        public Builder tags(String v) { tags = v; return this; }
        public Builder sql(String v) { sql = v; return this; }

        public GroupConsumerConfig build() {
            return new GroupConsumerConfig(topics, group, clientId, model, allocation, orderly, heartbeatIntervalMs, startFrom,
                    maxReconsumeTimes, retryBackoffMs, maxWaitMs, maxFetchMessages, tags, sql);
        }
    }
}
