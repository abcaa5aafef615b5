package dev.ferry.protocol;

/**
 * Whether a command asks, answers, or asks without wanting an answer. Carried in the low two
 * bits of a command's flags byte ({@link #flagBits()}); the other six bits are reserved and
 * written as 0.
 *
 * <p>Immutable, so thread-safe.
 */
public enum Kind {
    /** Expects exactly one {@link #RESPONSE} with the same request id. */
    REQUEST(0),
    /** Answers the {@link #REQUEST} with the same request id; carries a {@link Status}. */
    RESPONSE(1),
    /** A request that gets no response, not even an error one. */
    ONEWAY(2);

    /** Mask of the flags byte's bits that hold the kind. */
    public static final int FLAG_MASK = 0x03;

    private final int flagBits;

    Kind(int flagBits) {
        this.flagBits = flagBits;
    }

    /** The value of bits 0-1 of the flags byte. */
    public int flagBits() {
        return flagBits;
    }

    /** Reads the kind from a flags byte; reserved bits are ignored. */
    public static Kind fromFlags(int flags) throws CodecException {
        return switch (flags & FLAG_MASK) {
            case 0 -> REQUEST;
            case 1 -> RESPONSE;
            case 2 -> ONEWAY;
            default -> throw new CodecException("kind: flag bits " + (flags & FLAG_MASK)
                    + " (expected: 0 request, 1 response or 2 oneway)");
        };
    }

    /** Reads the kind from its name, as the JSON and Hessian codecs carry it. */
    public static Kind fromName(String name) throws CodecException {
        for (Kind k : values()) {
            if (k.name().equals(name)) {
                return k;
            }
        }
        throw new CodecException("kind: '" + name + "' (expected: REQUEST, RESPONSE or ONEWAY)");
    }
}
