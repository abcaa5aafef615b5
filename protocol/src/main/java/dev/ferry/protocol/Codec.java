package dev.ferry.protocol;

import java.nio.ByteBuffer;

/**
 * Turns a {@link Command} into one frame payload and back. Implementations are found with
 * {@link java.util.ServiceLoader} (a {@code META-INF/services/dev.ferry.protocol.Codec} file in
 * each codec module) and chosen per connection in the {@link Handshake}; see {@link Codecs}.
 *
 * <p>Implementations must be stateless and thread-safe: one instance serves every connection.
 */
public interface Codec {

    /** The name a client offers in its hello: lower-case ASCII, at most {@value Handshake#MAX_NAME_BYTES} bytes. */
    String name();

    /**
     * Encodes {@code command} as one frame payload, without the 4-byte length prefix.
     *
     * @return a buffer positioned at 0 with its limit at the end of the payload
     * @throws IllegalArgumentException if a value cannot be represented by this codec
     *     (for example a string longer than a 16-bit length in the binary codec)
     */
    ByteBuffer encode(Command command);

    /**
     * Decodes one frame payload, the bytes from {@code payload}'s position to its limit, checking
     * every length and count the payload declares against {@code limits} before allocating for it
     * (a string a text parser builds before its length is known is checked once built, bounded
     * meanwhile by the frame limit; docs/PROTOCOL.md, "Limits"). Does not move the
     * buffer's position or limit. The command may share bytes with {@code payload} (the binary
     * codec slices bodies out of it), so the caller must not overwrite it while the command is used.
     *
     * @throws CodecException on malformed bytes, unknown ids, or a limit exceeded; never another
     *     exception for any input
     */
    Command decode(ByteBuffer payload, Limits limits) throws CodecException;

    /**
     * Encodes {@code command} as a whole frame: the 4-byte big-endian payload length, then the
     * payload. Codecs that can write the prefix in place override this to avoid a copy.
     */
    default ByteBuffer encodeFrame(Command command) {
        return Frames.frame(encode(command));
    }
}
