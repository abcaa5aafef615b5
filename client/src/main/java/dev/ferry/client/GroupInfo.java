package dev.ferry.client;

import java.util.List;

/**
 * A consumer group as DESCRIBE_GROUP reports it ({@link FerryClient#describeGroup}).
 *
 * @param mode       CLUSTERING or BROADCASTING; "-" for a group without live members
 * @param strategy   allocation strategy; "-" if none
 * @param generation the live group's generation (up by one at each rebalance or offset reset; a
 *                   group made again starts above any it had before); 0 without live members
 */
public record GroupInfo(String group, String mode, String strategy, long generation, List<Member> members, List<Queue> queues) {
    public GroupInfo {
        members = List.copyOf(members);
        queues = List.copyOf(queues);
    }

    /** A live member. */
    public record Member(String clientId, List<String> topics, boolean orderly, long lastHeartbeatMs) {
    }

    /**
     * A queue: {@code owner} reads it ("-" if nobody; broadcasting: whose position this is),
     * {@code committed} is -1 if never committed, {@code lockedBy} "-" if unlocked.
     */
    public record Queue(String topic, int queueId, String owner, long committed, long maxOffset, long lag, String lockedBy) {
    }
}
