package dev.ferry.broker;

/**
 * A SQL filter expression the broker does not take: malformed (the message names the position,
 * the token found and what was expected), or past one of its limits ({@link #limitExceeded()}:
 * nesting, operands, a LIKE pattern's length).
 */
public final class SqlFilterException extends BrokerException {
    private static final long serialVersionUID = 1L;
    private final boolean limitExceeded;

    public SqlFilterException(String message) {
        this(message, false);
    }

    private SqlFilterException(String message, boolean limitExceeded) {
        super(message);
        this.limitExceeded = limitExceeded;
    }

    /** An expression that is well-formed but past one of the limits. */
    static SqlFilterException limit(String message) {
        return new SqlFilterException(message, true);
    }

    /** True for an expression past a limit, false for a malformed one. */
    public boolean limitExceeded() {
        return limitExceeded;
    }
}
