package dev.ferry.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A client's first bytes on a connection: the protocol version it speaks and the codecs it can
 * use, most preferred first. The layout is in {@link Handshake}.
 *
 * <p>A hello decoded with a version the server does not speak has no codecs: the server stops
 * reading after the version byte (see {@link Handshake#decodeHello}).
 *
 * <p>Immutable, so thread-safe.
 *
 * @param version protocol version, 0..255
 * @param codecs  codec names in preference order
 */
public record Hello(int version, List<String> codecs) {

    public Hello {
        if (version < 0 || version > 0xFF) {
            throw new IllegalArgumentException("version: " + version + " (expected: 0..255)");
        }
        codecs = List.copyOf(codecs);
        if (codecs.size() > Handshake.MAX_CODECS) {
            throw new IllegalArgumentException("codecs: count " + codecs.size() + " (expected: <= " + Handshake.MAX_CODECS + ")");
        }
        codecs.forEach(Handshake::checkName);
    }

    /** A hello of the current {@link Handshake#VERSION} offering {@code codecs}. */
    public static Hello of(String... codecs) {
        return new Hello(Handshake.VERSION, List.of(codecs));
    }

    /** The hello's bytes, positioned at 0. */
    public ByteBuffer encode() {
        int size = Handshake.CODECS_OFFSET;
        for (String c : codecs) {
            size += 1 + c.length();
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(Handshake.MAGIC).put((byte) version).put((byte) codecs.size());
        for (String c : codecs) {
            out.put((byte) c.length()).put(c.getBytes(StandardCharsets.US_ASCII));
        }
        return out.flip();
    }
}
