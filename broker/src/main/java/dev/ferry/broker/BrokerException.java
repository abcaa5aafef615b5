package dev.ferry.broker;

/** A request the broker cannot carry out, with a message that says why. */
public class BrokerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BrokerException(String message) {
        super(message);
    }
}
