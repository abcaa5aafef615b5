package dev.ferry.log;

/**
 * Message ids: the physical offset of the record as 16 upper-case hex digits. Unique among the
 * records a store holds: the commit log only grows, except after a machine crash under ASYNC flush
 * that lost acknowledged records not yet on disk, whose positions, and so ids, the next appends
 * take again (an id acknowledged for a lost message may then name a later one). A lookup by id is
 * one read at that offset.
 */
public final class MessageIds {
    private MessageIds() {}

    private static final byte[] HEX = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Bytes of an id in US-ASCII. */
    public static final int LENGTH = 16;

    public static String of(long physicalOffset) {
        byte[] out = new byte[LENGTH];
        write(physicalOffset, out, 0);
        return new String(out, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /**
     * Writes the id of {@code physicalOffset} as {@link #LENGTH} US-ASCII bytes at {@code at}: for a
     * reply listing many ids, without a String for each.
     */
    public static void write(long physicalOffset, byte[] out, int at) {
        for (int i = at + LENGTH - 1; i >= at; i--) {
            out[i] = HEX[(int) (physicalOffset & 0xF)];
            physicalOffset >>>= 4;
        }
    }

    /** The physical offset named by {@code id}; {@link InvalidMessageException} if it is not an id. */
    public static long parse(String id) {
        if (id == null || id.length() != 16) {
            throw new InvalidMessageException("message id: '" + id + "' (expected: 16 hex digits)");
        }
        try {
            return Long.parseUnsignedLong(id, 16);
        } catch (NumberFormatException e) {
            throw new InvalidMessageException("message id: '" + id + "' (expected: 16 hex digits)");
        }
    }
}
