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
        List<Message> out = listFor(response);
        of(response, storedRecords, out);
        return out;
    }

    /** An empty list with room for the messages of {@code response}, to pass to {@link #of(Command, boolean, List)}. */
    static List<Message> listFor(Command response) {
        return new ArrayList<>(expectedCount(response));
    }

    /**
     * About as many messages as {@code response} holds, assuming stored records of 128 bytes (a
     * 100-byte body stores as about 200): lists grown by halves from 10 were a tenth of a 100-byte
     * consumer's decoding (JFR).
     */
    private static int expectedCount(Command response) {
        return Math.min(response.bodyLength() / 128 + response.messages().size() + 1, 1 << 16);
    }

    /**
     * Adds the response's messages to {@code out}; if a record cannot be decoded (it fails its
     * CRC32C or its framing), throws, with the messages before it in {@code out}.
     */
    static void of(Command response, boolean storedRecords, List<Message> out) {
        if (!storedRecords || response.bodyLength() == 0) {
            out.addAll(response.messages());
            return;
        }
        List<StoredMessage> stored = new ArrayList<>(expectedCount(response));
        try {
            StoredRecords.decode(response.body(), stored);
        } finally {
            for (StoredMessage s : stored) {
                out.add(Message.builder(s.topic()).queueId(s.queueId()).queueOffset(s.queueOffset()).msgId(s.messageId())
                        .keys(s.keys()).tags(s.tags()).properties(s.properties()).bornTimestamp(s.bornTimestamp())
                        .storeTimestamp(s.storeTimestamp()).flags(s.flags()).body(ByteBuffer.wrap(s.body())).build());
            }
        }
    }
}
