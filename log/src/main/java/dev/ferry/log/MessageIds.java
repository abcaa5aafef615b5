package dev.ferry.log;

/**
 * Message ids: the physical offset of the record as 16 upper-case hex digits. Unique for the
 * life of a store (the commit log only grows), and a lookup by id is one read at that offset.
 */
public final class MessageIds {
    private MessageIds() {}

    public static String of(long physicalOffset) {
        String hex = Long.toHexString(physicalOffset).toUpperCase(java.util.Locale.ROOT);
        return "0".repeat(16 - hex.length()) + hex;
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
