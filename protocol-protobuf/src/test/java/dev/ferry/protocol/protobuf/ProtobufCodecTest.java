package dev.ferry.protocol.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecContractTest;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.protobuf.wire.WireCommand;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ProtobufCodecTest extends CodecContractTest {
    private final ProtobufCodec codec = new ProtobufCodec();

    @Override
    protected Codec codec() {
        return codec;
    }

    @Test
    void protoEnumsCarryTheModelsIdsAndNames() {
        for (RequestCode c : RequestCode.values()) {
            assertThat(dev.ferry.protocol.protobuf.wire.RequestCode.forNumber(c.id())).as(c.name())
                    .hasToString(c.name());
        }
        for (Status s : Status.values()) {
            assertThat(dev.ferry.protocol.protobuf.wire.Status.forNumber(s.id())).as(s.name()).hasToString(s.name());
        }
        assertThat(Arrays.stream(dev.ferry.protocol.protobuf.wire.RequestCode.values())
                .filter(c -> c != dev.ferry.protocol.protobuf.wire.RequestCode.UNRECOGNIZED)).hasSize(RequestCode.values().length + 1);
    }

    @Test
    void unknownEnumNumbersAreRefused() {
        byte[] unspecified = WireCommand.newBuilder().setRequestId(1).build().toByteArray();
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(unspecified), Limits.DEFAULT))
                .isInstanceOf(CodecException.class).hasMessageStartingWith("code: 0 (expected: one of");
        byte[] future = WireCommand.newBuilder().setCodeValue(20).setStatusValue(99).build().toByteArray();
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(future), Limits.DEFAULT))
                .hasMessage("status: 99 (expected: 0..12)");
    }

    @Test
    void aHugeDeclaredLengthIsRefusedWithoutAllocating() {
        // field 8 (body), wire type 2, length varint 0x7fffffff, then nothing
        byte[] b = {0x42, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class).hasMessageStartingWith("protobuf: ");
    }

    /**
     * A frame of empty repeated elements: two bytes each on the wire, some 50-100 bytes each once
     * protobuf builds them. A 16 MiB frame of empty messages took about 800 MB of heap before its
     * count was checked; the count is now checked on the tags first. What is measured is this
     * thread's allocation during the decode.
     */
    @Test
    void repeatedElementsAreCountedBeforeProtobufBuildsThem() {
        int frame = Limits.DEFAULT.maxFrameBytes();
        assertAllocatesLittle(repeated(frame, (byte) 0x3A), "messages: count 10001");           // field 7, empty WireMessage
        assertAllocatesLittle(repeated(frame, (byte) 0x32), "headers: count");                  // field 6, empty Entry
        assertAllocatesLittle(repeated(frame, (byte) 0x48), "unknown fields: count 65");        // field 9 (unknown), varint 0
        assertAllocatesLittle(triples(frame, (byte) 0x28, (byte) 0x80, (byte) 0x01), "unknown fields: count 65"); // field 5 as a varint
        assertAllocatesLittle(repeated(frame, (byte) 0x0B, (byte) 0x0C), "is a group");          // empty groups on field 1
        // one message (field 7) holding empty keys (field 5 of WireMessage)
        byte[] keys = repeated(1 << 20, (byte) 0x2A);
        ByteBuffer oneMessage = ByteBuffer.allocate(keys.length + 8).put((byte) 0x3A);
        int n = keys.length;
        while ((n & ~0x7F) != 0) {
            oneMessage.put((byte) ((n & 0x7F) | 0x80));
            n >>>= 7;
        }
        oneMessage.put((byte) n).put(keys).flip();
        byte[] b = Arrays.copyOf(oneMessage.array(), oneMessage.limit());
        assertAllocatesLittle(b, "keys: count");
    }

    /** {@code size / 2} times the two bytes {@code tag}, {@code second} (0: an empty length or a varint 0). */
    private static byte[] repeated(int size, byte tag) {
        return repeated(size, tag, (byte) 0);
    }

    private static byte[] repeated(int size, byte tag, byte second) {
        byte[] b = new byte[size];
        for (int i = 0; i + 1 < size; i += 2) {
            b[i] = tag;
            b[i + 1] = second;
        }
        return b;
    }

    /** {@code size / 3} times the three bytes. */
    private static byte[] triples(int size, byte a, byte b, byte c) {
        byte[] out = new byte[size / 3 * 3];
        for (int i = 0; i < out.length; i += 3) {
            out[i] = a;
            out[i + 1] = b;
            out[i + 2] = c;
        }
        return out;
    }

    private void assertAllocatesLittle(byte[] frame, String error) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(frame), Limits.DEFAULT)).isInstanceOf(CodecException.class)
                .hasMessageContaining(error);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated decoding a %d-byte frame", frame.length).isLessThan(4L * frame.length);
    }

    @Test
    void bodiesAliasThePayload() throws CodecException {
        Command c = Command.request(RequestCode.SEND, 1).body(new byte[] {1, 2, 3}).build();
        ByteBuffer payload = ByteBuffer.wrap(codec.encode(c).array());
        Command back = codec.decode(payload, Limits.DEFAULT);
        assertThat(back.body().isReadOnly()).isTrue();
        payload.put(payload.limit() - 1, (byte) 9);
        assertThat(back.body().get(2)).isEqualTo((byte) 9);
    }

    @Test
    void invalidUtf8InAStringIsRefused() {
        // field 2 (code) = 20, then field 5 (message), length 1, the lone byte 0xC0
        byte[] b = {0x10, 20, 0x2A, 0x01, (byte) 0xC0};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class).hasMessageContaining("UTF-8");
    }
}
