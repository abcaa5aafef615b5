package dev.ferry.protocol.hessian;

/**
 * Map keys of the Hessian codec: the same lowerCamel names as the JSON codec.
 *
 * <pre>
 * command map: kind (string), code (string), requestId (int), status (string), message (string),
 *              headers (untyped map string -> string), messages (untyped list of message maps), body (binary)
 * message map: topic, queueId (int), queueOffset (long), msgId, keys (untyped list of strings), tags,
 *              properties (untyped map string -> string), bornTimestamp, storeTimestamp, deliverAt (long),
 *              flags (int), body (binary)
 * </pre>
 *
 * <p>Constants only; thread-safe.
 */
final class HessianFields {
    static final String KIND = "kind";
    static final String CODE = "code";
    static final String REQUEST_ID = "requestId";
    static final String STATUS = "status";
    static final String MESSAGE = "message";
    static final String HEADERS = "headers";
    static final String MESSAGES = "messages";
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

    private HessianFields() {
    }
}
