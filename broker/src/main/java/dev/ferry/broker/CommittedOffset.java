package dev.ferry.broker;

/**
 * One committed consumer offset: the next offset {@code group} will read from {@code topic}'s
 * queue {@code queueId}.
 */
public record CommittedOffset(String group, String topic, int queueId, long offset) {}
