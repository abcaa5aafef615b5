package dev.ferry.log;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * A record read back from the commit log, decoded into a heap copy: for tests, tools, lookups
 * by id/key and the copy read API. The fast read path hands out file regions instead
 * ({@link ReadResult}).
 *
 * @param size the record's length in the commit log, header included
 * @param flags message flags ({@link MessageFlags}), without the engine's own bits
 */
public record StoredMessage(
        String topic,
        int queueId,
        long queueOffset,
        long physicalOffset,
        int size,
        int flags,
        long bornTimestamp,
        long storeTimestamp,
        InetSocketAddress bornHost,
        InetSocketAddress storeHost,
        int reconsumeTimes,
        long preparedTxOffset,
        String tags,
        List<String> keys,
        Map<String, String> properties,
        byte[] body) {

    /** The message id: the record's physical offset as 16 hex digits; see {@link MessageStore#readById}. */
    public String messageId() {
        return MessageIds.of(physicalOffset);
    }
}
