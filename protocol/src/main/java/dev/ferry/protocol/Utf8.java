package dev.ferry.protocol;

/**
 * UTF-8 length of a string without encoding it, so encoders can size a buffer in one pass and
 * decoders can check {@link Limits} on strings a parser produced.
 *
 * <p>An unpaired surrogate counts as one byte, as {@link String#getBytes} replaces it with
 * {@code '?'}. Stateless, so thread-safe.
 */
public final class Utf8 {
    private Utf8() {
    }

    /** Number of bytes {@code s} takes in UTF-8. */
    public static int length(CharSequence s) {
        int n = s.length();
        int bytes = n;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                continue;
            }
            if (c < 0x800) {
                bytes += 1;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 2; // 4 bytes for the pair of 2 chars
                i++;
            } else if (Character.isSurrogate(c)) {
                // unpaired: encoded as '?'
            } else {
                bytes += 2;
            }
        }
        return bytes;
    }
}
