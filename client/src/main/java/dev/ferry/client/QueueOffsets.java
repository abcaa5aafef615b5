package dev.ferry.client;

/**
 * The offsets of one queue (GET_OFFSET).
 *
 * @param minOffset earliest offset still stored
 * @param maxOffset offset the next stored message will get
 */
public record QueueOffsets(long minOffset, long maxOffset) {
}
