package dev.ferry.protocol.hessian;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The Hessian 2 codec, name {@value #NAME}, for clients of Hessian-speaking ecosystems. A command
 * is one untyped Hessian map of strings, numbers, binary, untyped maps and untyped lists (keys in
 * {@link HessianFields}); no Java class name ever appears on the wire.
 *
 * <p>Safety: deserializing arbitrary classes is the classic Hessian vulnerability. This codec
 * allows no class at all: {@link HessianReader} uses typed reads only and refuses any class
 * definition, object, typed map or list, or reference; {@link StrictHessianInput} removes the
 * stock reader's habit of calling {@code readObject()} to build its error messages, and its
 * serializer factory has an allow-list with nothing on it. A stream carrying, say, a
 * {@code java.io.File} is a {@link CodecException}, and the class is never loaded by us or instantiated.
 *
 * <p>Hessian's own failures (IOExceptions, and runtime exceptions its parser may throw on
 * garbage) become {@link CodecException}s.
 *
 * <p>Stateless, so thread-safe.
 */
public final class HessianCodec implements Codec {
    public static final String NAME = "hessian";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ByteBuffer encode(Command command) {
        return HessianWriter.write(command);
    }

    @Override
    public Command decode(ByteBuffer payload, Limits limits) throws CodecException {
        Limits.checkLength(Limits.FRAME, payload.remaining(), limits.maxFrameBytes());
        try {
            return new HessianReader(payload, limits).command();
        } catch (IOException e) {
            throw new CodecException("hessian: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // Hessian's parser is not written for hostile input; whatever it throws is a bad frame.
            throw new CodecException("hessian: malformed stream (" + e + ")", e);
        }
    }

    @Override
    public String toString() {
        return "HessianCodec";
    }
}
