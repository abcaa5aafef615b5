package dev.ferry.log;

/**
 * Bits of a record's flags field that carry message semantics. The storage engine stores them
 * and hands them back; only {@link #BATCH} changes how the engine itself reads a record.
 * Bits 0 (IPv6 hosts) and 14 (batch continues) are the engine's own, see {@link RecordLayout}.
 */
public final class MessageFlags {
    /** Transaction half message: stored, not visible to consumers until committed. */
    public static final int TX_PREPARED = 1 << 1;
    /** Transaction commit record for {@code preparedTxOffset}. */
    public static final int TX_COMMIT = 1 << 2;
    /** Transaction rollback record for {@code preparedTxOffset}. */
    public static final int TX_ROLLBACK = 1 << 3;
    /** Delayed message: deliverAt is in the properties. */
    public static final int DELAYED = 1 << 4;
    /** Reserved: a batch record carrying several messages. Not written by this version. */
    public static final int BATCH = 1 << 15;
    /** Bits an append may set; the rest belong to the engine or are reserved. */
    static final int USER_MASK = 0x0000_3FFE;

    private MessageFlags() {}
}
