package dev.ferry.protocol.binary;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import java.nio.ByteBuffer;

/**
 * The compact hand-written binary codec, name {@value #NAME}: the Java client's default and the
 * fastest. The byte layout is in {@link BinaryLayout} (and docs/PROTOCOL.md):
 * <pre>
 * flags u8 | code u16 | requestId i32 | status u16 | message (i32 len, UTF-8)
 * | headerCount u16, headers | messageCount i32, messages | bodyLength i32 | body
 * </pre>
 *
 * <p>Decoding does not copy bodies: the command's body and each message's body are read-only
 * slices of the payload buffer, which therefore must stay untouched while the command is in use.
 * Encoding sizes the command first and writes it into one array.
 *
 * <p>For zero-copy FETCH responses, {@link #encodeWithoutBody} writes everything but the trailing
 * body bytes, so the gateway can send those bytes from a file region right after.
 *
 * <p>Stateless, so thread-safe: one instance serves every connection.
 */
public final class BinaryCodec implements Codec {
    public static final String NAME = "binary";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ByteBuffer encode(Command command) {
        return BinaryWriter.write(command, false, -1);
    }

    /** The frame with its length prefix, written into the same single array as the payload. */
    @Override
    public ByteBuffer encodeFrame(Command command) {
        return BinaryWriter.write(command, true, -1);
    }

    /**
     * Encodes {@code command} up to and including its {@code bodyLength} field, set to
     * {@code bodyLength}; the caller sends exactly that many body bytes right after (for example
     * stored records from a file region). The command's own body is ignored. The frame's payload
     * length is therefore {@code encodeWithoutBody(c, n).remaining() + n}.
     *
     * @throws IllegalArgumentException if {@code bodyLength} is negative or the payload would exceed 2 GiB
     */
    public ByteBuffer encodeWithoutBody(Command command, int bodyLength) {
        checkBodyLength(bodyLength);
        return BinaryWriter.write(command, false, bodyLength);
    }

    /**
     * As {@link #encodeWithoutBody}, preceded by the 4-byte frame length prefix, which counts the
     * {@code bodyLength} bytes still to be sent.
     */
    public ByteBuffer encodeFrameWithoutBody(Command command, int bodyLength) {
        checkBodyLength(bodyLength);
        return BinaryWriter.write(command, true, bodyLength);
    }

    @Override
    public Command decode(ByteBuffer payload, Limits limits) throws CodecException {
        return new BinaryReader(payload, limits).command();
    }

    private static void checkBodyLength(int bodyLength) {
        if (bodyLength < 0) {
            throw new IllegalArgumentException("bodyLength: " + bodyLength + " (expected: >= 0)");
        }
    }

    @Override
    public String toString() {
        return "BinaryCodec";
    }
}
