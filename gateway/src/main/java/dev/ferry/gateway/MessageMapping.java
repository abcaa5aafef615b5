package dev.ferry.gateway;

import dev.ferry.log.InvalidMessageException;
import dev.ferry.log.LogMessage;
import dev.ferry.log.StoredMessage;
import dev.ferry.protocol.Message;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/** Converts between the wire's {@link Message} and the log's message types. Stateless. */
final class MessageMapping {
    private MessageMapping() {}

    /**
     * The log message for {@code m}, sent to {@code queueId} by {@code client}; the body is not copied here.
     * A properties area over {@code maxPropertiesBytes} (the store's limit) is refused here, with the store's
     * text: building one over 65,535 bytes, the most the record format holds, failed naming that limit,
     * not the configured one that applies.
     *
     * @throws InvalidMessageException over the limit
     */
    static LogMessage toLog(Message m, int queueId, InetSocketAddress client, int maxPropertiesBytes) {
        long area = LogMessage.propertiesAreaBytes(m.tags().isEmpty() ? null : m.tags(), m.keys(), m.properties());
        if (area > maxPropertiesBytes) {
            throw InvalidMessageException.overLimit("properties: " + area + " bytes encoded (expected: <= " + maxPropertiesBytes + ")");
        }
        LogMessage.Builder b = LogMessage.builder(m.topic(), queueId, m.body())
                .bornTimestamp(m.bornTimestamp())
                .bornHost(client)
                .flags(m.flags());
        if (!m.tags().isEmpty()) {
            b.tags(m.tags());
        }
        for (String key : m.keys()) {
            b.key(key);
        }
        if (!m.properties().isEmpty()) {
            b.properties(m.properties());
        }
        return b.build();
    }

    static Message toWire(StoredMessage s) {
        return Message.builder(s.topic())
                .queueId(s.queueId())
                .queueOffset(s.queueOffset())
                .msgId(s.messageId())
                .keys(s.keys())
                .tags(s.tags())
                .properties(s.properties())
                .bornTimestamp(s.bornTimestamp())
                .storeTimestamp(s.storeTimestamp())
                .flags(s.flags())
                .body(ByteBuffer.wrap(s.body()))
                .build();
    }
}
