package dev.ferry.log;

/**
 * A message broke a limit or a naming rule. Thrown before anything is written, so the store
 * is unchanged. The message says which field, its value and what was expected;
 * {@link #limitExceeded()} tells a size or count over a limit from a malformed value (a broker
 * answers the first LIMIT_EXCEEDED, the second BAD_REQUEST).
 */
public final class InvalidMessageException extends LogException {
    private static final long serialVersionUID = 1L;

    private final boolean limitExceeded;
    /** The exception before {@link #prefixed} named its message in a batch; null if it was not prefixed. */
    private final InvalidMessageException unprefixed;

    /** A malformed value: a name, a key, a flag, an id. */
    public InvalidMessageException(String message) {
        this(message, false, null);
    }

    private InvalidMessageException(String message, boolean limitExceeded, InvalidMessageException unprefixed) {
        super(message);
        this.limitExceeded = limitExceeded;
        this.unprefixed = unprefixed;
    }

    /** A size or count over a limit. */
    public static InvalidMessageException overLimit(String message) {
        return new InvalidMessageException(message, true, null);
    }

    /** {@code e}'s kind, with {@code prefix} before its message (which message of a batch it was). */
    public static InvalidMessageException prefixed(String prefix, InvalidMessageException e) {
        return new InvalidMessageException(prefix + e.getMessage(), e.limitExceeded, e.unprefixed != null ? e.unprefixed : e);
    }

    /**
     * This exception without the batch index {@link #prefixed} put before its message: for a request
     * that sends one message (a plain SEND), to which "batch message 0:" would name a batch it never sent.
     */
    public InvalidMessageException withoutPrefix() {
        return unprefixed != null ? unprefixed : this;
    }

    /** True for a size or count over a limit, false for a malformed value. */
    public boolean limitExceeded() {
        return limitExceeded;
    }
}
