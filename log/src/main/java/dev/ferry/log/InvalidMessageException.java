package dev.ferry.log;

/**
 * A message broke a limit or a naming rule. Thrown before anything is written, so the store
 * is unchanged. The message says which field, its value and what was expected.
 */
public final class InvalidMessageException extends LogException {
    private static final long serialVersionUID = 1L;

    public InvalidMessageException(String message) {
        super(message);
    }
}
