package dev.ferry.protocol;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The server's answer to a {@link Hello}: accepted with the chosen codec's name, or refused with
 * a human-readable reason, after which the server closes the connection. The layout is in
 * {@link Handshake}.
 *
 * <p>Immutable, so thread-safe.
 *
 * @param version the server's protocol version, 0..255
 * @param result  accepted or why not
 * @param text    the chosen codec's name when accepted, else the reason; printable ASCII, at
 *                most {@value Handshake#MAX_TEXT_BYTES} bytes
 */
public record HelloReply(int version, HandshakeResult result, String text) {

    public HelloReply {
        if (version < 0 || version > 0xFF) {
            throw new IllegalArgumentException("version: " + version + " (expected: 0..255)");
        }
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(text, "text");
        if (result == HandshakeResult.ACCEPTED) {
            Handshake.checkName(text);
        } else {
            text = Handshake.asciiText(text);
        }
    }

    /** Accepts the connection with codec {@code codec}. */
    public static HelloReply accepted(String codec) {
        return new HelloReply(Handshake.VERSION, HandshakeResult.ACCEPTED, codec);
    }

    /** Refuses the connection; {@code reason} is made printable ASCII and cut to 255 bytes. */
    public static HelloReply refused(HandshakeResult result, String reason) {
        if (result == HandshakeResult.ACCEPTED) {
            throw new IllegalArgumentException("result: ACCEPTED (expected: a refusal)");
        }
        return new HelloReply(Handshake.VERSION, result, reason);
    }

    public boolean accepted() {
        return result == HandshakeResult.ACCEPTED;
    }

    /** The reply's bytes, positioned at 0. */
    public ByteBuffer encode() {
        ByteBuffer out = ByteBuffer.allocate(Handshake.TEXT_OFFSET + text.length());
        out.putInt(Handshake.MAGIC).put((byte) version).put((byte) result.code()).put((byte) text.length());
        for (int i = 0; i < text.length(); i++) {
            out.put((byte) text.charAt(i));
        }
        return out.flip();
    }
}
