package dev.ferry.broker;

/** A malformed SQL filter expression; the message names the position, the token found and what was expected. */
public final class SqlFilterException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public SqlFilterException(String message) {
        super(message);
    }
}
