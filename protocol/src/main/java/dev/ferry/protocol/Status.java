package dev.ferry.protocol;

import java.util.Arrays;

/**
 * The outcome a response reports. Each status has a stable numeric id carried as an unsigned
 * 16-bit integer (binary, protobuf) or by name (JSON, Hessian). Requests and one-way commands
 * carry {@link #OK}.
 *
 * <p>{@link #retryable()} tells a client whether sending the same request again, unchanged,
 * may succeed: the broker was busy or slow, not the request wrong.
 *
 * <p>Immutable, so thread-safe.
 */
public enum Status {
    OK(0, false),
    /** The request is malformed or inconsistent (a missing header, a bad number). */
    BAD_REQUEST(1, false),
    /** The topic, queue, group or message asked for does not exist. */
    NOT_FOUND(2, false),
    /** CREATE_TOPIC for a topic that exists. */
    TOPIC_EXISTS(3, false),
    /** The broker is shedding load (flow control, a full page cache); try again later. */
    BUSY(4, true),
    /** The broker did not finish in time (for example a SYNC flush); try again. */
    TIMEOUT(5, true),
    /** FETCH or COMMIT_OFFSET outside [minOffset, maxOffset]; the response says both. */
    OFFSET_OUT_OF_RANGE(6, false),
    /** A frame longer than {@link Limits#maxFrameBytes()}; the connection is then closed. */
    FRAME_TOO_LARGE(7, false),
    /** A count or length beyond another {@link Limits} value. */
    LIMIT_EXCEEDED(8, false),
    /** A code or feature this broker does not serve. */
    UNSUPPORTED(9, false),
    /** A bug or an I/O failure on the broker; the message says what. */
    INTERNAL_ERROR(10, false),
    /**
     * A group member's fetch, ack, nack, commit or lock on a queue it does not own at its
     * generation (or, orderly, without its lock): heartbeat and follow the new assignment. Also a
     * broadcasting member's commit of a position read since before the queue's last offset reset
     * or the member's join: read the committed position again.
     */
    FENCED(11, false),
    /** LOCK_QUEUE of a queue another member holds locked; retry after it is released or expires. */
    LOCKED(12, true);

    private static final Status[] BY_ID = new Status[values().length];

    static {
        for (Status s : values()) {
            BY_ID[s.id] = s;
        }
    }

    private final short id;
    private final boolean retryable;

    Status(int id, boolean retryable) {
        this.id = (short) id;
        this.retryable = retryable;
    }

    /** The stable numeric id. */
    public short id() {
        return id;
    }

    /** True if the same request may succeed when sent again unchanged. */
    public boolean retryable() {
        return retryable;
    }

    /** The status with numeric id {@code id} (read as unsigned 16 bits). */
    public static Status of(int id) throws CodecException {
        if (id < 0 || id >= BY_ID.length) {
            throw new CodecException("status: " + id + " (expected: 0.." + (BY_ID.length - 1) + ")");
        }
        return BY_ID[id];
    }

    /** The status named {@code name}, as the JSON and Hessian codecs carry it. */
    public static Status fromName(String name) throws CodecException {
        for (Status s : values()) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new CodecException("status: '" + name + "' (expected: one of " + Arrays.toString(values()) + ")");
    }
}
