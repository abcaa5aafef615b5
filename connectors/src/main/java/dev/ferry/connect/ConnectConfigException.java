package dev.ferry.connect;

/**
 * A connector's configuration is wrong: a field is missing, has a bad value, names an unknown
 * connector type, or points at something that cannot be reached. The message names the
 * connector and the field, e.g. {@code connector 'orders-db': jdbc.url: missing (expected: a
 * JDBC URL such as jdbc:postgresql://127.0.0.1:5432/test)}.
 */
public final class ConnectConfigException extends RuntimeException {
    private final String connector;
    private final String field;

    public ConnectConfigException(String connector, String field, String detail) {
        super("connector '" + connector + "': " + detail);
        this.connector = connector;
        this.field = field;
    }

    public ConnectConfigException(String connector, String field, String detail, Throwable cause) {
        super("connector '" + connector + "': " + detail, cause);
        this.connector = connector;
        this.field = field;
    }

    public String connector() {
        return connector;
    }

    /** The configuration key that is wrong. */
    public String field() {
        return field;
    }
}
