package dev.ferry.broker;

import java.util.List;

/**
 * A topic and the state of its queues.
 *
 * @param queues per queue: its id, earliest offset still held, and the offset its next message gets
 */
public record TopicInfo(String name, int queueCount, List<QueueInfo> queues) {
    public record QueueInfo(int queueId, long minOffset, long maxOffset) {}
}
