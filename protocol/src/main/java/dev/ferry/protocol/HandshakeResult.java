package dev.ferry.protocol;

/**
 * The result byte of a server's {@link HelloReply}: 0 accepts, anything else refuses and the
 * server closes the connection after sending the reply. Immutable, so thread-safe.
 */
public enum HandshakeResult {
    /** The reply's text is the codec every following frame uses. */
    ACCEPTED(0),
    /** None of the offered codecs is supported; the text lists the supported ones. */
    NO_COMMON_CODEC(1),
    /** The hello's protocol version is not supported; the reply carries the server's version. */
    UNSUPPORTED_VERSION(2),
    /** The hello was malformed (a bad count or name); the text says what. */
    BAD_HELLO(3),
    /** The server has as many connections open as it admits, in all or from this address; the text says which limit. Retry later. */
    TOO_MANY_CONNECTIONS(4);

    private final int code;

    HandshakeResult(int code) {
        this.code = code;
    }

    /** The value of the result byte. */
    public int code() {
        return code;
    }

    public static HandshakeResult of(int code) throws CodecException {
        for (HandshakeResult r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        throw new CodecException("handshake result: " + code + " (expected: 0.." + (values().length - 1) + ")");
    }
}
