package dev.ferry.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class HandshakeTest {
    private static final HexFormat HEX = HexFormat.of();

    /** A codec that only has a name: the handshake never encodes with it. */
    private record Named(String name) implements Codec {
        @Override
        public ByteBuffer encode(Command command) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Command decode(ByteBuffer payload, Limits limits) {
            throw new UnsupportedOperationException();
        }
    }

    private static final Codecs SERVER = Codecs.of(new Named("binary"), new Named("json"),
            new Named("hessian"), new Named("protobuf"));

    @Test
    void layoutMatchesTheDocumentedBytes() {
        assertThat(Handshake.MAGIC_OFFSET).isEqualTo(0);
        assertThat(Handshake.VERSION_OFFSET).isEqualTo(4);
        assertThat(Handshake.CODEC_COUNT_OFFSET).isEqualTo(5);
        assertThat(Handshake.CODECS_OFFSET).isEqualTo(6);
        assertThat(Handshake.RESULT_OFFSET).isEqualTo(5);
        assertThat(Handshake.TEXT_LENGTH_OFFSET).isEqualTo(6);
        assertThat(Handshake.TEXT_OFFSET).isEqualTo(7);
        assertThat(hex(Hello.of("binary", "json").encode()))
                .isEqualTo("46525259" + "01" + "02" + "06" + "62696e617279" + "04" + "6a736f6e");
        assertThat(hex(HelloReply.accepted("binary").encode()))
                .isEqualTo("46525259" + "01" + "00" + "06" + "62696e617279");
    }

    @Test
    void acceptsTheFirstOfferedCodecTheServerHas() throws CodecException {
        ByteBuffer in = Hello.of("xml", "json", "binary").encode();
        Hello hello = Handshake.decodeHello(in);
        assertThat(hello).isEqualTo(new Hello(1, List.of("xml", "json", "binary")));
        assertThat(in.hasRemaining()).isFalse();
        HelloReply reply = Handshake.negotiate(hello, SERVER);
        assertThat(reply.accepted()).isTrue();
        assertThat(reply.text()).isEqualTo("json");
        assertThat(Handshake.decodeReply(reply.encode())).isEqualTo(reply);
    }

    @Test
    void refusesWhenNoCodecIsCommon() throws CodecException {
        HelloReply reply = Handshake.negotiate(Handshake.decodeHello(Hello.of("xml").encode()), SERVER);
        assertThat(reply.result()).isEqualTo(HandshakeResult.NO_COMMON_CODEC);
        assertThat(reply.text()).isEqualTo("no common codec: offered [xml] (supported: binary, hessian, json, protobuf)");
        HelloReply decoded = Handshake.decodeReply(reply.encode());
        assertThat(decoded).isEqualTo(reply);
        assertThat(decoded.accepted()).isFalse();
    }

    @Test
    void refusesAnotherVersionAfterReadingOnlyFiveBytes() throws CodecException {
        ByteBuffer in = ByteBuffer.wrap(HEX.parseHex("46525259" + "02" + "ff" + "ee"));
        Hello hello = Handshake.decodeHello(in);
        assertThat(hello).isEqualTo(new Hello(2, List.of()));
        assertThat(in.position()).isEqualTo(5);
        HelloReply reply = Handshake.negotiate(hello, SERVER);
        assertThat(reply.result()).isEqualTo(HandshakeResult.UNSUPPORTED_VERSION);
        assertThat(reply.version()).isEqualTo(Handshake.VERSION);
        assertThat(reply.text()).isEqualTo("unsupported version: 2 (supported: 1)");
    }

    @Test
    void wrongMagicFailsAtTheFirstDifferingByte() {
        assertThatThrownBy(() -> Handshake.decodeHello(ByteBuffer.wrap("GET / HTTP/1.1".getBytes())))
                .isInstanceOf(CodecException.class)
                .hasMessage("magic: 0x47455420 (expected: 0x46525259 \"FRRY\")");
        assertThatThrownBy(() -> Handshake.decodeHello(ByteBuffer.wrap(new byte[] {0x46, 0x00})))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("magic: 0x4600");
        assertThatThrownBy(() -> Handshake.decodeReply(ByteBuffer.wrap(new byte[] {0x00})))
                .isInstanceOf(CodecException.class);
    }

    @Test
    void helloFedByteByByteIsDecodedOnceComplete() throws CodecException {
        byte[] bytes = bytes(Hello.of("protobuf", "hessian", "binary").encode());
        ByteBuffer in = ByteBuffer.allocate(bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            in.put(bytes[i]).flip();
            Hello hello = Handshake.decodeHello(in);
            if (i < bytes.length - 1) {
                assertThat(hello).as("after %d of %d bytes", i + 1, bytes.length).isNull();
                assertThat(in.position()).isZero();
                in.compact();
            } else {
                assertThat(hello.codecs()).containsExactly("protobuf", "hessian", "binary");
                assertThat(in.hasRemaining()).isFalse();
            }
        }
    }

    @Test
    void replyFedByteByByteIsDecodedOnceComplete() throws CodecException {
        byte[] bytes = bytes(HelloReply.refused(HandshakeResult.NO_COMMON_CODEC, "nope").encode());
        for (int n = 0; n < bytes.length; n++) {
            assertThat(Handshake.decodeReply(ByteBuffer.wrap(bytes, 0, n))).as("%d bytes", n).isNull();
        }
        assertThat(Handshake.decodeReply(ByteBuffer.wrap(bytes)).text()).isEqualTo("nope");
    }

    @Test
    void helloLimitsAreEnforced() {
        assertThatThrownBy(() -> Handshake.decodeHello(ByteBuffer.wrap(HEX.parseHex("46525259" + "01" + "00"))))
                .hasMessage("codec count: 0 (expected: 1..16)");
        assertThatThrownBy(() -> Handshake.decodeHello(ByteBuffer.wrap(HEX.parseHex("46525259" + "01" + "11"))))
                .hasMessage("codec count: 17 (expected: 1..16)");
        assertThatThrownBy(() -> Handshake.decodeHello(ByteBuffer.wrap(HEX.parseHex("46525259" + "01" + "01" + "21"))))
                .hasMessage("codec name length: 33 (expected: 1..32)");
        assertThatThrownBy(() -> Handshake.decodeHello(ByteBuffer.wrap(HEX.parseHex("46525259" + "01" + "01" + "02" + "0a41"))))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith("codec name: '?A'");
        assertThatThrownBy(() -> Handshake.decodeReply(ByteBuffer.wrap(HEX.parseHex("46525259" + "01" + "09" + "00"))))
                .hasMessage("handshake result: 9 (expected: 0..4)");
    }

    @Test
    void refusalTextIsMadeAsciiAndCut() {
        HelloReply r = HelloReply.refused(HandshakeResult.BAD_HELLO, "é".repeat(300));
        assertThat(r.text()).hasSize(255).matches("\\?+");
    }

    private static String hex(ByteBuffer b) {
        return HEX.formatHex(bytes(b));
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
