package dev.ferry.client;

/**
 * A topic as the broker describes it.
 *
 * @param name   the topic
 * @param queues its queue count; queue ids are 0 .. queues-1
 */
public record TopicDescription(String name, int queues) {
}
