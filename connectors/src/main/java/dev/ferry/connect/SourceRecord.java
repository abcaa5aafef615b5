package dev.ferry.connect;

import dev.ferry.protocol.Message;
import java.util.Map;
import java.util.Objects;

/**
 * What a source task produced: the message to send, and the task's position <em>after</em>
 * this record (e.g. {@code {file=/var/log/app.log, inode=1234, offset=81920}}). The runtime
 * commits a position only once the broker acknowledged this record and every earlier one, so a
 * restart resends at most the records after the last committed position.
 *
 * @param message  the message; its topic may be empty, the runtime then uses the connector's
 *                 {@code topic} setting
 * @param shardingKey records with the same key go to the same queue (null: any queue)
 * @param position the source position after this record; small string keys and values
 */
public record SourceRecord(Message message, String shardingKey, Map<String, String> position) {
    public SourceRecord {
        Objects.requireNonNull(message, "message");
        position = Map.copyOf(position);
    }
}
