package dev.ferry.protocol.json;

/**
 * Field names of the JSON codec, lowerCamel, shared by its writer and reader.
 *
 * <pre>
 * command: kind, code, requestId, status, message, headers, messages, bodyEncoding, body
 * message: topic, queueId, queueOffset, msgId, keys, tags, properties, bornTimestamp,
 *          storeTimestamp, deliverAt, flags, bodyEncoding, body
 * bodyEncoding: "utf8" (body is the bytes as a JSON string) or "base64" (RFC 4648, padded)
 * </pre>
 *
 * <p>Constants only; thread-safe.
 */
final class JsonFields {
    static final String KIND = "kind";
    static final String CODE = "code";
    static final String REQUEST_ID = "requestId";
    static final String STATUS = "status";
    static final String MESSAGE = "message";
    static final String HEADERS = "headers";
    static final String MESSAGES = "messages";
    static final String BODY_ENCODING = "bodyEncoding";
    static final String BODY = "body";

    static final String TOPIC = "topic";
    static final String QUEUE_ID = "queueId";
    static final String QUEUE_OFFSET = "queueOffset";
    static final String MSG_ID = "msgId";
    static final String KEYS = "keys";
    static final String TAGS = "tags";
    static final String PROPERTIES = "properties";
    static final String BORN_TIMESTAMP = "bornTimestamp";
    static final String STORE_TIMESTAMP = "storeTimestamp";
    static final String DELIVER_AT = "deliverAt";
    static final String FLAGS = "flags";

    static final String UTF8 = "utf8";
    static final String BASE64 = "base64";

    private JsonFields() {
    }
}
