package dev.ferry.log;

/**
 * The commit-log range a read needed was deleted by retention while the read was under way.
 * A reader that gets this re-reads from {@link MessageStore#minOffset}.
 */
public final class SegmentDeletedException extends LogException {
    private static final long serialVersionUID = 1L;

    public SegmentDeletedException(long physicalOffset, long earliestPhysical) {
        super("commit log position " + physicalOffset + " was deleted by retention (earliest kept: "
                + earliestPhysical + ")");
    }
}
