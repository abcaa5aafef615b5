package dev.ferry.protocol.hessian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.caucho.hessian.io.Hessian2Input;
import com.caucho.hessian.io.Hessian2Output;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecContractTest;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HessianCodecTest extends CodecContractTest {
    private final HessianCodec codec = new HessianCodec();

    @Override
    protected Codec codec() {
        return codec;
    }

    /**
     * Stands for a deserialization gadget: counts every instance a deserializer builds. Hessian
     * allocates without calling a constructor, then calls readResolve, so that is where we count.
     */
    public static final class Gadget implements Serializable {
        private static final long serialVersionUID = 1L;
        static final AtomicInteger CREATED = new AtomicInteger();
        public String command = "touch /tmp/pwned";

        private Object readResolve() {
            CREATED.incrementAndGet();
            return this;
        }
    }

    @BeforeEach
    void resetCount() {
        Gadget.CREATED.set(0);
    }

    private static byte[] hessian(HessianBody body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Hessian2Output out = new Hessian2Output(bytes);
        body.write(out);
        out.flush();
        return bytes.toByteArray();
    }

    private interface HessianBody {
        void write(Hessian2Output out) throws IOException;
    }

    @Test
    void theGadgetWouldBeBuiltByAStockReader() throws IOException {
        byte[] b = hessian(out -> out.writeObject(new Gadget()));
        Gadget.CREATED.set(0);
        Object o = new Hessian2Input(new ByteArrayInputStream(b)).readObject();
        assertThat(o).isInstanceOf(Gadget.class);
        assertThat(Gadget.CREATED).hasValue(1); // so the refusals below are meaningful
    }

    @Test
    void aTopLevelObjectIsRefusedWithoutBeingInstantiated() throws IOException {
        for (Object evil : new Object[] {new Gadget(), new File("/etc/passwd")}) {
            byte[] b = hessian(out -> out.writeObject(evil));
            Gadget.CREATED.set(0);
            assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                    .isInstanceOf(CodecException.class)
                    .hasMessageContaining("objects, typed values and references are refused");
            assertThat(Gadget.CREATED).as("gadgets built").hasValue(0);
        }
    }

    @Test
    void anObjectInPlaceOfAStringIsRefusedWithoutBeingInstantiated() throws IOException {
        byte[] b = hessian(out -> {
            out.writeMapBegin(null);
            out.writeString("kind");
            out.writeString("REQUEST");
            out.writeString("code");
            out.writeObject(new Gadget()); // where the stock reader's error path would readObject()
            out.writeMapEnd();
        });
        Gadget.CREATED.set(0);
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("hessian: code: tag 0x43 'C' (expected: string"); // the field named since string fields are strict
        assertThat(Gadget.CREATED).hasValue(0);
    }

    @Test
    void aFileInAHeaderMapIsRefused() throws IOException {
        byte[] b = hessian(out -> {
            out.writeMapBegin(null);
            out.writeString("headers");
            Map<String, Object> headers = new LinkedHashMap<>();
            headers.put("topic", new File("/etc/passwd"));
            out.writeObject(headers);
            out.writeMapEnd();
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("refused");
    }

    @Test
    void typedListsAndUnknownFieldsAreRefused() throws IOException {
        byte[] typed = hessian(out -> {
            out.writeMapBegin(null);
            out.writeString("messages");
            out.writeObject(new int[] {1, 2, 3});
            out.writeMapEnd();
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(typed), Limits.DEFAULT))
                .hasMessageStartingWith("messages: tag 0x");
        byte[] unknown = hessian(out -> {
            out.writeMapBegin(null);
            out.writeString("extra");
            out.writeInt(1);
            out.writeMapEnd();
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(unknown), Limits.DEFAULT))
                .hasMessage("command: unknown field 'extra' (expected: the fields of docs/PROTOCOL.md)");
    }

    /**
     * The stock reader's {@code readInt()} takes a long (cut to its low 32 bits), a double
     * (truncated), null and false (0), true (1): a queue id sent as the long 2^32 + 1 was stored
     * in queue 1, a null queue id (meaning nothing) in queue 0. Integer fields now take integers
     * only, a long only where its value fits.
     */
    @Test
    void integerFieldsTakeIntegersOnlyAndInRange() throws IOException, CodecException {
        for (HessianBody queueId : List.<HessianBody>of(out -> out.writeLong((1L << 32) + 1), out -> out.writeDouble(2.5),
                out -> out.writeNull(), out -> out.writeBoolean(true), out -> out.writeString("3"))) {
            byte[] b = sendWithQueueId(queueId);
            assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT)).isInstanceOf(CodecException.class)
                    .hasMessageContaining("queueId");
        }
        // every integer encoding Hessian writers use: compact and full ints, longs that fit
        for (long v : new long[] {-1, 0, 47, -16, 2047, -2048, 262_143, -262_144, 1 << 20, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            Command viaInt = codec.decode(ByteBuffer.wrap(sendWithQueueId(out -> out.writeInt((int) v))), Limits.DEFAULT);
            assertThat(viaInt.messages().get(0).queueId()).as("int %d", v).isEqualTo((int) v);
            Command viaLong = codec.decode(ByteBuffer.wrap(sendWithQueueId(out -> out.writeLong(v))), Limits.DEFAULT);
            assertThat(viaLong.messages().get(0).queueId()).as("long %d", v).isEqualTo((int) v);
        }
    }

    /** Opens a SEND command's map: its kind, code and request id, then the key "messages". */
    private static void sendHeader(Hessian2Output out, int requestId) throws IOException {
        out.writeMapBegin(null);
        out.writeString("kind");
        out.writeString("REQUEST");
        out.writeString("code");
        out.writeString("SEND");
        out.writeString("requestId");
        out.writeInt(requestId);
        out.writeString("messages");
    }

    /** A SEND of one message whose queueId is what {@code queueId} writes. */
    private static byte[] sendWithQueueId(HessianBody queueId) throws IOException {
        return hessian(out -> {
            sendHeader(out, 1);
            out.writeListBegin(1, null);
            out.writeMapBegin(null);
            out.writeString("topic");
            out.writeString("orders");
            out.writeString("queueId");
            queueId.write(out);
            out.writeMapEnd();
            out.writeMapEnd();
        });
    }

    @Test
    void aHugeDeclaredListLengthIsRefusedBeforeReading() throws IOException {
        byte[] b = hessian(out -> {
            out.writeMapBegin(null);
            out.writeString("messages");
            out.writeListBegin(Integer.MAX_VALUE, null);
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .hasMessage("messages: count 2147483647 (expected: <= 10000)");
    }

    @Test
    void readsAVariableLengthListAsOtherHessianLibrariesMayWriteIt() throws IOException, CodecException {
        byte[] b = hessian(out -> {
            sendHeader(out, 5);
            out.writeListBegin(-1, null);
            out.writeMapBegin(null);
            out.writeString("topic");
            out.writeString("t");
            out.writeMapEnd();
            out.writeListEnd();
            out.writeMapEnd();
        });
        Command c = codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT);
        assertThat(c.code()).isEqualTo(RequestCode.SEND);
        assertThat(c.messages()).hasSize(1);
        assertThat(c.messages().get(0).topic()).isEqualTo("t");
    }

    /**
     * Hessian carries each UTF-16 char on its own, so a lone surrogate arrives intact, and
     * storing it in UTF-8 wrote '?'. Every string field refuses it, naming the field.
     */
    @Test
    void anUnpairedSurrogateIsRefusedNamingTheField() throws IOException {
        byte[] b = hessian(out -> {
            sendHeader(out, 1);
            out.writeListBegin(1, null);
            out.writeMapBegin(null);
            out.writeString("topic");
            out.writeString("t");
            out.writeString("tags");
            out.writeString("a\uD800");
            out.writeMapEnd();
            out.writeMapEnd();
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("tags: unpaired surrogate U+D800 at char 1 (expected: well-formed Unicode, which UTF-8 can carry)");
    }

    /**
     * Review: strings as the Java Hessian library writes them are read back intact by the strict
     * reader: 2- and 3-byte chars, a char past U+FFFF (two 3-byte surrogates), and strings long
     * enough to be chunked ('R' chunks of 0x8000 chars), with multi-byte chars and surrogate pairs
     * at and across the chunk boundaries.
     */
    @Test
    void stringsAsJavaHessianWritesThemAreReadIntact() throws IOException, CodecException {
        StringBuilder longOne = new StringBuilder();
        for (int i = 0; i < 0x8000 - 1; i++) {
            longOne.append('\u00e9');
        }
        longOne.append("\uD83D\uDE00"); // a pair at the first chunk's boundary
        for (int i = 0; i < 0x8000; i++) {
            longOne.append(i % 3 == 0 ? "\u20ac" : i % 3 == 1 ? "\uD83D\uDE00" : "x");
        }
        Limits big = Limits.builder().maxFrameBytes(16 << 20).maxPropertyValueBytes(1 << 20).build();
        for (String value : List.of("caf\u00e9", "\u20ac", "\uD83D\uDE00", "a\uD83D\uDE00b\uD83C\uDF89", longOne.toString())) {
            byte[] b = hessian(out -> {
                sendHeader(out, 1);
                out.writeListBegin(1, null);
                out.writeMapBegin(null);
                out.writeString("topic");
                out.writeString("t");
                out.writeString("properties");
                out.writeMapBegin(null);
                out.writeString("p\uD83D\uDE00");
                out.writeString(value);
                out.writeMapEnd();
                out.writeMapEnd();
                out.writeMapEnd();
            });
            Command c = codec.decode(ByteBuffer.wrap(b), big);
            assertThat(c.messages().get(0).properties().get("p\uD83D\uDE00")).as("length %d", value.length()).isEqualTo(value);
        }
    }

    /** A field given twice meant the last one; JSON refuses it, and so does Hessian now. */
    @Test
    void aFieldGivenTwiceIsRefused() throws IOException {
        byte[] twiceInCommand = hessian(out -> {
            sendHeader(out, 1);
            out.writeListBegin(0, null);
            out.writeString("requestId");
            out.writeInt(2);
            out.writeMapEnd();
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(twiceInCommand), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("requestId: duplicate field (expected: each field once)");
        byte[] twiceInMessage = hessian(out -> {
            sendHeader(out, 1);
            out.writeListBegin(1, null);
            out.writeMapBegin(null);
            out.writeString("topic");
            out.writeString("a");
            out.writeString("topic");
            out.writeString("b");
            out.writeMapEnd();
            out.writeMapEnd();
        });
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(twiceInMessage), Limits.DEFAULT))
                .hasMessage("topic: duplicate field (expected: each field once)");
    }

    private static byte[] array(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    /** A HEARTBEAT command whose "body" value is {@code body}, given as raw Hessian bytes, then the map's end. */
    private static byte[] heartbeatWithBody(byte[] body) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(hessian(out -> {
            out.writeMapBegin(null);
            out.writeString("kind");
            out.writeString("REQUEST");
            out.writeString("code");
            out.writeString("HEARTBEAT");
            out.writeString("requestId");
            out.writeInt(1);
            out.writeString("body");
        }));
        b.writeBytes(body);
        b.write('Z');
        return b.toByteArray();
    }

    /**
     * Every binary form of Hessian 2.0 is read: short, medium, 'B', and 'A' chunks followed by any
     * of them (a client writing its own Hessian may end a chunked body with a short one), also a
     * body of several full chunks as Java Hessian writes it.
     */
    @Test
    void bodiesInEveryBinaryFormAreRead() throws IOException, CodecException {
        Map<String, byte[]> forms = new LinkedHashMap<>();
        forms.put("short", new byte[] {0x23, 'a', 'b', 'c'});
        forms.put("medium", new byte[] {0x34, 0x03, 'a', 'b', 'c'});
        forms.put("final chunk", new byte[] {'B', 0x00, 0x03, 'a', 'b', 'c'});
        forms.put("chunk, then short", new byte[] {'A', 0x00, 0x01, 'a', 0x22, 'b', 'c'});
        forms.put("chunk, then final chunk", new byte[] {'A', 0x00, 0x02, 'a', 'b', 'B', 0x00, 0x01, 'c'});
        for (Map.Entry<String, byte[]> form : forms.entrySet()) {
            Command c = codec.decode(ByteBuffer.wrap(heartbeatWithBody(form.getValue())), Limits.DEFAULT);
            assertThat(new String(array(c.body()), java.nio.charset.StandardCharsets.US_ASCII)).as(form.getKey()).isEqualTo("abc");
        }
        byte[] big = new byte[3 * 65_536 + 7];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        Command c = codec.decode(codec.encode(Command.request(RequestCode.HEARTBEAT, 1).body(big).build()), Limits.DEFAULT);
        assertThat(array(c.body())).isEqualTo(big);
    }

    /**
     * A binary chunk declaring more bytes than the frame has left was cut short without a word by
     * the stock reader, and the error came later as "expected end of map ('Z') at 'end of file'",
     * naming neither the body nor the cause; a body of another type did not name the field either.
     */
    @Test
    void aBinaryPastTheEndOfTheFrameOrOfAnotherTypeIsRefusedNamingTheField() throws IOException {
        byte[] pastTheEnd = heartbeatWithBody(new byte[] {'B', (byte) 0xff, (byte) 0xff, 'a', 'b', 'c'});
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(pastTheEnd), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("hessian: body: truncated: a binary chunk of 65535 bytes, 4 of them before the end of the frame"
                        + " (expected: the whole chunk)");
        byte[] aString = heartbeatWithBody(new byte[] {0x01, 'a'});
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(aString), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("hessian: body: tag 0x1 (expected: binary;");
        byte[] chunkThenInt = heartbeatWithBody(new byte[] {'A', 0x00, 0x01, 'a', (byte) 0x93});
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(chunkThenInt), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("hessian: body: tag 0x93 (expected: the next chunk of a binary;");
    }

    /**
     * What docs/PROTOCOL.md section 6 tells a hand-written reader: Java Hessian splits binary where
     * its 8 KiB buffer fills, not only past 65,535 bytes, so a body of 3,000 bytes behind a long
     * message comes as an 'A' chunk and a final one.
     */
    @Test
    void theEncoderSplitsABodyWhereItsBufferFills() throws CodecException {
        byte[] body = new byte[3_000];
        byte[] frame = array(codec.encode(Command.request(RequestCode.HEARTBEAT, 1).message("m".repeat(6_000)).body(body).build()));
        String text = new String(frame, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = text.lastIndexOf("body") + 4;
        assertThat(new byte[] {frame[at], frame[at + 1], frame[at + 2]}).as("an 'A' chunk of 2,103 bytes")
                .isEqualTo(new byte[] {'A', 0x08, 0x37});
        assertThat(array(codec.decode(ByteBuffer.wrap(frame), Limits.DEFAULT).body())).isEqualTo(body);
    }
}
