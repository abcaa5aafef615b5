package dev.ferry.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelTest {

    @Test
    void numericIdsAreStable() {
        assertThat(Arrays.stream(RequestCode.values()).map(c -> c + "=" + c.id()))
                .containsExactly("UNKNOWN=0", "HEARTBEAT=1", "CREATE_TOPIC=10", "DESCRIBE_TOPIC=11", "LIST_TOPICS=12",
                        "DELETE_TOPIC=13", "SEND=20", "SEND_BATCH=21", "FETCH=30", "COMMIT_OFFSET=31",
                        "GET_OFFSET=32", "ACK=33", "NACK=34", "QUERY_MESSAGE=40", "SEND_HALF=50", "END_TRANSACTION=51",
                        "CHECK_TRANSACTION=52", "REGISTER_PRODUCER=53", "JOIN_GROUP=60",
                        "LEAVE_GROUP=61", "GROUP_HEARTBEAT=62", "LIST_GROUPS=63", "DESCRIBE_GROUP=64", "RESET_OFFSETS=65",
                        "LOCK_QUEUE=66", "UNLOCK_QUEUE=67", "DELETE_GROUP=68");
        assertThat(Arrays.stream(Status.values()).map(s -> s + "=" + s.id() + (s.retryable() ? " retryable" : "")))
                .containsExactly("OK=0", "BAD_REQUEST=1", "NOT_FOUND=2", "TOPIC_EXISTS=3", "BUSY=4 retryable",
                        "TIMEOUT=5 retryable", "OFFSET_OUT_OF_RANGE=6", "FRAME_TOO_LARGE=7", "LIMIT_EXCEEDED=8",
                        "UNSUPPORTED=9", "INTERNAL_ERROR=10", "FENCED=11", "LOCKED=12 retryable");
        assertThat(Arrays.stream(Kind.values()).map(k -> k + "=" + k.flagBits()))
                .containsExactly("REQUEST=0", "RESPONSE=1", "ONEWAY=2");
    }

    @Test
    void unknownIdsAreCodecExceptions() throws CodecException {
        assertThat(RequestCode.of(20)).isEqualTo(RequestCode.SEND);
        assertThatThrownBy(() -> RequestCode.of(2)).isInstanceOf(CodecException.class).hasMessageStartingWith("code: 2 (expected: one of [1, 10,");
        assertThatThrownBy(() -> RequestCode.of(65535)).isInstanceOf(CodecException.class);
        assertThatThrownBy(() -> RequestCode.of(0)).isInstanceOf(CodecException.class);
        assertThat(RequestCode.orUnknown(69)).isEqualTo(RequestCode.UNKNOWN);
        assertThat(RequestCode.orUnknown(0)).isEqualTo(RequestCode.UNKNOWN);
        assertThat(RequestCode.fromNameOrUnknown("PUBLISH")).isEqualTo(RequestCode.UNKNOWN);
        assertThat(RequestCode.unknown(69)).startsWith("code: 69 (expected: one of [1, 10,");
        assertThatThrownBy(() -> Status.of(13)).isInstanceOf(CodecException.class).hasMessage("status: 13 (expected: 0..12)");
        assertThatThrownBy(() -> Kind.fromFlags(3)).isInstanceOf(CodecException.class);
        assertThatThrownBy(() -> RequestCode.fromName("send")).isInstanceOf(CodecException.class);
        assertThat(Kind.fromFlags(0xFD)).isEqualTo(Kind.RESPONSE);
    }

    @Test
    void equalityComparesBodiesByContentAndIgnoresBufferPositions() {
        ByteBuffer a = ByteBuffer.wrap(new byte[] {0, 1, 2, 3}).position(1);
        ByteBuffer b = ByteBuffer.allocateDirect(3).put(new byte[] {1, 2, 3}).flip();
        Message m1 = Message.builder("t").body(a).keys(List.of("k")).properties(Map.of("p", "v")).build();
        Message m2 = Message.builder("t").body(b).keys(List.of("k")).properties(Map.of("p", "v")).build();
        assertThat(m1).isEqualTo(m2).hasSameHashCodeAs(m2);
        assertThat(m1.toBuilder().body(new byte[] {1, 2, 4}).build()).isNotEqualTo(m2);
        Command c1 = Command.request(RequestCode.SEND, 1).messages(List.of(m1)).body(new byte[] {9}).build();
        Command c2 = Command.request(RequestCode.SEND, 1).messages(List.of(m2)).body(ByteBuffer.wrap(new byte[] {8, 9}).position(1)).build();
        assertThat(c1).isEqualTo(c2).hasSameHashCodeAs(c2);
    }

    @Test
    void bodiesAreReadOnlyViewsAndAccessorsReturnFreshDuplicates() {
        byte[] bytes = {1, 2, 3};
        Message m = Message.builder("t").body(bytes).build();
        ByteBuffer body = m.body();
        assertThat(body.isReadOnly()).isTrue();
        body.get();
        assertThat(m.body().remaining()).isEqualTo(3);
        assertThat(m.bodyLength()).isEqualTo(3);
        Message offset = Message.builder("t").body(ByteBuffer.wrap(new byte[] {0, 7, 8}).position(1)).build();
        assertThat(offset.body().position()).isZero();
        assertThat(offset.body().get(0)).isEqualTo((byte) 7);
    }

    @Test
    void aMessageOfOnlyABodyEqualsTheOneABuilderMakes() {
        byte[] bytes = {1, 2, 3};
        Message m = Message.ofBody("orders", 3, 1_700_000_000_000L, bytes);
        assertThat(m).isEqualTo(Message.builder("orders").queueId(3).bornTimestamp(1_700_000_000_000L).body(bytes).build())
                .hasSameHashCodeAs(Message.builder("orders").queueId(3).bornTimestamp(1_700_000_000_000L).body(bytes).build());
        assertThat(m.body().isReadOnly()).isTrue();
        assertThat(m.queueOffset()).isEqualTo(Message.NO_OFFSET);
        assertThat(Message.ofBody("t", 0, 0, new byte[0])).isEqualTo(Message.builder("t").queueId(0).build());
        assertThatThrownBy(() -> Message.ofBody("a\uD800", 0, 0, bytes)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("topic: unpaired surrogate");
    }

    @Test
    void defaultsAndResponses() {
        Command req = Command.request(RequestCode.FETCH, 42).header(Headers.TOPIC, "t").header(Headers.QUEUE_ID, 3).build();
        assertThat(req.status()).isEqualTo(Status.OK);
        assertThat(req.message()).isEmpty();
        assertThat(req.header(Headers.QUEUE_ID)).isEqualTo("3");
        Command resp = Command.response(req, Status.BUSY).message("later").build();
        assertThat(resp.kind()).isEqualTo(Kind.RESPONSE);
        assertThat(resp.code()).isEqualTo(RequestCode.FETCH);
        assertThat(resp.requestId()).isEqualTo(42);
        assertThat(resp.status().retryable()).isTrue();
        Message m = Message.builder("t").build();
        assertThat(m.queueId()).isEqualTo(Message.ANY_QUEUE);
        assertThat(m.queueOffset()).isEqualTo(Message.NO_OFFSET);
        assertThat(m.deliverAt()).isZero();
    }

    @Test
    void headersKeepTheirOrder() {
        Command c = Command.request(RequestCode.COMMIT_OFFSET, 1).header("z", "1").header("a", "2").header("m", "3").build();
        assertThat(c.headers().keySet()).containsExactly("z", "a", "m");
    }

    /**
     * UTF-8 cannot carry an unpaired surrogate: {@code String.getBytes} and protobuf write it as
     * '?', so a program's tags "a\uD800" were stored as "a?". The builders refuse it, naming the field.
     */
    @Test
    void buildersRefuseAnUnpairedSurrogateNamingTheField() {
        assertThatThrownBy(() -> Message.builder("t").tags("a\uD800").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tags: unpaired surrogate U+D800 at char 1 (expected: well-formed Unicode, which UTF-8 can carry)");
        assertThatThrownBy(() -> Message.builder("\uDC00").build()).hasMessageStartingWith("topic: unpaired surrogate U+DC00 at char 0");
        assertThatThrownBy(() -> Message.builder("t").msgId("\uD800x").build()).hasMessageStartingWith("msgId: unpaired surrogate");
        assertThatThrownBy(() -> Message.builder("t").keys(List.of("k\uD800")).build()).hasMessageStartingWith("key: unpaired surrogate");
        assertThatThrownBy(() -> Message.builder("t").properties(Map.of("p", "\uD800")).build())
                .hasMessageStartingWith("value of 'p': unpaired surrogate");
        assertThatThrownBy(() -> Command.request(RequestCode.FETCH, 1).header("\uD800", "v").build())
                .hasMessageStartingWith("key: unpaired surrogate");
        // a pair is one code point, and fine
        assertThat(Message.builder("t").tags("\uD83D\uDE00").build().tags()).isEqualTo("\uD83D\uDE00");
    }

    /**
     * A reply's message is diagnostic text that quotes what it was given, and may be cut to a
     * length: half a surrogate pair there is replaced by U+FFFD, so that the reply can still be
     * built (refusing it left a client's request unanswered and closed its connection).
     */
    @Test
    void aMessageWithHalfASurrogatePairIsMendedNotRefused() {
        String emoji = "\uD83D\uDE00";
        String cut = ("offset: 'a" + emoji + emoji).substring(0, 13); // ends inside the second pair
        assertThat(Command.request(RequestCode.FETCH, 1).message(cut).build().message()).isEqualTo("offset: 'a" + emoji.charAt(0)
                + emoji.charAt(1) + "\uFFFD");
        assertThat(Command.request(RequestCode.FETCH, 1).message("\uDFFFx" + emoji).build().message()).isEqualTo("\uFFFDx" + emoji);
    }
}
