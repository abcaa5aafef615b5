package dev.ferry.protocol.json;

import java.io.IOException;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The chars of a UTF-8 byte range, refusing invalid UTF-8 (a stray byte, a truncated or overlong
 * sequence, an encoded surrogate, a code point past U+10FFFF) with an {@link IOException} naming
 * the byte, never replacing it with U+FFFD. A UTF-8 byte order mark at the start is skipped, as
 * Jackson skips it reading bytes itself.
 *
 * <p>Why it exists: {@link JsonCodec} does not let Jackson canonicalize field names, and Jackson
 * then reads bytes through an {@link java.io.InputStreamReader}, whose decoder replaces malformed
 * input: tags sent as the bytes {@code 61 FF 62} were stored as "a\uFFFDb", and a {@code utf8}
 * body altered the same way, where the binary and Hessian codecs refuse such bytes. Jackson is
 * given this reader instead.
 *
 * <p>Not thread-safe; one instance per decode call.
 */
final class StrictUtf8Reader extends Reader {
    private final ByteBuffer in;
    private final int start;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    /**
     * Decoded and not yet read: at most 8,192 chars, fewer for a shorter frame (n bytes of UTF-8 are
     * at most n chars), at least a surrogate pair's 2.
     */
    private final CharBuffer chars;
    /** Every byte decoded (and the decoder flushed): what {@link #chars} holds is the end. */
    private boolean done;

    StrictUtf8Reader(byte[] array, int offset, int length) {
        this.in = ByteBuffer.wrap(array, offset, length);
        this.start = offset;
        this.chars = CharBuffer.allocate(Math.max(2, Math.min(8192, length))).flip();
        if (length >= 3 && array[offset] == (byte) 0xEF && array[offset + 1] == (byte) 0xBB && array[offset + 2] == (byte) 0xBF) {
            in.position(offset + 3);
        }
    }

    @Override
    public int read(char[] buffer, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        if (!chars.hasRemaining() && !fill()) {
            return -1;
        }
        int n = Math.min(length, chars.remaining());
        chars.get(buffer, offset, n);
        return n;
    }

    private boolean fill() throws IOException {
        if (done) {
            return false;
        }
        chars.clear();
        CoderResult r = utf8.decode(in, chars, true); // the whole input is here: a sequence cut at its end is malformed
        if (r.isError()) {
            throw new InvalidUtf8(in.position() - start, in.limit() - start);
        }
        if (r.isUnderflow()) { // all of it decoded
            utf8.flush(chars);
            done = true;
        }
        chars.flip();
        return chars.hasRemaining();
    }

    @Override
    public void close() {
        // nothing to release: the bytes are the caller's
    }

    /** "invalid UTF-8 at byte 93 of 104 (expected: valid UTF-8)", as the binary codec says it. */
    static final class InvalidUtf8 extends IOException {
        private static final long serialVersionUID = 1L;

        InvalidUtf8(int at, int length) {
            super("invalid UTF-8 at byte " + at + " of " + length + " (expected: valid UTF-8)");
        }
    }
}
