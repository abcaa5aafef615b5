package dev.ferry.protocol;

/**
 * UTF-8 length of a string without encoding it, so encoders can size a buffer in one pass and
 * decoders can check {@link Limits} on strings a parser produced; and the check that a string
 * can be carried in UTF-8 at all.
 *
 * <p>A Java string may hold an unpaired surrogate (a lone {@code '\uD800'}, from a JSON escape
 * such as {@code "\ud800"} or from application code), which UTF-8 cannot encode:
 * {@link String#getBytes} would silently write {@code '?'} instead, so what is stored would differ
 * from what was sent. The {@link Message} and {@link Command} builders and every decoder refuse such
 * strings ({@link #unpairedSurrogateAt}); {@link #length} still counts one as one byte, as
 * {@link String#getBytes} replaces it with {@code '?'}. Stateless, so thread-safe.
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

    /** Index of the first char of {@code s} that is a surrogate not part of a pair, or -1 if there is none. */
    public static int unpairedSurrogateAt(CharSequence s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < Character.MIN_SURROGATE) {
                continue;
            }
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * "tags: unpaired surrogate U+D800 at char 3 (expected: ...)" for the first unpaired surrogate
     * of {@code s}, or null if {@code s} can be carried in UTF-8.
     */
    public static String unpairedSurrogateError(String field, CharSequence s) {
        int at = unpairedSurrogateAt(s);
        if (at < 0) {
            return null;
        }
        return field + ": unpaired surrogate U+" + Integer.toHexString(s.charAt(at)).toUpperCase(java.util.Locale.ROOT)
                + " at char " + at + " (expected: well-formed Unicode, which UTF-8 can carry)";
    }

    /**
     * The first {@code maxChars} chars of {@code s} (all of it if shorter), one fewer if the cut
     * would split a surrogate pair: for text cut to a length for an error message, which must stay
     * well-formed to be carried at all.
     */
    public static String prefix(String s, int maxChars) {
        if (s.length() <= maxChars) {
            return s;
        }
        int end = maxChars > 0 && Character.isHighSurrogate(s.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
        return s.substring(0, end);
    }

    /**
     * {@code s} with each unpaired surrogate replaced by U+FFFD; {@code s} itself if it has none.
     * For diagnostic text (a reply's message), which quotes what it was given and may be cut to a
     * length: half a surrogate pair there must not stop the reply from being sent.
     */
    public static String wellFormed(String s) {
        int at = unpairedSurrogateAt(s);
        if (at < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length()).append(s, 0, at); // well-formed up to the first
        for (int i = at; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(++i));
            } else {
                b.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return b.toString();
    }

    /**
     * Throws {@link IllegalArgumentException} if {@code s} holds an unpaired surrogate; for values
     * a program hands to the builders, which would otherwise be stored as {@code '?'}.
     */
    public static String requireWellFormed(String field, String s) {
        String error = s == null ? null : unpairedSurrogateError(field, s);
        if (error != null) {
            throw new IllegalArgumentException(error);
        }
        return s;
    }
}
