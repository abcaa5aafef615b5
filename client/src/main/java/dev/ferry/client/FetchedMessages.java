package dev.ferry.client;

import dev.ferry.log.StoredMessage;
import dev.ferry.log.StoredRecords;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The messages of a FETCH response, whatever the codec: with the binary codec the body holds
 * stored records verbatim (docs/PROTOCOL.md) and is decoded here; other codecs carry them as
 * {@code messages}. Stateless.
 */
final class FetchedMessages {
    private FetchedMessages() {}

    static List<Message> of(Command response, boolean storedRecords) {
        if (!storedRecords || response.bodyLength() == 0) {
            return response.messages();
        }
        List<StoredMessage> stored = StoredRecords.decode(response.body());
        List<Message> out = new ArrayList<>(stored.size());
        for (StoredMessage s : stored) {
            out.add(Message.builder(s.topic()).queueId(s.queueId()).queueOffset(s.queueOffset()).msgId(s.messageId())
                    .keys(s.keys()).tags(s.tags()).properties(s.properties()).bornTimestamp(s.bornTimestamp())
                    .storeTimestamp(s.storeTimestamp()).flags(s.flags()).body(ByteBuffer.wrap(s.body())).build());
        }
        return out;
    }
}
