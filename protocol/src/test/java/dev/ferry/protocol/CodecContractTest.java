package dev.ferry.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every {@link Codec} must do, run by each codec module with its own codec: random commands
 * round-trip equal; decoding any bytes either succeeds or throws {@link CodecException}, without
 * allocating far beyond the input; every {@link Limits} value is enforced with an error naming
 * its field. Seeded, so a failure names the seed and case that reproduce it.
 */
public abstract class CodecContractTest {
    /** Random commands that must round-trip. */
    protected static final int ROUND_TRIPS = 2_000;
    /** Most bytes one decode of a fuzzed input may allocate beyond 16 x its length. */
    private static final long ALLOCATION_SLACK = 4L * 1024 * 1024;

    protected abstract Codec codec();

    @Test
    void isFoundByServiceLoader() {
        Codec found = Codecs.load().get(codec().name());
        assertThat(found).isInstanceOf(codec().getClass());
    }

    @Test
    void randomCommandsRoundTripEqual() throws CodecException {
        RandomCommands gen = new RandomCommands(0xF3_22_01L);
        for (int i = 0; i < ROUND_TRIPS; i++) {
            Command c = gen.next();
            ByteBuffer payload = codec().encode(c);
            assertThat(payload.position()).isZero();
            Command back = decode(payload, Limits.DEFAULT);
            if (!back.equals(c)) {
                fail("case " + i + ": " + codec().name() + " changed the command\n sent: " + c + "\n got:  " + back
                        + "\n messages equal: " + back.messages().equals(c.messages())
                        + ", headers equal: " + back.headers().equals(c.headers())
                        + ", bodies equal: " + back.body().equals(c.body()));
            }
        }
    }

    @Test
    void framesRoundTripAndDecodeLeavesPayloadAlone() throws CodecException {
        RandomCommands gen = new RandomCommands(7);
        for (int i = 0; i < 100; i++) {
            Command c = gen.next();
            ByteBuffer frame = codec().encodeFrame(c);
            ByteBuffer payload = Frames.next(frame, Limits.DEFAULT);
            assertThat(payload).as("whole frame").isNotNull();
            assertThat(frame.hasRemaining()).isFalse();
            int position = payload.position();
            int limit = payload.limit();
            assertThat(codec().decode(payload, Limits.DEFAULT)).isEqualTo(c);
            assertThat(payload.position()).isEqualTo(position);
            assertThat(payload.limit()).isEqualTo(limit);
        }
    }

    @Test
    void decodesPayloadAtNonZeroPositionOfDirectBuffer() throws CodecException {
        Command c = new RandomCommands(11).next();
        ByteBuffer payload = codec().encode(c);
        ByteBuffer direct = ByteBuffer.allocateDirect(payload.remaining() + 10);
        direct.position(7);
        direct.put(payload.duplicate());
        direct.position(7).limit(7 + payload.remaining());
        assertThat(codec().decode(direct, Limits.DEFAULT)).isEqualTo(c);
    }

    @Test
    void emptyCommandRoundTrips() throws CodecException {
        Command c = Command.request(RequestCode.HEARTBEAT, 0).build();
        assertThat(decode(codec().encode(c), Limits.DEFAULT)).isEqualTo(c);
    }

    @Test
    void randomBytesDecodeOrFailCleanly() {
        Random r = new Random(42);
        for (int i = 0; i < 3_000; i++) {
            byte[] b = new byte[r.nextInt(i < 1_000 ? 16 : 400)];
            r.nextBytes(b);
            decodeOrFailCleanly("random bytes case " + i, b);
        }
    }

    @Test
    void everyTruncationDecodesOrFailsCleanly() {
        RandomCommands gen = new RandomCommands(3);
        int cases = 0;
        while (cases < 25) {
            Command c = gen.next();
            byte[] full = bytes(codec().encode(c));
            if (full.length > 3_000) {
                continue;
            }
            cases++;
            for (int n = 0; n < full.length; n++) {
                byte[] cut = java.util.Arrays.copyOf(full, n);
                decodeOrFailCleanly("truncation of case " + cases + " to " + n + " of " + full.length + " bytes", cut);
            }
        }
    }

    @Test
    void mutatedFramesDecodeOrFailCleanly() {
        RandomCommands gen = new RandomCommands(5);
        Random r = gen.random();
        List<byte[]> valid = new ArrayList<>();
        while (valid.size() < 40) {
            byte[] b = bytes(codec().encode(gen.next()));
            if (b.length > 0 && b.length < 4_000) {
                valid.add(b);
            }
        }
        int[] big = {0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 0x7FFF, 0xFFFF, 0x10000, 0x1000000};
        for (int i = 0; i < 6_000; i++) {
            byte[] b = valid.get(r.nextInt(valid.size())).clone();
            switch (r.nextInt(4)) {
                case 0 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                case 1 -> {
                    for (int k = 1 + r.nextInt(4); k > 0; k--) {
                        b[r.nextInt(b.length)] = (byte) r.nextInt();
                    }
                }
                case 2 -> { // an oversized length or count written over any 4 bytes
                    if (b.length >= 4) {
                        int at = r.nextInt(b.length - 3);
                        int v = big[r.nextInt(big.length)];
                        b[at] = (byte) (v >>> 24);
                        b[at + 1] = (byte) (v >>> 16);
                        b[at + 2] = (byte) (v >>> 8);
                        b[at + 3] = (byte) v;
                    }
                }
                default -> { // a byte set to a value that means "long" in varint / tagged encodings
                    b[r.nextInt(b.length)] = (byte) (0x80 | r.nextInt(0x80));
                }
            }
            decodeOrFailCleanly("mutation " + i, b);
        }
    }

    @Test
    void payloadLongerThanMaxFrameBytesIsRefused() {
        Command c = Command.request(RequestCode.SEND, 1).body(new byte[200]).build();
        Limits tight = Limits.builder().maxFrameBytes(100).build();
        assertThatThrownBy(() -> codec().decode(codec().encode(c), tight))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith(Limits.FRAME + ":")
                .hasMessageContaining("(expected: <= 100)");
    }

    static Stream<Arguments> limits() {
        Message m = Message.builder("t").build();
        return Stream.of(
                limit(Limits.HEADERS, l -> l.maxHeaders(2), c -> c.header("a", "1").header("b", "2").header("c", "3")),
                limit(Limits.HEADER_KEY, l -> l.maxHeaderKeyBytes(4), c -> c.header("abcde", "1")),
                limit(Limits.HEADER_VALUE, l -> l.maxHeaderValueBytes(4), c -> c.header("a", "é_é")),
                limit(Limits.MESSAGES, l -> l.maxMessagesPerCommand(2), c -> c.messages(List.of(m, m, m))),
                limit(Limits.KEYS, l -> l.maxKeysPerMessage(1), c -> c.messages(List.of(
                        m.toBuilder().keys(List.of("k1", "k2")).build()))),
                limit(Limits.KEY, l -> l.maxKeyBytes(3), c -> c.messages(List.of(
                        m.toBuilder().keys(List.of("k", "long")).build()))),
                limit(Limits.PROPERTIES, l -> l.maxPropertiesPerMessage(1), c -> c.messages(List.of(
                        m.toBuilder().properties(Map.of("a", "1", "b", "2")).build()))),
                limit(Limits.PROPERTY_KEY, l -> l.maxPropertyKeyBytes(2), c -> c.messages(List.of(
                        m.toBuilder().properties(Map.of("abc", "1")).build()))),
                limit(Limits.PROPERTY_VALUE, l -> l.maxPropertyValueBytes(2), c -> c.messages(List.of(
                        m.toBuilder().properties(Map.of("a", "日")).build()))),
                limit(Limits.TOPIC, l -> l.maxTopicBytes(5), c -> c.messages(List.of(
                        m.toBuilder().topic("topic-6").build()))),
                limit(Limits.TAGS, l -> l.maxTagsBytes(2), c -> c.messages(List.of(
                        m.toBuilder().tags("abc").build()))),
                limit(Limits.MSG_ID, l -> l.maxMsgIdBytes(4), c -> c.messages(List.of(
                        m.toBuilder().msgId("01234").build()))),
                limit(Limits.ERROR_MESSAGE, l -> l.maxErrorMessageBytes(5), c -> c.message("too long")));
    }

    private static Arguments limit(String field, UnaryOperator<Limits.Builder> limits,
                                   UnaryOperator<Command.Builder> command) {
        return Arguments.of(field, limits.apply(Limits.builder()).build(),
                command.apply(Command.request(RequestCode.SEND_BATCH, 9)).build());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("limits")
    void eachLimitIsEnforcedNamingItsField(String field, Limits limits, Command command) throws CodecException {
        ByteBuffer payload = codec().encode(command);
        assertThat(codec().decode(payload, Limits.DEFAULT)).as("within default limits").isEqualTo(command);
        assertThatThrownBy(() -> codec().decode(payload, limits))
                .isInstanceOf(CodecException.class)
                .hasMessageStartingWith(field + ": ")
                .hasMessageContaining("(expected: <= ");
    }

    @Test
    void duplicateHeaderIsRefused() throws CodecException {
        // Encoded through the codec's own path, then the second header renamed onto the first.
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("dupA", "1");
        headers.put("dupB", "2");
        byte[] b = bytes(codec().encode(Command.request(RequestCode.FETCH, 1).headers(headers).build()));
        String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1).replace("dupB", "dupA");
        byte[] dup = s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> codec().decode(ByteBuffer.wrap(dup), Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessageContaining("dupA");
    }

    /** Decodes with a fresh copy of the payload, so no test passes by sharing the encoder's buffer. */
    protected Command decode(ByteBuffer payload, Limits limits) throws CodecException {
        return codec().decode(ByteBuffer.wrap(bytes(payload)), limits);
    }

    /** Asserts that decoding {@code b} either succeeds or throws CodecException, and allocates little. */
    protected void decodeOrFailCleanly(String what, byte[] b) {
        ByteBuffer in = ByteBuffer.wrap(b);
        long before = Allocations.current();
        try {
            codec().decode(in, Limits.DEFAULT);
        } catch (CodecException expected) {
            assertThat(expected.getMessage()).as(what + ": message").isNotBlank();
        } catch (Throwable t) {
            throw new AssertionError(what + ": " + codec().name() + " threw " + t + " for "
                    + hex(b), t);
        }
        long allocated = Allocations.current() - before;
        assertThat(allocated).as(what + ": bytes allocated for a " + b.length + "-byte input " + hex(b))
                .isLessThan(ALLOCATION_SLACK + 16L * b.length);
    }

    protected static byte[] bytes(ByteBuffer buf) {
        byte[] b = new byte[buf.remaining()];
        buf.duplicate().get(b);
        return b;
    }

    protected static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(b.length, 64); i++) {
            s.append(String.format("%02x", b[i] & 0xFF));
        }
        return s + (b.length > 64 ? "..." : "");
    }
}
