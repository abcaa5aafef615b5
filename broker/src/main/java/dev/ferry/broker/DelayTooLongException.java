package dev.ferry.broker;

/** A delayed message's {@code deliverAt} lies beyond {@link BrokerConfig#maxDelayMs()}; the message names both. */
public final class DelayTooLongException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public DelayTooLongException(String message) {
        super(message);
    }
}
