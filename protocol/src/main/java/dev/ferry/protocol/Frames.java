package dev.ferry.protocol;

import java.nio.ByteBuffer;

/**
 * Framing after the handshake: every frame is a 4-byte big-endian payload length followed by the
 * payload, which one {@link Codec} encodes.
 *
 * <pre>
 * offset  size  field
 * 0       4     length   u32 big-endian, payload bytes that follow; 0 .. {@link Limits#maxFrameBytes()}
 * 4       n     payload  one command in the connection's codec
 * </pre>
 *
 * The length is checked against {@link Limits#maxFrameBytes()} as soon as its 4 bytes are read,
 * before a buffer is allocated for the payload; a longer frame is answered (where possible) with
 * {@link Status#FRAME_TOO_LARGE} and the connection closed, since the stream cannot be resynchronised.
 *
 * <p>Why it exists: framing apart from the body codecs, as plain {@link ByteBuffer} code that a
 * Netty handler and a blocking client can both call. Stateless, so thread-safe.
 */
public final class Frames {
    /** Size of the length prefix. */
    public static final int LENGTH_FIELD_SIZE = 4;

    private Frames() {
    }

    /** Throws unless {@code length} (the prefix read as a signed int) is within 0 .. maxFrameBytes. */
    public static void checkLength(int length, Limits limits) throws CodecException {
        long unsigned = Integer.toUnsignedLong(length);
        if (unsigned > limits.maxFrameBytes()) {
            throw CodecException.tooLong(Limits.FRAME, unsigned, limits.maxFrameBytes());
        }
    }

    /**
     * Takes the next whole frame out of {@code in}: returns a slice of its payload (sharing
     * {@code in}'s bytes) and moves {@code in}'s position past it; or returns null, with the
     * position unchanged, if {@code in} does not hold a whole frame yet.
     *
     * @throws CodecException if the length prefix exceeds {@link Limits#maxFrameBytes()}
     */
    public static ByteBuffer next(ByteBuffer in, Limits limits) throws CodecException {
        if (in.remaining() < LENGTH_FIELD_SIZE) {
            return null;
        }
        int p = in.position();
        int length = in.getInt(p); // big-endian unless the caller changed the buffer's order
        if (in.order() != java.nio.ByteOrder.BIG_ENDIAN) {
            length = Integer.reverseBytes(length);
        }
        checkLength(length, limits);
        if (in.remaining() - LENGTH_FIELD_SIZE < length) {
            return null;
        }
        ByteBuffer payload = in.slice(p + LENGTH_FIELD_SIZE, length);
        in.position(p + LENGTH_FIELD_SIZE + length);
        return payload;
    }

    /** A new buffer holding the length prefix and a copy of {@code payload}'s remaining bytes. */
    public static ByteBuffer frame(ByteBuffer payload) {
        ByteBuffer out = ByteBuffer.allocate(LENGTH_FIELD_SIZE + payload.remaining());
        out.putInt(payload.remaining()).put(payload.duplicate()).flip();
        return out;
    }
}
