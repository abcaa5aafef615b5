package dev.ferry.log;

/**
 * Where an appended message landed.
 *
 * @param queueOffset    its position in its (topic, queue)
 * @param physicalOffset its position in the commit log
 * @param size           record bytes, header included
 */
public record AppendResult(String topic, int queueId, long queueOffset, long physicalOffset, int size,
                           long storeTimestamp) {
    public String messageId() {
        return MessageIds.of(physicalOffset);
    }
}
