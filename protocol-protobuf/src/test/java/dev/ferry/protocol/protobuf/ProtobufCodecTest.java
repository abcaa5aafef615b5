package dev.ferry.protocol.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.UnknownFieldSet;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecContractTest;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import dev.ferry.protocol.protobuf.wire.Entry;
import dev.ferry.protocol.protobuf.wire.WireCommand;
import dev.ferry.protocol.protobuf.wire.WireMessage;
import java.io.ByteArrayOutputStream;
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
            if (c == RequestCode.UNKNOWN) {
                assertThat(dev.ferry.protocol.protobuf.wire.RequestCode.forNumber(c.id()))
                        .isEqualTo(dev.ferry.protocol.protobuf.wire.RequestCode.REQUEST_CODE_UNSPECIFIED);
                continue;
            }
            assertThat(dev.ferry.protocol.protobuf.wire.RequestCode.forNumber(c.id())).as(c.name())
                    .hasToString(c.name());
        }
        for (Status s : Status.values()) {
            assertThat(dev.ferry.protocol.protobuf.wire.Status.forNumber(s.id())).as(s.name()).hasToString(s.name());
        }
        assertThat(Arrays.stream(dev.ferry.protocol.protobuf.wire.RequestCode.values())
                .filter(c -> c != dev.ferry.protocol.protobuf.wire.RequestCode.UNRECOGNIZED)).hasSize(RequestCode.values().length);
    }

    @Test
    void unknownEnumNumbersAreRefusedButAnUnknownCodeIsDecodedToBeAnsweredUnsupported() throws CodecException {
        byte[] unspecified = WireCommand.newBuilder().setRequestId(1).build().toByteArray();
        Command zero = codec.decode(ByteBuffer.wrap(unspecified), Limits.DEFAULT);
        assertThat(zero.code()).isEqualTo(RequestCode.UNKNOWN);
        assertThat(zero.message()).startsWith("code: 0 (expected: one of [1, 10,");
        Command newer = codec.decode(ByteBuffer.wrap(WireCommand.newBuilder().setCodeValue(69).setRequestId(8).build().toByteArray()),
                Limits.DEFAULT);
        assertThat(newer.code()).isEqualTo(RequestCode.UNKNOWN);
        assertThat(newer.requestId()).isEqualTo(8);
        assertThat(newer.message()).startsWith("code: 69 (expected: one of [1, 10,");
        byte[] future = WireCommand.newBuilder().setCodeValue(20).setStatusValue(99).build().toByteArray();
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(future), Limits.DEFAULT))
                .hasMessage("status: 99 (expected: 0..12)");
    }

    /** Review: negative 32-bit values in protobuf's standard forms (int32 sign-extended to 10 bytes, sint32 zigzag) are read. */
    @Test
    void negativeThirtyTwoBitValuesInTheirStandardFormsAreRead() throws CodecException {
        for (int v : new int[] {-1, -7, Integer.MIN_VALUE}) {
            byte[] b = WireCommand.newBuilder().setCodeValue(RequestCode.SEND.id()).setRequestId(v)
                    .addMessages(WireMessage.newBuilder().setTopic("t").setQueueId(v).setFlags(v)).build().toByteArray();
            Command c = codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT);
            assertThat(c.requestId()).isEqualTo(v);
            assertThat(c.messages().get(0).queueId()).isEqualTo(v);
            assertThat(c.messages().get(0).flags()).isEqualTo(v);
        }
    }

    @Test
    void aHugeDeclaredLengthIsRefusedWithoutAllocating() {
        // field 8 (body), wire type 2, length varint 0x7fffffff, then nothing
        byte[] b = {0x42, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class).hasMessageStartingWith("protobuf: ");
    }

    /**
     * A known field sent with another wire type than ferry.proto's was kept as an unknown field
     * and the field left at its default: a request id sent as a fixed32 was carried out as id 0
     * (answered OK with an id the client never sent), a topic sent as a varint answered
     * {@code topic: ''}.
     */
    @Test
    void aKnownFieldWithAnotherWireTypeIsRefusedNamingIt() {
        // code 1 (field 2, varint), then request_id (field 3) as a fixed32: tag 0x1D
        byte[] requestId = {0x10, 0x01, 0x1D, 0x07, 0x00, 0x00, 0x00};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(requestId), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("protobuf: WireCommand.request_id (field 3): wire type 5 (expected: 0, as ferry.proto declares it)");
        // code 20, request id 1, one message (field 7) whose topic (field 1) is the varint 5: tag 0x08
        byte[] topic = {0x10, 0x14, 0x18, 0x01, 0x3A, 0x02, 0x08, 0x05};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(topic), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("protobuf: WireMessage.topic (field 1): wire type 0 (expected: 2, as ferry.proto declares it)");
    }

    /**
     * Protobuf reads a length as 32 bits and cut a longer varint to its low 32: a header whose
     * length was 2^32 + 7 was read as 7 bytes and the frame decoded as if it said 7.
     */
    @Test
    void aLengthPastThirtyTwoBitsIsRefusedNotCutToItsLowBits() {
        byte[] entry = Entry.newBuilder().setKey("topic").build().toByteArray(); // 7 bytes
        assertThat(entry).hasSize(7);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0x10, 0x0A, 0x18, 0x01});                     // CREATE_TOPIC, request id 1
        out.write(0x32);                                                          // field 6 (headers), length-delimited
        out.writeBytes(new byte[] {(byte) 0x87, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10}); // 2^32 + 7
        out.writeBytes(entry);
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(out.toByteArray()), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("protobuf: WireCommand field 6: length 4294967303 bytes (expected: <= 7, the bytes left in the frame)");
        // an unknown field's length too, inside a message
        // (field 20 of a message, tag A2 01, whose length 2^32 + 1 has one byte behind it)
        byte[] unknownInMessage = {0x10, 0x14, 0x18, 0x01, 0x3A, 0x08, (byte) 0xA2, 0x01,
            (byte) 0x81, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10, 0x61};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(unknownInMessage), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("protobuf: WireMessage field 20: length 4294967297 bytes (expected: <= 1, the bytes left in the WireMessage)");
    }

    /**
     * Protobuf reads a tag as 32 bits and cut a longer varint to its low 32: a tag of 2^32 + 24
     * was read as request_id's, and the value behind it taken for the request id.
     */
    @Test
    void aTagPastThirtyTwoBitsIsRefusedNotCutToItsLowBits() {
        // code 1, then the tag 2^32 + 0x18 (request_id, varint) and the value 77
        byte[] b = {0x10, 0x01, (byte) 0x98, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10, 0x4D};
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("protobuf: WireCommand: tag 4294967320 (expected: a field number of 1 or more and a wire type, in at most 32 bits)");
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
        assertAllocatesLittle(repeated(frame, (byte) 0x48), "unknown fields in the frame: count 16385");  // field 9 (unknown), varint 0
        assertAllocatesLittle(triples(frame, (byte) 0x48, (byte) 0x80, (byte) 0x01), "unknown fields in the frame: count 16385"); // field 9, varint 128
        assertAllocatesLittle(repeated(frame, (byte) 0x0B, (byte) 0x0C), "is a group");          // empty groups on field 1
        // one message (field 7) holding empty keys (field 5 of WireMessage)
        assertAllocatesLittle(lengthDelimited((byte) 0x3A, repeated(1 << 20, (byte) 0x2A)), "keys: count");
    }

    /**
     * Unknown fields are counted for the whole frame, not per message or entry: 64 in each of 64
     * entries (properties) of each of the 2,000 messages that fit in 16 MiB passed a cap of 64 per
     * level and took some 385 MB to parse, 23 times the frame.
     */
    @Test
    void unknownFieldsAreCountedForTheWholeFrameBeforeProtobufKeepsThem() {
        byte[] entry = lengthDelimited((byte) 0x3A, repeated(128, (byte) 0x18));  // a property: field 3 of Entry (unknown), varint 0, 64 times
        byte[] message = lengthDelimited((byte) 0x3A, concat(64, entry));         // a message of 64 of them
        byte[] frame = concat(Limits.DEFAULT.maxFrameBytes() / message.length, message);
        CodecException e = assertAllocatesLittle(frame, "unknown fields in the frame: count 16385 (expected: <= 16384)");
        assertThat(e.limitExceeded()).as("answered LIMIT_EXCEEDED, not BAD_REQUEST").isTrue();
    }

    /** The budget is the sum over the command, its headers, its messages and their properties. */
    @Test
    void theUnknownFieldBudgetAddsUpTheCommandsMessagesAndEntries() throws CodecException {
        int budget = ProtobufCodec.MAX_UNKNOWN_FIELDS_PER_FRAME;
        int messages = 64;
        int properties = 64;
        int perEntry = 3;
        int perMessage = 32;
        int inHeader = 32;
        int inCommand = budget - messages * properties * perEntry - messages * perMessage - inHeader;
        assertThat(inCommand).as("unknown fields left for the command itself").isPositive();
        WireCommand.Builder full = WireCommand.newBuilder().setCodeValue(RequestCode.SEND.id()).setRequestId(1)
                .setUnknownFields(unknownFields(inCommand))
                .addHeaders(Entry.newBuilder().setKey("h").setValue("v").setUnknownFields(unknownFields(inHeader)));
        for (int m = 0; m < messages; m++) {
            WireMessage.Builder message = WireMessage.newBuilder().setTopic("t").setUnknownFields(unknownFields(perMessage));
            for (int p = 0; p < properties; p++) {
                message.addProperties(Entry.newBuilder().setKey("p" + p).setUnknownFields(unknownFields(perEntry)));
            }
            full.addMessages(message);
        }

        Command decoded = codec.decode(ByteBuffer.wrap(full.build().toByteArray()), Limits.DEFAULT);
        assertThat(decoded.messages()).hasSize(messages).allSatisfy(m -> assertThat(m.properties()).hasSize(properties));

        WireMessage.Builder last = full.getMessagesBuilder(messages - 1);
        last.getPropertiesBuilder(properties - 1).setUnknownFields(unknownFields(perEntry + 1));
        byte[] oneMore = full.build().toByteArray();
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(oneMore), Limits.DEFAULT)).isInstanceOf(CodecException.class)
                .hasMessage("unknown fields in the frame: count " + (budget + 1) + " (expected: <= " + budget + ")");
    }

    /** {@code count} varints on field 100, which no message of ours has. */
    private static UnknownFieldSet unknownFields(int count) {
        UnknownFieldSet.Field.Builder field = UnknownFieldSet.Field.newBuilder();
        for (int i = 0; i < count; i++) {
            field.addVarint(i);
        }
        return UnknownFieldSet.newBuilder().addField(100, field.build()).build();
    }

    /** The one-byte {@code tag} of a length-delimited field, the varint length, then {@code body}. */
    private static byte[] lengthDelimited(byte tag, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 6);
        out.write(tag);
        int n = body.length;
        while ((n & ~0x7F) != 0) {
            out.write((n & 0x7F) | 0x80);
            n >>>= 7;
        }
        out.write(n);
        out.writeBytes(body);
        return out.toByteArray();
    }

    /** {@code times} copies of {@code part}, one after the other. */
    private static byte[] concat(int times, byte[] part) {
        byte[] out = new byte[times * part.length];
        for (int i = 0; i < times; i++) {
            System.arraycopy(part, 0, out, i * part.length, part.length);
        }
        return out;
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

    /**
     * Decodes {@code frame}, expecting a refusal containing {@code error} after this thread
     * allocated less than 4 times the frame; the allocation is checked first, so a frame that
     * protobuf parsed whole before something else refused it fails on what it cost.
     */
    private CodecException assertAllocatesLittle(byte[] frame, String error) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        Throwable thrown = catchThrowable(() -> codec.decode(ByteBuffer.wrap(frame), Limits.DEFAULT));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated decoding a %d-byte frame", frame.length).isLessThan(4L * frame.length);
        assertThat(thrown).isInstanceOf(CodecException.class).hasMessageContaining(error);
        return (CodecException) thrown;
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
