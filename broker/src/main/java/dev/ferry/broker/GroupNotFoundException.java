package dev.ferry.broker;

/** A request names a consumer group the broker knows nothing of: no live member and no committed offset. */
public final class GroupNotFoundException extends BrokerException {
    private static final long serialVersionUID = 1L;

    public GroupNotFoundException(String group) {
        super("group '" + group + "': unknown (expected: a group with live members or committed offsets)");
    }
}
