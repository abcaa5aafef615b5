package dev.ferry.broker;

/** A request names a member that never joined its group or whose session expired: it must JOIN_GROUP again. */
public final class UnknownMemberException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public UnknownMemberException(String message) {
        super(message);
    }
}
