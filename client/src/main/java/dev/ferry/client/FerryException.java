package dev.ferry.client;

import dev.ferry.protocol.Status;
import java.util.Optional;

/**
 * A request that failed: the broker answered with an error {@link Status}, the response did not
 * come in time, or the connection was lost. {@link #retryable()} says whether sending the same
 * request again may succeed; the producer retries those by itself.
 *
 * <p>Immutable, so thread-safe.
 */
public class FerryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Where the failure came from. */
    public enum Reason {
        /** The broker answered with an error status ({@link #status()}). */
        BROKER,
        /** No response within the request timeout. */
        TIMEOUT,
        /** The connection closed or could not be opened. */
        CONNECTION,
        /** The client itself gave up (closed, or out of buffer memory in time), or found a fetched record damaged. */
        CLIENT
    }

    private final Reason reason;
    private final transient Status status;

    public FerryException(Reason reason, Status status, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.status = status;
    }

    static FerryException broker(Status status, String what, String message) {
        return new FerryException(Reason.BROKER, status, what + ": " + status + (message.isEmpty() ? "" : ": " + message), null);
    }

    /**
     * A fetched record that fails its checks (its CRC): the client's own finding, so reason
     * {@link Reason#CLIENT} and not retryable (fetching it again gives the same bytes), status
     * INTERNAL_ERROR as the broker would say.
     */
    static FerryException damagedRecord(String what, String message) {
        return new FerryException(Reason.CLIENT, Status.INTERNAL_ERROR, what + ": " + Status.INTERNAL_ERROR + ": " + message, null);
    }

    static FerryException timeout(String message) {
        return new FerryException(Reason.TIMEOUT, null, message, null);
    }

    static FerryException connection(String message, Throwable cause) {
        return new FerryException(Reason.CONNECTION, null, message, cause);
    }

    static FerryException client(String message) {
        return new FerryException(Reason.CLIENT, null, message, null);
    }

    public Reason reason() {
        return reason;
    }

    /** The broker's status when {@link #reason()} is {@link Reason#BROKER}. */
    public Optional<Status> status() {
        return Optional.ofNullable(status);
    }

    /** True if the same request, sent again unchanged, may succeed (BUSY, TIMEOUT, a lost connection, no response). */
    public boolean retryable() {
        return switch (reason) {
            case BROKER -> status.retryable();
            case TIMEOUT, CONNECTION -> true;
            case CLIENT -> false;
        };
    }
}
