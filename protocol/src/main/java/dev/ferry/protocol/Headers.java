package dev.ferry.protocol;

/**
 * Names of the {@link Command#headers() header} fields each {@link RequestCode} uses, shared by
 * the gateway and the clients. Values are strings; numbers are written in decimal. docs/PROTOCOL.md
 * has an example of every request and response.
 *
 * <pre>
 * code            request headers                                   response headers
 * HEARTBEAT       clientId?                                         -
 * CREATE_TOPIC    topic, queues                                     topic, queues
 * DESCRIBE_TOPIC  topic                                             topic, queues
 * LIST_TOPICS     prefix?                                           count; body = names, one per line
 * DELETE_TOPIC    topic                                             -
 * SEND            - (one message in messages)                       msgId, queueId, queueOffset
 * SEND_BATCH      - (messages of one topic and queue)               queueId, queueOffset (first), count;
 *                                                                   body = msg ids, one per line
 * FETCH           topic, queueId, offset, maxMessages, maxBytes,    nextOffset, minOffset, maxOffset
 *                 maxWaitMs, group?, tags?, sql?
 * COMMIT_OFFSET   group, topic, queueId, offset                     -
 * GET_OFFSET      topic, queueId, then group? or timestamp?         offset (if group or timestamp), minOffset, maxOffset
 * QUERY_MESSAGE   msgId, or topic + key, or topic + beginTimestamp  - (messages)
 *                 + endTimestamp; maxMessages?
 * ACK             group, clientId, generation, topic, queueId,      -
 *                 offset or offsets
 * NACK            group, clientId, generation, topic, queueId,      -
 *                 offset, reconsumeTimes?, maxReconsumeTimes?
 * JOIN_GROUP      group, clientId, topics, mode?, strategy?,        generation, sessionTimeoutMs; body = assignment
 *                 orderly?
 * LEAVE_GROUP     group, clientId                                   -
 * GROUP_HEARTBEAT group, clientId                                   generation; body = assignment
 * LIST_GROUPS     -                                                 count; body = group names, one per line
 * DESCRIBE_GROUP  group                                             group, mode, strategy, generation, members;
 *                                                                   body = member and queue lines
 * RESET_OFFSETS   group, topic, queueId?, to, timestamp? / offset?  count; body = "queueId offset" lines
 * LOCK_QUEUE      group, clientId, generation, topic, queueId       lockExpiresAt
 * UNLOCK_QUEUE    group, clientId, topic, queueId                   -
 * DELETE_GROUP    group                                             -
 * SEND_HALF       producerGroup (one message in messages)           transactionId, msgId, queueId
 * END_TRANSACTION producerGroup, transactionId, decision,           transactionId, decision, applied;
 *                 fromCheck?                                        topic, msgId, queueId, queueOffset (if committed now)
 * CHECK_TRANSACTION (one-way, broker to producer) producerGroup,    (none: the producer answers with
 *                 transactionId, checkTimes; the half message       END_TRANSACTION)
 * REGISTER_PRODUCER producerGroup, clientId?                        -
 * (FETCH and COMMIT_OFFSET of a group member add clientId and generation; a broadcasting
 * member's COMMIT_OFFSET of its own position, group GROUP%CLIENT_ID, sends the generation its
 * read of the queue began at, and is FENCED if that is before the queue's last offset reset or
 * the member's join.)
 * </pre>
 * A header marked ? is optional. Unknown headers are ignored by the receiver.
 *
 * <p>Constants only; thread-safe.
 */
public final class Headers {
    /** A topic name. */
    public static final String TOPIC = "topic";
    /** Queue count of a topic (CREATE_TOPIC, DESCRIBE_TOPIC). */
    public static final String QUEUES = "queues";
    /** Queue id within a topic. */
    public static final String QUEUE_ID = "queueId";
    /** A queue offset: where FETCH starts, what COMMIT_OFFSET stores, what GET_OFFSET answers. */
    public static final String OFFSET = "offset";
    /** Most messages a FETCH or QUERY_MESSAGE response may carry. */
    public static final String MAX_MESSAGES = "maxMessages";
    /** Most body bytes a FETCH response may carry; at least one message is returned if any. */
    public static final String MAX_BYTES = "maxBytes";
    /** How long a FETCH may wait for messages to arrive (long poll); 0 answers at once. */
    public static final String MAX_WAIT_MS = "maxWaitMs";
    /** Consumer group name. */
    public static final String GROUP = "group";
    /** Tag filter expression of a FETCH, for example {@code a || b}. */
    public static final String TAGS = "tags";
    /**
     * SQL92 filter expression of a FETCH over message properties (tags as {@code TAGS}), for
     * example {@code a > 5 AND region IN ('eu','us')}; evaluated on the broker, a malformed one is
     * answered BAD_REQUEST naming the position. With {@link #TAGS} both must match.
     */
    public static final String SQL = "sql";
    /** First offset after those returned by FETCH: where the next FETCH starts. */
    public static final String NEXT_OFFSET = "nextOffset";
    /** Earliest offset still stored in the queue. */
    public static final String MIN_OFFSET = "minOffset";
    /** Offset the next message stored in the queue will get. */
    public static final String MAX_OFFSET = "maxOffset";
    /** GET_OFFSET: first offset stored at or after this epoch-millisecond time. */
    public static final String TIMESTAMP = "timestamp";
    /** Broker-assigned message id (SEND response, QUERY_MESSAGE request). */
    public static final String MSG_ID = "msgId";
    /** Queue offset of a stored message (SEND), or of the first of a batch (SEND_BATCH). */
    public static final String QUEUE_OFFSET = "queueOffset";
    /** Number of items: messages stored by SEND_BATCH, topics listed by LIST_TOPICS. */
    public static final String COUNT = "count";
    /** A message key to look up (QUERY_MESSAGE). */
    public static final String KEY = "key";
    /** QUERY_MESSAGE by time: inclusive lower bound, epoch milliseconds. */
    public static final String BEGIN_TIMESTAMP = "beginTimestamp";
    /** QUERY_MESSAGE by time: exclusive upper bound, epoch milliseconds. */
    public static final String END_TIMESTAMP = "endTimestamp";
    /** LIST_TOPICS: only topics whose name starts with this. */
    public static final String PREFIX = "prefix";
    /** HEARTBEAT: the client's self-chosen id, for the broker's logs and group membership. */
    public static final String CLIENT_ID = "clientId";

    /**
     * A group member's generation as it last heard it (GROUP_HEARTBEAT): goes up by one at each
     * rebalance or offset reset; a group made again starts above any generation it had before.
     * A broadcasting member's COMMIT_OFFSET sends the one it had heard when its read of the queue
     * began (its GET_OFFSET).
     */
    public static final String GENERATION = "generation";
    /** JOIN_GROUP: the topics a member consumes, comma-separated. */
    public static final String TOPICS = "topics";
    /** JOIN_GROUP, DESCRIBE_GROUP: {@code CLUSTERING} (default) or {@code BROADCASTING}. */
    public static final String MODE = "mode";
    /** JOIN_GROUP, DESCRIBE_GROUP: queue allocation, {@code AVERAGE} (default) or {@code CONSISTENT_HASH}. */
    public static final String STRATEGY = "strategy";
    /** JOIN_GROUP: {@code true} for an orderly member (locks its queues, retries in place). */
    public static final String ORDERLY = "orderly";
    /** ACK: several queue offsets, comma-separated. */
    public static final String OFFSETS = "offsets";
    /** NACK: failed deliveries so far (an orderly member retrying in place); absent = the record's count + 1. */
    public static final String RECONSUME_TIMES = "reconsumeTimes";
    /**
     * NACK: failed deliveries after which the message goes to the dead-letter topic instead of the
     * retry topic, as the consumer is configured (RocketMQ's consumer setting of that name); absent
     * = the broker's. 0..{@value #MAX_RECONSUME_TIMES_LIMIT}.
     */
    public static final String MAX_RECONSUME_TIMES = "maxReconsumeTimes";
    /** The largest {@link #MAX_RECONSUME_TIMES} a NACK may carry. */
    public static final int MAX_RECONSUME_TIMES_LIMIT = 10_000;
    /** JOIN_GROUP response: after this many ms without a heartbeat the member is removed. */
    public static final String SESSION_TIMEOUT_MS = "sessionTimeoutMs";
    /** RESET_OFFSETS: {@code earliest}, {@code latest}, {@code timestamp} (with header timestamp) or {@code offset} (with header offset). */
    public static final String TO = "to";
    /** DESCRIBE_GROUP response: number of live members. */
    public static final String MEMBERS = "members";
    /** LOCK_QUEUE response: epoch ms at which the lock expires unless renewed by a heartbeat. */
    public static final String LOCK_EXPIRES_AT = "lockExpiresAt";

    /** Transactions: the producer group a transactional producer belongs to; check-backs go to its live connections. */
    public static final String PRODUCER_GROUP = "producerGroup";
    /** Transactions: the id of a transaction, the msgId of its half message (SEND_HALF response). */
    public static final String TRANSACTION_ID = "transactionId";
    /** END_TRANSACTION: {@code COMMIT} or {@code ROLLBACK}; in the response, the decision in force. */
    public static final String DECISION = "decision";
    /** END_TRANSACTION: {@code true} when the producer answers a CHECK_TRANSACTION (for the broker's logs and counters). */
    public static final String FROM_CHECK = "fromCheck";
    /** END_TRANSACTION response: {@code true} if this request applied the decision, {@code false} if it was already decided. */
    public static final String APPLIED = "applied";
    /** CHECK_TRANSACTION: the number of this check of the transaction, 1 for the first (counted across broker restarts). */
    public static final String CHECK_TIMES = "checkTimes";

    private Headers() {
    }
}
