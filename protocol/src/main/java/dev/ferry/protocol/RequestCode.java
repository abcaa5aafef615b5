package dev.ferry.protocol;

import java.util.Arrays;

/**
 * What a command asks for. Each code has a stable numeric id carried on the wire as an
 * unsigned 16-bit integer (binary, protobuf) or by its name (JSON, Hessian); a response
 * repeats its request's code.
 *
 * <p>Ids are grouped by tens so later issues can add codes next to their kin without
 * renumbering anything:
 * <pre>
 *  0     none              UNKNOWN: a code the decoder does not know (never sent as a request)
 *  1- 9  connection        HEARTBEAT
 * 10-19  topic admin       CREATE_TOPIC, DESCRIBE_TOPIC, LIST_TOPICS, DELETE_TOPIC
 * 20-29  produce           SEND, SEND_BATCH
 * 30-39  consume           FETCH, COMMIT_OFFSET, GET_OFFSET, ACK, NACK
 * 40-49  query             QUERY_MESSAGE
 * 50-59  transactions      SEND_HALF, END_TRANSACTION, CHECK_TRANSACTION (broker to producer, one-way),
 *                          REGISTER_PRODUCER
 * 60-69  groups            JOIN_GROUP, LEAVE_GROUP, GROUP_HEARTBEAT, LIST_GROUPS, DESCRIBE_GROUP, DELETE_GROUP,
 *                          RESET_OFFSETS, LOCK_QUEUE, UNLOCK_QUEUE
 * </pre>
 * The header names each code uses are in {@link Headers}; docs/PROTOCOL.md has an example per code.
 *
 * <p>Immutable, so thread-safe.
 */
public enum RequestCode {
    /**
     * Not a request: what a decoder gives a command whose code it does not know (a newer
     * client's, or a typo), so the broker can answer it UNSUPPORTED with its request id and go on
     * serving the connection, instead of refusing the whole frame. On a request or one-way command
     * the decoder sets the message (which requests otherwise leave empty) to what arrived, from
     * {@link #unknown}: "code: 69 (expected: one of [1, 10, ...])". Carried as 0 (binary,
     * protobuf's REQUEST_CODE_UNSPECIFIED) or "UNKNOWN" (JSON, Hessian) in the response.
     */
    UNKNOWN(0),
    HEARTBEAT(1),
    CREATE_TOPIC(10),
    DESCRIBE_TOPIC(11),
    LIST_TOPICS(12),
    DELETE_TOPIC(13),
    SEND(20),
    SEND_BATCH(21),
    FETCH(30),
    COMMIT_OFFSET(31),
    GET_OFFSET(32),
    /** A group member acknowledges messages it consumed. */
    ACK(33),
    /** A group member failed a message: it goes to the group's retry (or dead-letter) topic. */
    NACK(34),
    QUERY_MESSAGE(40),
    /** Stores a transaction's half message: durable, invisible to consumers until committed. */
    SEND_HALF(50),
    /** A producer commits or rolls back a transaction (after its local transaction, or answering a check). */
    END_TRANSACTION(51),
    /** One-way, broker to producer: asks a producer group for the outcome of an undecided transaction. */
    CHECK_TRANSACTION(52),
    /** Registers the connection as a member of a producer group, so it receives CHECK_TRANSACTION. */
    REGISTER_PRODUCER(53),
    JOIN_GROUP(60),
    LEAVE_GROUP(61),
    /** Keeps a member's session (and its queue locks) alive; answers its current assignment. */
    GROUP_HEARTBEAT(62),
    LIST_GROUPS(63),
    DESCRIBE_GROUP(64),
    RESET_OFFSETS(65),
    /** An orderly member takes the broker-side lock of a queue before fetching it. */
    LOCK_QUEUE(66),
    UNLOCK_QUEUE(67),
    /** Deletes a group without live members: its committed offsets and its retry topic. */
    DELETE_GROUP(68);

    private static final RequestCode[] BY_ID = new RequestCode[128];

    static {
        for (RequestCode c : values()) {
            if (c != UNKNOWN) {
                BY_ID[c.id] = c;
            }
        }
    }

    private final short id;

    RequestCode(int id) {
        this.id = (short) id;
    }

    /** The stable numeric id. */
    public short id() {
        return id;
    }

    /** The code with numeric id {@code id} (read as unsigned 16 bits). */
    public static RequestCode of(int id) throws CodecException {
        RequestCode c = orUnknown(id);
        if (c == UNKNOWN) {
            throw new CodecException(unknown(id));
        }
        return c;
    }

    /** The code with numeric id {@code id} (read as unsigned 16 bits), or {@link #UNKNOWN} if no code has it. */
    public static RequestCode orUnknown(int id) {
        RequestCode c = id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
        return c == null ? UNKNOWN : c;
    }

    /** The code named {@code name}, as the JSON and Hessian codecs carry it. */
    public static RequestCode fromName(String name) throws CodecException {
        RequestCode c = fromNameOrUnknown(name);
        if (c == UNKNOWN) {
            throw new CodecException(unknown(name));
        }
        return c;
    }

    /** The code named {@code name}, or {@link #UNKNOWN} if no code has that name. */
    public static RequestCode fromNameOrUnknown(String name) {
        for (RequestCode c : values()) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return UNKNOWN;
    }

    /** "code: 69 (expected: one of [1, 10, ...])": what the message of an {@link #UNKNOWN} request says. */
    public static String unknown(int id) {
        return "code: " + id + " (expected: one of " + Arrays.toString(ids()) + ")";
    }

    /** "code: 'PUBLISH' (expected: one of [HEARTBEAT, ...])": what the message of an {@link #UNKNOWN} request says. */
    public static String unknown(String name) {
        return "code: '" + name + "' (expected: one of "
                + Arrays.toString(Arrays.stream(values()).filter(c -> c != UNKNOWN).toArray()) + ")";
    }

    private static int[] ids() {
        return Arrays.stream(values()).filter(c -> c != UNKNOWN).mapToInt(RequestCode::id).toArray();
    }
}
