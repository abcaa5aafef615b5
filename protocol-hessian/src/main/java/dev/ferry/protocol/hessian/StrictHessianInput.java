package dev.ferry.protocol.hessian;

import com.caucho.hessian.io.Hessian2Input;
import com.caucho.hessian.io.HessianProtocolException;
import com.caucho.hessian.io.SerializerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A {@link Hessian2Input} that can never deserialize an object.
 *
 * <p>Why it exists: the stock reader, when a typed read such as {@code readString()} meets an
 * unexpected tag, calls {@code readObject()} to describe what it found in the error message —
 * which instantiates whatever class the stream names (the classic Hessian gadget path) and may
 * allocate an array of any declared length. This subclass reports the tag instead. As a second
 * wall, its {@link SerializerFactory} allows no class at all (a deny-all allow-list), so even a
 * stray {@code readObject()} could not build one; {@link HessianReader} never calls it.
 *
 * <p>Not thread-safe; one instance per decode call.
 */
final class StrictHessianInput extends Hessian2Input {
    /** Shared: configured once, then only read. Hessian caches deserializers in concurrent maps. */
    private static final SerializerFactory DENY_ALL = denyAll();

    StrictHessianInput(ByteBuffer payload) {
        super(new ByteBufferInputStream(payload.duplicate()));
        setSerializerFactory(DENY_ALL);
    }

    private static SerializerFactory denyAll() {
        SerializerFactory f = new SerializerFactory();
        f.setAllowNonSerializable(false);
        f.getClassFactory().setWhitelist(true); // and allow(...) is never called: nothing is allowed
        return f;
    }

    @Override
    protected IOException expect(String expected, int tag) {
        if (tag < 0) {
            return new HessianProtocolException("truncated: end of input (expected: " + expected + ")");
        }
        return new HessianProtocolException("tag 0x" + Integer.toHexString(tag) + describe(tag)
                + " (expected: " + expected + "; objects, typed values and references are refused)");
    }

    /**
     * An int field: any Hessian integer encoding (int, or long if its value fits), nothing else.
     * The stock {@code readInt()} also takes a double (truncated), a long (cut to its low 32
     * bits), null and false (0) and true (1): a queue id sent as the long 2^32 + 1 went to queue 1.
     */
    int int32(String field) throws IOException {
        long v = integral(field, "an int");
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new HessianProtocolException(field + ": " + v + " (expected: a 32-bit int)");
        }
        return (int) v;
    }

    /**
     * A string field: a Hessian string, or null (which the caller refuses), nothing else. The stock
     * {@code readString()} also takes an int, long, double or boolean and returns its text: a SEND
     * whose tags were the int 5 stored the tags "5", and a property value {@code true} the text
     * "true", where JSON refuses {@code "tags":5}.
     *
     * <p>Its chars are read here, not by {@code readString()}, which checks only lead bytes: a
     * continuation byte that is not {@code 10xxxxxx} was taken as one (the bytes C3 28, a lead
     * byte then '(', became U+00E8 and the '(' was lost), and overlong forms were decoded (C0 80
     * became a NUL). Those are refused, as the binary codec refuses invalid UTF-8. Hessian carries
     * each UTF-16 char on its own, a supplementary char as two 3-byte surrogates; an unpaired one is
     * refused by the caller ({@link dev.ferry.protocol.Limits#checkString}). Each chunk declares
     * its length in chars; the string grows as they arrive, bounded by the frame.
     */
    String string(String field) throws IOException {
        int tag = read();
        if (tag == 'N') {
            return null;
        }
        StringBuilder s = new StringBuilder();
        boolean first = true;
        while (true) {
            int length;
            boolean last = true;
            if (tag >= 0x00 && tag <= 0x1f) {
                length = tag; // short string
            } else if (tag >= 0x30 && tag <= 0x33) {
                length = ((tag - 0x30) << 8) + octet(); // medium string
            } else if (tag == 'S' || tag == 'R') {
                last = tag == 'S'; // 'R': a chunk, another follows
                length = (octet() << 8) + octet();
            } else {
                throw new HessianProtocolException(field + ": " + expect(first ? "string" : "the next chunk of a string", tag).getMessage());
            }
            for (int i = 0; i < length; i++) {
                s.append(utf8Char(field, s.length()));
            }
            if (last) {
                return s.toString();
            }
            first = false;
            tag = read();
        }
    }

    /** One char of a string in Hessian's UTF-8 (1 to 3 bytes, no overlong form), {@code at} its index for errors. */
    private char utf8Char(String field, int at) throws IOException {
        int b0 = read();
        if (b0 < 0x80) {
            if (b0 < 0) {
                throw new HessianProtocolException("truncated: end of input in " + field);
            }
            return (char) b0;
        }
        if (b0 >= 0xc2 && b0 <= 0xdf) { // 0xc0, 0xc1 would be overlong
            return (char) (((b0 & 0x1f) << 6) | continuation(field, at));
        }
        if (b0 >= 0xe0 && b0 <= 0xef) {
            int c = ((b0 & 0x0f) << 12) | (continuation(field, at) << 6) | continuation(field, at);
            if (c >= 0x800) {
                return (char) c;
            }
        }
        throw invalidUtf8(field, at);
    }

    private int continuation(String field, int at) throws IOException {
        int b = read();
        if ((b & 0xc0) != 0x80) { // also end of input, -1
            throw invalidUtf8(field, at);
        }
        return b & 0x3f;
    }

    private static HessianProtocolException invalidUtf8(String field, int at) {
        return new HessianProtocolException(field + ": invalid UTF-8 at char " + at
                + " (expected: valid UTF-8, 1 to 3 bytes a char; a char past U+FFFF as two 3-byte surrogates)");
    }

    /**
     * A binary field: a Hessian binary (compact, {@code 0x34-0x37}, {@code 'B'}, or {@code 'A'}
     * chunks followed by one more binary), or null (which the caller refuses), nothing else. The
     * stock {@code readBytes()} stopped at the end of the frame without a word when a chunk
     * declared more bytes than were left, and the error came later as {@code expected end of map
     * ('Z') at 'end of file'}, naming neither the field nor the cause; its type errors did not
     * name the field either. A chunk is at most 65,535 bytes, and the body grows chunk by chunk as
     * they arrive, so it is bounded by the frame whatever its chunks declare.
     */
    byte[] binary(String field) throws IOException {
        int tag = read();
        if (tag == 'N') {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean first = true;
        while (true) {
            int length;
            boolean last = true;
            if (tag >= 0x20 && tag <= 0x2f) {
                length = tag - 0x20; // short binary
            } else if (tag >= 0x34 && tag <= 0x37) {
                length = ((tag - 0x34) << 8) + octet(); // medium binary
            } else if (tag == 'B' || tag == 'A') {
                last = tag == 'B'; // 'A': a chunk, another follows
                length = (octet() << 8) + octet();
            } else {
                throw new HessianProtocolException(field + ": " + expect(first ? "binary" : "the next chunk of a binary", tag).getMessage());
            }
            byte[] chunk = new byte[length]; // at most 65,535 bytes
            for (int i = 0; i < length; i++) {
                int b = read();
                if (b < 0) {
                    throw new HessianProtocolException(field + ": truncated: a binary chunk of " + length + " bytes, "
                            + i + " of them before the end of the frame (expected: the whole chunk)");
                }
                chunk[i] = (byte) b;
            }
            out.write(chunk, 0, length);
            if (last) {
                return out.toByteArray();
            }
            first = false;
            tag = read();
        }
    }

    /** A long field: any Hessian integer encoding (long or int), nothing else. */
    long int64(String field) throws IOException {
        return integral(field, "a long or int");
    }

    /** The integer encodings of the Hessian 2.0 grammar ("int" and "long"). */
    private long integral(String field, String expected) throws IOException {
        int tag = read();
        if (tag >= 0x80 && tag <= 0xbf) {
            return tag - 0x90; // int, one octet
        }
        if (tag >= 0xc0 && tag <= 0xcf) {
            return ((tag - 0xc8) << 8) + octet(); // int, two octets
        }
        if (tag >= 0xd0 && tag <= 0xd7) {
            return ((tag - 0xd4) << 16) + (octet() << 8) + octet(); // int, three octets
        }
        if (tag == 'I' || tag == 0x59) {
            return (octet() << 24) | (octet() << 16) | (octet() << 8) | octet(); // int, or long as a 32-bit int
        }
        if (tag >= 0xd8 && tag <= 0xef) {
            return tag - 0xe0; // long, one octet
        }
        if (tag >= 0xf0) {
            return ((tag - 0xf8) << 8) + octet(); // long, two octets
        }
        if (tag >= 0x38 && tag <= 0x3f) {
            return ((tag - 0x3c) << 16) + (octet() << 8) + octet(); // long, three octets
        }
        if (tag == 'L') {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | octet();
            }
            return v;
        }
        IOException e = expect(expected, tag);
        throw new HessianProtocolException(field + ": " + e.getMessage());
    }

    private int octet() throws IOException {
        int b = read();
        if (b < 0) {
            throw new HessianProtocolException("truncated: end of input in an integer");
        }
        return b;
    }

    static String describe(int tag) {
        return tag >= 0x20 && tag < 0x7F ? " '" + (char) tag + "'" : "";
    }

    /** An InputStream over a buffer's remaining bytes; not thread-safe. */
    private static final class ByteBufferInputStream extends InputStream {
        private final ByteBuffer buf;

        ByteBufferInputStream(ByteBuffer buf) {
            this.buf = buf;
        }

        @Override
        public int read() {
            return buf.hasRemaining() ? buf.get() & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (!buf.hasRemaining()) {
                return -1;
            }
            int n = Math.min(len, buf.remaining());
            buf.get(b, off, n);
            return n;
        }
    }
}
