package dev.ferry.broker;

import java.util.List;

/**
 * A snapshot of a consumer group for admin tools (DESCRIBE_GROUP).
 *
 * @param model      null if the group has no live member (only committed offsets)
 * @param strategy   allocation strategy name, or null
 * @param generation bumped by every rebalance; 0 for a group without live members
 * @param members    live members, by client id
 * @param queues     per queue: its owner (clustering), the committed offset, the end, the lag, the lock holder
 */
public record GroupDescription(String group, MessageModel model, String strategy, long generation, List<Member> members,
                               List<QueueState> queues) {
    public GroupDescription {
        members = List.copyOf(members);
        queues = List.copyOf(queues);
    }

    /** A live member; {@code lastHeartbeatMs} is its last heartbeat on the coordinator's clock. */
    public record Member(String clientId, List<String> topics, boolean orderly, long lastHeartbeatMs) {
        public Member {
            topics = List.copyOf(topics);
        }
    }

    /**
     * One queue as the group sees it; {@code owner} is the member reading it ("" if none; for a
     * broadcasting group, the member whose position this is); {@code committed} is -1 if never
     * committed; {@code lag} counts from the committed offset (or the earliest) to the end.
     */
    public record QueueState(String topic, int queueId, String owner, long committed, long maxOffset, long lag, String lockedBy) {
    }
}
