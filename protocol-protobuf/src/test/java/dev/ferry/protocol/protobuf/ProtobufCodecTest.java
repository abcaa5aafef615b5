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
