package dev.ferry.protocol.binary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecContractTest;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RandomCommands;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BinaryCodecTest extends CodecContractTest {
    private static final HexFormat HEX = HexFormat.of();
    private final BinaryCodec codec = new BinaryCodec();

    @Override
    protected Codec codec() {
        return codec;
    }

    @Test
    void layoutConstantsMatchTheDocumentedTable() {
        assertThat(new int[] {BinaryLayout.FLAGS_OFFSET, BinaryLayout.CODE_OFFSET, BinaryLayout.REQUEST_ID_OFFSET,
                BinaryLayout.STATUS_OFFSET, BinaryLayout.MESSAGE_LENGTH_OFFSET, BinaryLayout.COMMAND_FIXED_SIZE})
                .containsExactly(0, 1, 3, 7, 9, 13);
        assertThat(new int[] {BinaryLayout.QUEUE_ID_OFFSET, BinaryLayout.QUEUE_OFFSET_OFFSET,
                BinaryLayout.BORN_TIMESTAMP_OFFSET, BinaryLayout.STORE_TIMESTAMP_OFFSET, BinaryLayout.DELIVER_AT_OFFSET,
                BinaryLayout.MESSAGE_FLAGS_OFFSET, BinaryLayout.MESSAGE_FIXED_SIZE})
                .containsExactly(0, 4, 12, 20, 28, 36, 40);
        assertThat(BinaryLayout.MIN_COMMAND_SIZE).isEqualTo(23);
        assertThat(BinaryLayout.MIN_MESSAGE_SIZE).isEqualTo(54);
    }

    /** Golden bytes of version 1: docs/PROTOCOL.md shows the same frame. */
    @Test
    void sendRequestMatchesGoldenBytes() throws CodecException {
        Command c = Command.request(RequestCode.SEND, 7)
                .messages(List.of(Message.builder("orders").keys(List.of("k1")).tags("tagA")
                        .properties(Map.of("p", "v")).bornTimestamp(1_700_000_000_000L).body(new byte[] {'h', 'i'}).build()))
                .build();
        String golden = "00" + "0014" + "00000007" + "0000" + "00000000" + "0000" + "00000001"
                + "ffffffff" + "ffffffffffffffff" + "0000018bcfe56800" + "0000000000000000" + "0000000000000000" + "00000000"
                + "0006" + "6f7264657273" + "0000" + "0004" + "74616741" + "0001" + "0002" + "6b31"
                + "0001" + "0001" + "70" + "00000001" + "76" + "00000002" + "6869"
                + "00000000";
        assertThat(HEX.formatHex(bytes(codec.encode(c)))).isEqualTo(golden);
        assertThat(codec.decode(ByteBuffer.wrap(HEX.parseHex(golden)), Limits.DEFAULT)).isEqualTo(c);
    }

    @Test
    void bodiesAreReadOnlySlicesOfThePayloadNotCopies() throws CodecException {
        Command c = Command.request(RequestCode.SEND, 1).body(new byte[] {1, 2, 3})
                .messages(List.of(Message.builder("t").body(new byte[] {4, 5}).build())).build();
        ByteBuffer payload = ByteBuffer.wrap(bytes(codec.encode(c)));
        Command decoded = codec.decode(payload, Limits.DEFAULT);
        assertThat(decoded.body().isReadOnly()).isTrue();
        assertThat(decoded.messages().get(0).body().isReadOnly()).isTrue();
        payload.put(payload.limit() - 1, (byte) 9); // the last body byte, seen through the slice
        assertThat(decoded.body().get(2)).isEqualTo((byte) 9);
    }

    /**
     * The reader gives a message the previous message's topic String when the bytes are the same
     * (a batch's messages share one): topics that differ only in their bytes, in their length, or
     * in UTF-8 must still come out as sent.
     */
    @Test
    void messagesOfABatchKeepTheirOwnTopics() throws CodecException {
        List<String> topics = List.of("orders", "orders", "orderz", "orders", "order", "order", "", "commandes-\u00e9t\u00e9",
                "commandes-\u00e9t\u00e9", "commandes-ete", "orders");
        List<Message> sent = topics.stream().map(t -> Message.builder(t).body(new byte[] {1}).build()).toList();
        Command decoded = codec.decode(codec.encode(Command.request(RequestCode.SEND_BATCH, 1).messages(sent).build()), Limits.DEFAULT);
        assertThat(decoded.messages()).containsExactlyElementsOf(sent);
        assertThat(decoded.messages().get(1).topic()).as("a repeated topic is the same String, hashed once")
                .isSameAs(decoded.messages().get(0).topic());
    }

    @Test
    void encodeWithoutBodyIsTheFramePrefixOfTheFullEncoding() throws CodecException {
        Command response = Command.response(Command.request(RequestCode.FETCH, 3).build(), Status.OK)
                .header(Headers.NEXT_OFFSET, 10).header(Headers.MIN_OFFSET, 0).header(Headers.MAX_OFFSET, 10).build();
        byte[] records = new RandomCommands(1).randomBytes(1000);
        byte[] full = bytes(codec.encodeFrame(response.toBuilder().body(records).build()));

        ByteBuffer head = codec.encodeFrameWithoutBody(response, records.length);
        byte[] joined = new byte[head.remaining() + records.length];
        head.duplicate().get(joined, 0, head.remaining());
        System.arraycopy(records, 0, joined, head.remaining(), records.length);
        assertThat(joined).isEqualTo(full);

        ByteBuffer payloadHead = codec.encodeWithoutBody(response, records.length);
        assertThat(payloadHead.remaining()).isEqualTo(head.remaining() - Frames.LENGTH_FIELD_SIZE);
        ByteBuffer frame = ByteBuffer.wrap(joined);
        Command back = codec.decode(Frames.next(frame, Limits.DEFAULT), Limits.DEFAULT);
        assertThat(back.body()).isEqualTo(ByteBuffer.wrap(records));
        assertThatThrownBy(() -> codec.encodeWithoutBody(response, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void oversizedCountsAreRefusedBeforeAllocating() {
        // A minimal command whose message count says 2^31-1: refused by the limit, then by the bytes remaining.
        byte[] b = bytes(codec.encode(Command.request(RequestCode.SEND, 1).build()));
        b[15] = 0x7F;
        b[16] = b[17] = b[18] = (byte) 0xFF;
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .hasMessage("messages: count 2147483647 (expected: <= 10000)");
        b[15] = 0;
        b[16] = 0;
        b[17] = 0x27;
        b[18] = 0x10; // 10,000: within the limit but 540,000 bytes can't fit in 23
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .hasMessageStartingWith("messages: count 10000 needs at least 540000 bytes");
        byte[] body = bytes(codec.encode(Command.request(RequestCode.SEND, 1).build()));
        body[19] = (byte) 0x80; // body length negative
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(body), Limits.DEFAULT))
                .hasMessage("body: length -2147483648 bytes (expected: >= 0)");
    }

    /** The examples docs/PROTOCOL.md gives of a count or length within its limit that the frame cannot hold. */
    @Test
    void theDocumentedTruncationErrorsAreTheCodecs() {
        byte[] b = bytes(codec.encode(Command.request(RequestCode.SEND, 1).build()));
        b[17] = 0x27;
        b[18] = 0x0F; // 9,999
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .hasMessage("messages: count 9999 needs at least 539946 bytes at offset 19 (expected: <= 4 remaining)");
        byte[] send = bytes(codec.encode(Command.request(RequestCode.SEND, 1)
                .messages(List.of(Message.builder("t").build())).build()));
        send[64] = 0x03;
        send[65] = (byte) 0xE8; // tags: 1,000 bytes, where the frame has 12 left
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(send), Limits.DEFAULT))
                .hasMessage("tags: truncated at offset 66 (expected: 1000 more bytes, 12 remain)");
    }

    @Test
    void unknownIdsAndTrailingBytesAreRefused() {
        byte[] b = bytes(codec.encode(Command.request(RequestCode.SEND, 1).build()));
        byte[] badCode = b.clone();
        badCode[2] = 99;
        // an unknown code is not refused: the broker answers it UNSUPPORTED with its request id
        assertThatCode(() -> {
            Command c = codec.decode(ByteBuffer.wrap(badCode), Limits.DEFAULT);
            assertThat(c.code()).isEqualTo(RequestCode.UNKNOWN);
            assertThat(c.requestId()).isEqualTo(1);
            assertThat(c.message()).startsWith("code: 99 (expected: one of [1, 10,");
        }).doesNotThrowAnyException();
        byte[] badStatus = b.clone();
        badStatus[8] = 77;
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(badStatus), Limits.DEFAULT)).hasMessageStartingWith("status: 77");
        byte[] trailing = java.util.Arrays.copyOf(b, b.length + 2);
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(trailing), Limits.DEFAULT))
                .hasMessage("payload: 2 bytes after the body (expected: 0)");
    }

    @Test
    void tooLongShortStringIsRefusedWhenEncoding() {
        Command c = Command.request(RequestCode.SEND, 1).messages(List.of(Message.builder("t".repeat(70_000)).build())).build();
        assertThatThrownBy(() -> codec.encode(c)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("topic: length 70000 bytes (expected: <= 65535 in the binary codec)");
    }

    /**
     * Every string the reader decodes refuses invalid UTF-8, naming the field and the byte: before,
     * each bad byte became U+FFFD (3 bytes in UTF-8), so 1,024 bytes of 0xFF in tags were stored
     * as 3,072 bytes that the JSON codec then refused to carry to any consumer.
     */
    @Test
    void invalidUtf8InAnyStringIsRefusedNamingTheFieldAndTheByte() {
        String mark = "QQQ";
        Map<String, Command> commands = new java.util.LinkedHashMap<>();
        commands.put("message", Command.response(Command.request(RequestCode.SEND, 1).build(), Status.BUSY).message("x" + mark).build());
        commands.put("header key", Command.request(RequestCode.FETCH, 1).header("x" + mark, "v").build());
        commands.put("header value", Command.request(RequestCode.FETCH, 1).header("k", "x" + mark).build());
        for (String field : List.of("topic", "msgId", "tags", "key", "property key", "property value")) {
            Message.Builder m = Message.builder("t");
            switch (field) {
                case "topic" -> m.topic("x" + mark);
                case "msgId" -> m.msgId("x" + mark);
                case "tags" -> m.tags("x" + mark);
                case "key" -> m.keys(List.of("x" + mark));
                case "property key" -> m.properties(Map.of("x" + mark, "v"));
                default -> m.properties(Map.of("k", "x" + mark));
            }
            commands.put(field, Command.request(RequestCode.SEND, 1).messages(List.of(m.build())).build());
        }
        // a stray byte, a lead byte without its continuation, an overlong '/', an encoded surrogate
        List<byte[]> invalid = List.of(new byte[] {(byte) 0xFF, 'a', 'a'}, new byte[] {(byte) 0xC3, 'a', 'a'},
                new byte[] {(byte) 0xC0, (byte) 0xAF, 'a'}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80});
        commands.forEach((field, c) -> {
            for (byte[] bad : invalid) {
                byte[] b = bytes(codec.encode(c));
                String text = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
                int at = text.indexOf(mark);
                System.arraycopy(bad, 0, b, at, bad.length);
                assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                        .as("%s with %s", field, HEX.formatHex(bad))
                        .isInstanceOf(CodecException.class)
                        .hasMessage(field + ": invalid UTF-8 at byte 1 of 4 (expected: valid UTF-8)");
            }
        });
    }

    @Test
    void tagsOfInvalidUtf8AtTheirLimitAreRefusedNotStoredThreeTimesLonger() throws CodecException {
        String tags = "Q".repeat(Limits.DEFAULT.maxTagsBytes());
        byte[] b = bytes(codec.encode(Command.request(RequestCode.SEND, 1)
                .messages(List.of(Message.builder("t").tags(tags).build())).build()));
        int at = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf(tags);
        java.util.Arrays.fill(b, at, at + tags.length(), (byte) 0xFF);
        assertThatThrownBy(() -> codec.decode(ByteBuffer.wrap(b), Limits.DEFAULT))
                .hasMessage("tags: invalid UTF-8 at byte 0 of 1024 (expected: valid UTF-8)");
        // valid multi-byte text still decodes, from a heap or a direct buffer
        Command ok = Command.request(RequestCode.SEND, 1)
                .messages(List.of(Message.builder("t").tags("\u00e9\u4e2d\ud83d\ude00").build())).build();
        byte[] okBytes = bytes(codec.encode(ok));
        ByteBuffer direct = ByteBuffer.allocateDirect(okBytes.length).put(okBytes).flip();
        assertThat(codec.decode(ByteBuffer.wrap(okBytes), Limits.DEFAULT)).isEqualTo(ok);
        assertThat(codec.decode(direct, Limits.DEFAULT)).isEqualTo(ok);
    }
}
