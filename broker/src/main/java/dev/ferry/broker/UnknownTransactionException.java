package dev.ferry.broker;

/** An end of a transaction whose id names no half message (or one long gone). */
public final class UnknownTransactionException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public UnknownTransactionException(String message) {
        super(message);
    }
}
