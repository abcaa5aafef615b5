package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.caucho.hessian.io.Hessian2Output;
import com.google.protobuf.CodedOutputStream;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The same bad message is refused the same way on every codec, over a real socket, and the same
 * good one is served on every codec: a codec's parser must not be stricter or looser than the
 * limits and types docs/PROTOCOL.md gives for all of them.
 */
class CodecParityTest {
    @TempDir
    Path dir;

    /** 55,000 chars: over the default header key limit (256), within a raised one (65,535), past Jackson's own name limit (50,000). */
    private static final String LONG_KEY = "k".repeat(55_000);

    /**
     * A header key over its limit is LIMIT_EXCEEDED naming the field and the limit on every codec.
     * JSON answered BAD_REQUEST with Jackson's "Name length (55000) exceeds the maximum allowed
     * (50000, from StreamReadConstraints.getMaxNameLength())": its parser refused a JSON object key
     * longer than 50,000 chars before the limit was checked.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void aHeaderKeyOverItsLimitIsLimitExceededOnEveryCodec(String codec) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect(codec)) {
            c.write(c.request(RequestCode.HEARTBEAT).header(LONG_KEY, "v").build());
            Command r = c.closingAnswer(Status.LIMIT_EXCEEDED);
            assertThat(r.message()).isEqualTo("bad frame: header key: length 55000 bytes (expected: <= 256)");
        }
    }

    /**
     * With the header key limit raised to 65,535 bytes a 55,000-byte key is valid: every codec
     * serves it. JSON refused it (BAD_REQUEST, the connection closed) whatever the limits said.
     */
    @ParameterizedTest
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void aLongHeaderKeyWithinRaisedLimitsIsServedOnEveryCodec(String codec) throws IOException {
        Limits limits = Limits.builder().maxHeaderKeyBytes(65_535).build();
        try (TestServer server = TestServer.start(dir, log -> log, gw -> gw.limits(limits)); TestClient c = server.connect(codec)) {
            Command r = c.call(c.request(RequestCode.HEARTBEAT).header(LONG_KEY, "v").build());
            assertThat(r.status()).as(r.message()).isEqualTo(Status.OK);
            assertThat(c.call(c.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
        }
    }

    /**
     * A Hessian string field sent as another type is refused, as JSON refuses {@code "tags":5}:
     * the stock reader's readString() turned an int, long, double or boolean into its text, so a
     * SEND whose tags were the int 5 stored the tags "5", and a property value {@code true} the
     * text "true".
     */
    @ParameterizedTest
    @ValueSource(strings = {"int", "long", "double", "boolean"})
    void aHessianStringFieldSentAsAnotherTypeIsRefusedAndNothingIsStored(String type) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("hessian")) {
            assertThat(c.createTopic("typed", 1).status()).isEqualTo(Status.OK);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Hessian2Output out = new Hessian2Output(bytes);
            out.writeMapBegin(null);
            out.writeString("kind");
            out.writeString("REQUEST");
            out.writeString("code");
            out.writeString("SEND");
            out.writeString("requestId");
            out.writeInt(9);
            out.writeString("messages");
            out.writeListBegin(1, null);
            out.writeMapBegin(null);
            out.writeString("topic");
            out.writeString("typed");
            out.writeString("queueId");
            out.writeInt(0);
            out.writeString("tags");
            switch (type) {
                case "int" -> out.writeInt(5);
                case "long" -> out.writeLong(5L << 40);
                case "double" -> out.writeDouble(1e20);
                default -> out.writeBoolean(true);
            }
            out.writeString("body");
            out.writeBytes(new byte[] {1});
            out.writeMapEnd();
            out.writeMapEnd();
            out.flush();
            c.writeRaw(TestClient.bytes(Frames.frame(ByteBuffer.wrap(bytes.toByteArray()))));
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).startsWith("bad frame: ").contains("tags").contains("expected: string");
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("typed", 0, 0, 10))).as("nothing stored").isEmpty();
            }
        }
    }

    /**
     * A Hessian string whose bytes are not valid UTF-8 is refused, as the binary codec refuses one
     * ("tags: invalid UTF-8 ..."): the stock reader did not check continuation bytes nor overlong
     * forms, so tags sent as the bytes C3 28 (a lead byte, then '(') were stored as "\u00e8",
     * swallowing the '(', and C0 80 (an overlong NUL) as a NUL.
     */
    @ParameterizedTest
    @ValueSource(strings = {"c328", "c080", "e08080", "c3"})
    void aHessianStringOfInvalidUtf8IsRefusedAndNothingIsStored(String utf8) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("hessian")) {
            assertThat(c.createTopic("bytes", 1).status()).isEqualTo(Status.OK);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Hessian2Output out = new Hessian2Output(bytes);
            out.writeMapBegin(null);
            out.writeString("kind");
            out.writeString("REQUEST");
            out.writeString("code");
            out.writeString("SEND");
            out.writeString("requestId");
            out.writeInt(9);
            out.writeString("messages");
            out.writeListBegin(1, null);
            out.writeMapBegin(null);
            out.writeString("topic");
            out.writeString("bytes");
            out.writeString("queueId");
            out.writeInt(0);
            out.writeString("tags");
            out.flush();
            bytes.write(0x01); // a string of one char, its bytes:
            bytes.write(java.util.HexFormat.of().parseHex(utf8));
            out.writeString("body");
            out.writeBytes(new byte[] {1});
            out.writeMapEnd();
            out.writeMapEnd();
            out.flush();
            c.writeRaw(TestClient.bytes(Frames.frame(ByteBuffer.wrap(bytes.toByteArray()))));
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).startsWith("bad frame: ").contains("tags: invalid UTF-8");
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("bytes", 0, 0, 10))).as("nothing stored").isEmpty();
            }
        }
    }

    /**
     * A protobuf 32-bit field (queue_id, request_id, flags, the enums) whose varint holds a value
     * past 32 bits is refused, as Hessian and JSON refuse such a queueId: protobuf's parser kept
     * the low 32 bits, so a SEND to queue 2^32 + 1 was stored in queue 1.
     */
    @ParameterizedTest
    @ValueSource(strings = {"queueId", "requestId"})
    void aProtobufInt32PastThirtyTwoBitsIsRefusedNotCutToItsLowBits(String field) throws IOException {
        try (TestServer server = TestServer.start(dir); TestClient c = server.connect("protobuf")) {
            assertThat(c.createTopic("wide", 2).status()).isEqualTo(Status.OK);
            ByteArrayOutputStream message = new ByteArrayOutputStream();
            CodedOutputStream m = CodedOutputStream.newInstance(message);
            m.writeString(1, "wide");
            long queueId = field.equals("queueId") ? (1L << 32) + 1 : 1;
            m.writeUInt64(2, queueId << 1); // sint32 queue_id: zigzag of a positive n is 2n
            m.writeByteArray(12, new byte[] {1});
            m.flush();
            ByteArrayOutputStream command = new ByteArrayOutputStream();
            CodedOutputStream o = CodedOutputStream.newInstance(command);
            o.writeEnum(1, 0); // REQUEST
            o.writeEnum(2, RequestCode.SEND.id());
            o.writeUInt64(3, field.equals("requestId") ? (1L << 32) + 7 : 7);
            o.writeByteArray(7, message.toByteArray());
            o.flush();
            c.writeRaw(TestClient.bytes(Frames.frame(ByteBuffer.wrap(command.toByteArray()))));
            Command r = c.closingAnswer(Status.BAD_REQUEST);
            assertThat(r.message()).startsWith("bad frame: ").contains(field).contains("4294967")
                    .contains("(expected: a 32-bit");
            try (TestClient other = server.connect("binary")) {
                assertThat(TestClient.fetched(other.fetch("wide", 1, 0, 10))).as("nothing stored in queue 1").isEmpty();
            }
        }
    }
}
