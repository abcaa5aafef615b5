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

    public CodecException(String message) {
        super(message);
    }

    public CodecException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "field: count 70000 (expected: &lt;= 64)". */
    public static CodecException tooMany(String field, long count, long max) {
        return new CodecException(field + ": count " + count + " (expected: <= " + max + ")");
    }

    /** "field: length 300 bytes (expected: &lt;= 200)". */
    public static CodecException tooLong(String field, long bytes, long max) {
        return new CodecException(field + ": length " + bytes + " bytes (expected: <= " + max + ")");
    }
}
