package dev.ferry.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The first bytes of a connection, before any frame: the client names the codecs it speaks and
 * the server answers with the one it chose or why it refuses.
 *
 * <p>Client {@link Hello}:
 * <pre>
 * offset  size  field
 * 0       4     magic        0x46525259, ASCII "FRRY"           {@link #MAGIC_OFFSET}
 * 4       1     version      u8, currently 1                     {@link #VERSION_OFFSET}
 * 5       1     codec count  u8, 1..16                           {@link #CODEC_COUNT_OFFSET}
 * 6       ...   codecs       count x (u8 length 1..32, ASCII name), most preferred first  {@link #CODECS_OFFSET}
 * </pre>
 * Server {@link HelloReply}:
 * <pre>
 * offset  size  field
 * 0       4     magic        0x46525259, ASCII "FRRY"
 * 4       1     version      u8, the server's version
 * 5       1     result       u8, {@link HandshakeResult}: 0 accepted, else refused   {@link #RESULT_OFFSET}
 * 6       1     text length  u8, 0..255                          {@link #TEXT_LENGTH_OFFSET}
 * 7       ...   text         ASCII: the chosen codec's name, or the reason for refusing  {@link #TEXT_OFFSET}
 * </pre>
 * The magic and version bytes keep their place in every future version. A server that does not
 * speak the hello's version replies {@link HandshakeResult#UNSUPPORTED_VERSION} as soon as it has
 * read the first 5 bytes, without reading further, and closes. After an accepting reply both sides
 * exchange {@link Frames}.
 *
 * <p>Example: {@code 46 52 52 59 01 02 06 62 69 6e 61 72 79 04 6a 73 6f 6e} offers "binary" then
 * "json"; {@code 46 52 52 59 01 00 06 62 69 6e 61 72 79} accepts "binary".
 *
 * <p>The decoders are incremental: given a buffer that holds only the first bytes they return
 * null and leave its position alone, so a server can call them again as bytes arrive; a wrong
 * magic is reported as soon as the first differing byte is there.
 *
 * <p>Why it exists: per-connection negotiation as plain {@link ByteBuffer} code shared by the
 * Netty server and the blocking client. Stateless, so thread-safe.
 */
public final class Handshake {
    /** ASCII "FRRY". */
    public static final int MAGIC = 0x46525259;
    /** The protocol version this code speaks. */
    public static final int VERSION = 1;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + 4;
    public static final int CODEC_COUNT_OFFSET = VERSION_OFFSET + 1;
    public static final int CODECS_OFFSET = CODEC_COUNT_OFFSET + 1;
    public static final int RESULT_OFFSET = VERSION_OFFSET + 1;
    public static final int TEXT_LENGTH_OFFSET = RESULT_OFFSET + 1;
    public static final int TEXT_OFFSET = TEXT_LENGTH_OFFSET + 1;

    /** Most codecs one hello may offer. */
    public static final int MAX_CODECS = 16;
    /** Longest codec name. */
    public static final int MAX_NAME_BYTES = 32;
    /** Longest reply text. */
    public static final int MAX_TEXT_BYTES = 255;
    /** Largest possible hello, so a server knows how much to buffer at most. */
    public static final int MAX_HELLO_BYTES = CODECS_OFFSET + MAX_CODECS * (1 + MAX_NAME_BYTES);

    private Handshake() {
    }

    /**
     * Decodes a hello from {@code in}, consuming it; or returns null, position unchanged, if
     * {@code in} holds only part of it.
     *
     * @throws CodecException on a wrong magic, a codec count outside 1..16, or a bad codec name
     */
    public static Hello decodeHello(ByteBuffer in) throws CodecException {
        int p = in.position();
        int available = in.remaining();
        checkMagic(in, p, available);
        if (available <= VERSION_OFFSET) {
            return null;
        }
        int version = in.get(p + VERSION_OFFSET) & 0xFF;
        if (version != VERSION) {
            in.position(p + VERSION_OFFSET + 1);
            return new Hello(version, List.of());
        }
        if (available <= CODEC_COUNT_OFFSET) {
            return null;
        }
        int count = in.get(p + CODEC_COUNT_OFFSET) & 0xFF;
        if (count < 1 || count > MAX_CODECS) {
            throw new CodecException("codec count: " + count + " (expected: 1.." + MAX_CODECS + ")");
        }
        List<String> names = new ArrayList<>(count);
        int at = CODECS_OFFSET;
        for (int i = 0; i < count; i++) {
            if (available <= at) {
                return null;
            }
            int length = in.get(p + at) & 0xFF;
            if (length < 1 || length > MAX_NAME_BYTES) {
                throw new CodecException("codec name length: " + length + " (expected: 1.." + MAX_NAME_BYTES + ")");
            }
            if (available < at + 1 + length) {
                return null;
            }
            names.add(readName(in, p + at + 1, length));
            at += 1 + length;
        }
        in.position(p + at);
        return new Hello(version, names);
    }

    /**
     * Decodes a server's reply from {@code in}, consuming it; or returns null, position
     * unchanged, if {@code in} holds only part of it.
     *
     * @throws CodecException on a wrong magic, an unknown result, or an accepted reply whose text
     *     is not a codec name
     */
    public static HelloReply decodeReply(ByteBuffer in) throws CodecException {
        int p = in.position();
        int available = in.remaining();
        checkMagic(in, p, available);
        if (available < TEXT_OFFSET) {
            return null;
        }
        int version = in.get(p + VERSION_OFFSET) & 0xFF;
        HandshakeResult result = HandshakeResult.of(in.get(p + RESULT_OFFSET) & 0xFF);
        int length = in.get(p + TEXT_LENGTH_OFFSET) & 0xFF;
        if (available < TEXT_OFFSET + length) {
            return null;
        }
        byte[] text = new byte[length];
        in.get(p + TEXT_OFFSET, text);
        String s = new String(text, StandardCharsets.US_ASCII);
        if (result == HandshakeResult.ACCEPTED && !isName(s)) {
            throw new CodecException("accepted codec: '" + asciiText(s) + "' (expected: 1.." + MAX_NAME_BYTES
                    + " printable ASCII bytes)");
        }
        in.position(p + TEXT_OFFSET + length);
        return new HelloReply(version, result, s);
    }

    /**
     * The server's answer to {@code hello}: the first offered codec {@code supported} has, or
     * why not. The text of a refusal names what was offered and what is supported.
     */
    public static HelloReply negotiate(Hello hello, Codecs supported) {
        if (hello.version() != VERSION) {
            return HelloReply.refused(HandshakeResult.UNSUPPORTED_VERSION,
                    "unsupported version: " + hello.version() + " (supported: " + VERSION + ")");
        }
        return supported.choose(hello.codecs())
                .map(c -> HelloReply.accepted(c.name()))
                .orElseGet(() -> {
                    String prefix = "no common codec: offered ";
                    String suffix = " (supported: " + String.join(", ", supported.names()) + ")";
                    return HelloReply.refused(HandshakeResult.NO_COMMON_CODEC,
                            prefix + offered(hello.codecs(), MAX_TEXT_BYTES - prefix.length() - suffix.length()) + suffix);
                });
    }

    /**
     * The offered names as a list, "[xml, yaml]", or, when that is longer than {@code room}, their
     * count and the first that fit, "16 [a, b, ...]": a hello may offer 16 names of 32 bytes, and
     * the reply text, cut to {@value #MAX_TEXT_BYTES} bytes, lost the supported codecs after them,
     * which are what a client needs to offer next. Names are printable ASCII: a char is a byte.
     */
    static String offered(List<String> names, int room) {
        String all = names.toString();
        if (all.length() <= room) {
            return all;
        }
        String more = "...]";
        StringBuilder b = new StringBuilder(room).append(names.size()).append(" [");
        for (String name : names) {
            if (b.length() + name.length() + 2 + more.length() > room) {
                break;
            }
            b.append(name).append(", ");
        }
        return b.append(more).toString();
    }

    private static void checkMagic(ByteBuffer in, int p, int available) throws CodecException {
        int n = Math.min(available, 4);
        for (int i = 0; i < n; i++) {
            int expected = (MAGIC >>> (24 - 8 * i)) & 0xFF;
            if ((in.get(p + MAGIC_OFFSET + i) & 0xFF) != expected) {
                byte[] seen = new byte[n];
                in.get(p, seen);
                StringBuilder hex = new StringBuilder();
                for (byte b : seen) {
                    hex.append(String.format("%02x", b & 0xFF));
                }
                throw new CodecException("magic: 0x" + hex + " (expected: 0x46525259 \"FRRY\")");
            }
        }
    }

    private static String readName(ByteBuffer in, int at, int length) throws CodecException {
        byte[] bytes = new byte[length];
        in.get(at, bytes);
        String name = new String(bytes, StandardCharsets.US_ASCII);
        if (!isName(name)) {
            throw new CodecException("codec name: '" + asciiText(name) + "' (expected: printable ASCII)");
        }
        return name;
    }

    static boolean isName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_BYTES) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= 0x20 || c >= 0x7F) {
                return false;
            }
        }
        return true;
    }

    static void checkName(String name) {
        if (!isName(name)) {
            throw new IllegalArgumentException("codec name: '" + name + "' (expected: 1.." + MAX_NAME_BYTES
                    + " printable ASCII characters, no spaces)");
        }
    }

    /** {@code s} with every non-printable-ASCII char replaced by '?', cut to {@link #MAX_TEXT_BYTES}. */
    static String asciiText(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_TEXT_BYTES));
        for (int i = 0; i < s.length() && b.length() < MAX_TEXT_BYTES; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return b.toString();
    }
}
