package dev.ferry.protocol;

/**
 * A frame, a handshake or a field in them could not be decoded: malformed bytes, an unknown
 * numeric id, or a length or count beyond {@link Limits}.
 *
 * <p>Why it exists: a decoder fed by the network must fail with one checked exception the
 * gateway can turn into a {@link Status#BAD_REQUEST} or {@link Status#FRAME_TOO_LARGE} answer
 * before it closes the connection, never with whatever a parser happened to throw. Messages
 * follow the project's "name: value (expected: ...)" phrasing.
 *
 * <p>Immutable, so thread-safe.
 */
public class CodecException extends Exception {
    private static final long serialVersionUID = 1L;

    private final boolean limitExceeded;

    public CodecException(String message) {
        this(message, null, false);
    }

    public CodecException(String message, Throwable cause) {
        this(message, cause, cause instanceof CodecException c && c.limitExceeded());
    }

    private CodecException(String message, Throwable cause, boolean limitExceeded) {
        super(message, cause);
        this.limitExceeded = limitExceeded;
    }

    /** True if a count or length was beyond a limit (answered {@link Status#LIMIT_EXCEEDED}), not malformed. */
    public boolean limitExceeded() {
        return limitExceeded;
    }

    /** "field: count 70000 (expected: &lt;= 64)". */
    public static CodecException tooMany(String field, long count, long max) {
        return new CodecException(field + ": count " + count + " (expected: <= " + max + ")", null, true);
    }

    /** "field: length 300 bytes (expected: &lt;= 200)". */
    public static CodecException tooLong(String field, long bytes, long max) {
        return new CodecException(field + ": length " + bytes + " bytes (expected: <= " + max + ")", null, true);
    }
}
