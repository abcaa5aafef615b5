package dev.ferry.broker;

import java.time.Clock;
import java.util.List;
import java.util.Objects;

/**
 * Settings of the broker's consumer-group coordinator ({@link GroupCoordinator}). Immutable;
 * validated when built.
 *
 * @param sessionTimeoutMs    a member that sent no heartbeat for this long is removed and its queues rebalanced (default 10,000)
 * @param invisibleTimeMs     a message fetched by a clustering member and not acked within this time goes to the retry topic (default 30,000)
 * @param maxReconsumeTimes   redeliveries of a failing message before it goes to the dead-letter topic (default 16); a NACK
 *                            carrying its own maxReconsumeTimes (the consumer's setting) uses that instead
 * @param retryDelaysMs       backoff before redelivery number 1, 2, ...; the last one repeats (default 1s 5s 10s 30s 1m 2m ... 10m 20m 30m, RocketMQ's levels 3..18)
 * @param lockTimeoutMs       an orderly member's queue lock expires this long after it was last renewed (default 30,000)
 * @param sweepIntervalMs     how often sessions, locks and ack deadlines are checked (default 200)
 * @param maxTopicsPerMember  topics one JOIN_GROUP may subscribe to, its retry topic not counted (default 256)
 * @param maxMembersPerGroup  members of one group; a join beyond is refused, a known member's join again is not (default 1,000)
 * @param broadcastPositionRetentionMs the positions of a broadcasting member ({@code GROUP%CLIENT_ID}) that has not been live
 *                            for this long are forgotten, as Kafka's offsets.retention.minutes forgets a group's: a client
 *                            id is often new at every start, and each one's positions would otherwise stay for good
 *                            (default 7 days; {@link Long#MAX_VALUE} = kept until DELETE_GROUP)
 * @param clock               the clock of sessions, locks and ack deadlines; null = the log's clock
 */
public record GroupConfig(long sessionTimeoutMs, long invisibleTimeMs, int maxReconsumeTimes, List<Long> retryDelaysMs,
                          long lockTimeoutMs, long sweepIntervalMs, int maxTopicsPerMember, int maxMembersPerGroup,
                          long broadcastPositionRetentionMs, Clock clock) {
    /** Default {@link #maxTopicsPerMember()}. */
    public static final int DEFAULT_MAX_TOPICS_PER_MEMBER = 256;
    /** Default {@link #maxMembersPerGroup()}. */
    public static final int DEFAULT_MAX_MEMBERS_PER_GROUP = 1_000;
    /** Default {@link #broadcastPositionRetentionMs()}: 7 days. */
    public static final long DEFAULT_BROADCAST_POSITION_RETENTION_MS = 7 * 24 * 3_600_000L;
    public static final List<Long> DEFAULT_RETRY_DELAYS_MS = List.of(1_000L, 5_000L, 10_000L, 30_000L, 60_000L, 120_000L, 180_000L,
            240_000L, 300_000L, 360_000L, 420_000L, 480_000L, 540_000L, 600_000L, 1_200_000L, 1_800_000L);

    public GroupConfig {
        check("sessionTimeoutMs", sessionTimeoutMs, 1);
        check("invisibleTimeMs", invisibleTimeMs, 1);
        check("maxReconsumeTimes", maxReconsumeTimes, 0);
        check("lockTimeoutMs", lockTimeoutMs, 1);
        check("sweepIntervalMs", sweepIntervalMs, 1);
        check("maxTopicsPerMember", maxTopicsPerMember, 1);
        check("maxMembersPerGroup", maxMembersPerGroup, 1);
        check("broadcastPositionRetentionMs", broadcastPositionRetentionMs, 1);
        retryDelaysMs = List.copyOf(Objects.requireNonNull(retryDelaysMs, "retryDelaysMs"));
        if (retryDelaysMs.isEmpty() || retryDelaysMs.stream().anyMatch(d -> d < 0)) {
            throw new IllegalArgumentException("retryDelaysMs: " + retryDelaysMs + " (expected: at least one delay, none negative)");
        }
    }

    private static void check(String name, long v, long min) {
        if (v < min) {
            throw new IllegalArgumentException(name + ": " + v + " (expected: >= " + min + ")");
        }
    }

    public static GroupConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The backoff before redelivery number {@code reconsumeTimes} (1-based); the last delay repeats. */
    public long retryDelayMs(int reconsumeTimes) {
        return retryDelaysMs.get(Math.max(0, Math.min(reconsumeTimes, retryDelaysMs.size()) - 1));
    }

    /** Builds a {@link GroupConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private long sessionTimeoutMs = 10_000;
        private long invisibleTimeMs = 30_000;
        private int maxReconsumeTimes = 16;
        private List<Long> retryDelaysMs = DEFAULT_RETRY_DELAYS_MS;
        private long lockTimeoutMs = 30_000;
        private long sweepIntervalMs = 200;
        private int maxTopicsPerMember = DEFAULT_MAX_TOPICS_PER_MEMBER;
        private int maxMembersPerGroup = DEFAULT_MAX_MEMBERS_PER_GROUP;
        private long broadcastPositionRetentionMs = DEFAULT_BROADCAST_POSITION_RETENTION_MS;
        private Clock clock;

        public Builder sessionTimeoutMs(long v) { sessionTimeoutMs = v; return this; }
        public Builder invisibleTimeMs(long v) { invisibleTimeMs = v; return this; }
        public Builder maxReconsumeTimes(int v) { maxReconsumeTimes = v; return this; }
        public Builder retryDelaysMs(List<Long> v) { retryDelaysMs = v; return this; }
        public Builder lockTimeoutMs(long v) { lockTimeoutMs = v; return this; }
        public Builder sweepIntervalMs(long v) { sweepIntervalMs = v; return this; }
        public Builder maxTopicsPerMember(int v) { maxTopicsPerMember = v; return this; }
        public Builder maxMembersPerGroup(int v) { maxMembersPerGroup = v; return this; }
        public Builder broadcastPositionRetentionMs(long v) { broadcastPositionRetentionMs = v; return this; }
        public Builder clock(Clock v) { clock = v; return this; }

        public GroupConfig build() {
            return new GroupConfig(sessionTimeoutMs, invisibleTimeMs, maxReconsumeTimes, retryDelaysMs, lockTimeoutMs, sweepIntervalMs,
                    maxTopicsPerMember, maxMembersPerGroup, broadcastPositionRetentionMs, clock);
        }
    }
}
