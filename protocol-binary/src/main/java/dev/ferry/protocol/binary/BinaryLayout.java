package dev.ferry.protocol.binary;

/**
 * Byte layout of the binary codec: offsets and sizes as named constants, each chained from the
 * previous one, read by {@link BinaryCodec}'s writer and reader and pinned by a test. All numbers
 * are big-endian; "i32" lengths and counts are signed on the wire and negative values are refused.
 *
 * <p>Command (one frame payload):
 * <pre>
 * offset  size  field
 * 0       1     flags            bits 0-1: kind (0 request, 1 response, 2 oneway); bits 2-7 reserved, 0
 * 1       2     code             u16, RequestCode id; one not known decodes as UNKNOWN (0), answered UNSUPPORTED
 * 3       4     requestId        i32
 * 7       2     status           u16, Status id (0 = OK on requests)
 * 9       4     messageLength    i32, UTF-8 bytes of the error text that follows
 * 13      m     message          UTF-8
 * 13+m    2     headerCount      u16, then headerCount x header:
 *                 2   keyLength    u16
 *                 k   key          UTF-8
 *                 4   valueLength  i32
 *                 v   value        UTF-8
 * ..      4     messageCount     i32, then messageCount x message (below)
 * ..      4     bodyLength       i32
 * ..      b     body             opaque; ends the payload exactly
 * </pre>
 * The body comes last so that a response whose body is a file region can be sent as "everything
 * but the body" followed by the region ({@link BinaryCodec#encodeWithoutBody}).
 *
 * <p>Message:
 * <pre>
 * offset  size  field
 * 0       4     queueId          i32, -1 = let the broker choose
 * 4       8     queueOffset      i64, -1 = not stored yet
 * 12      8     bornTimestamp    i64, epoch ms
 * 20      8     storeTimestamp   i64, epoch ms, 0 = not stored yet
 * 28      8     deliverAt        i64, epoch ms, 0 = at once
 * 36      4     flags            i32
 * 40      2     topicLength      u16, then topic UTF-8
 * ..      2     msgIdLength      u16, then msgId UTF-8
 * ..      2     tagsLength       u16, then tags UTF-8
 * ..      2     keyCount         u16, then keyCount x (u16 length, UTF-8 key)
 * ..      2     propertyCount    u16, then propertyCount x (u16 keyLength, key, i32 valueLength, value)
 * ..      4     bodyLength       i32
 * ..      b     body             opaque
 * </pre>
 * Strings are UTF-8 and must be valid: an invalid sequence (a stray byte, a truncated or overlong
 * sequence, an encoded surrogate) is refused as "tags: invalid UTF-8 at byte 0 of 1024", never
 * replaced with U+FFFD, which would store something other than what was sent. Header and property keys are unique
 * within their map; a duplicate is refused.
 *
 * <p>Constants only; thread-safe.
 */
final class BinaryLayout {
    static final int U8 = 1;
    static final int U16 = 2;
    static final int I32 = 4;
    static final int I64 = 8;

    static final int FLAGS_OFFSET = 0;
    static final int CODE_OFFSET = FLAGS_OFFSET + U8;
    static final int REQUEST_ID_OFFSET = CODE_OFFSET + U16;
    static final int STATUS_OFFSET = REQUEST_ID_OFFSET + I32;
    static final int MESSAGE_LENGTH_OFFSET = STATUS_OFFSET + U16;
    /** Bytes before the error text. */
    static final int COMMAND_FIXED_SIZE = MESSAGE_LENGTH_OFFSET + I32;
    /** Smallest command: no text, no headers, no messages, no body. */
    static final int MIN_COMMAND_SIZE = COMMAND_FIXED_SIZE + U16 + I32 + I32;

    static final int QUEUE_ID_OFFSET = 0;
    static final int QUEUE_OFFSET_OFFSET = QUEUE_ID_OFFSET + I32;
    static final int BORN_TIMESTAMP_OFFSET = QUEUE_OFFSET_OFFSET + I64;
    static final int STORE_TIMESTAMP_OFFSET = BORN_TIMESTAMP_OFFSET + I64;
    static final int DELIVER_AT_OFFSET = STORE_TIMESTAMP_OFFSET + I64;
    static final int MESSAGE_FLAGS_OFFSET = DELIVER_AT_OFFSET + I64;
    /** Bytes before the topic's length. */
    static final int MESSAGE_FIXED_SIZE = MESSAGE_FLAGS_OFFSET + I32;
    /** Smallest message: every string, list and body empty. */
    static final int MIN_MESSAGE_SIZE = MESSAGE_FIXED_SIZE + 5 * U16 + I32;

    /** Smallest header or property entry: empty key and value. */
    static final int MIN_ENTRY_SIZE = U16 + I32;

    private BinaryLayout() {
    }
}
