package dev.ferry.protocol.hessian;

import com.caucho.hessian.io.Hessian2Input;
import com.caucho.hessian.io.HessianProtocolException;
import com.caucho.hessian.io.SerializerFactory;
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
