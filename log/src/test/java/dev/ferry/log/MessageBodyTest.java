package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message's body is the bytes between its buffer's position and limit when the message was
 * built; {@link LogMessage} reads them by absolute index and keeps no view of its own, so what the
 * caller does with the buffer's position and limit afterwards must change nothing: not what is
 * stored, not {@link LogMessage#body()}.
 */
class MessageBodyTest {
    @TempDir
    Path dir;

    @Test
    void theBodyIsWhatLayBetweenPositionAndLimitAtBuildTimeWhateverTheCallerDoesAfter() {
        List<ByteBuffer> sources = List.of(
                ByteBuffer.wrap(bytes("0123456789")),
                direct("0123456789"),
                ByteBuffer.wrap(bytes("0123456789")).asReadOnlyBuffer(),
                ByteBuffer.wrap(bytes("xx0123456789")).position(2).slice()); // a heap slice: arrayOffset 2
        int n = 0;
        for (ByteBuffer source : sources) {
            String what = "source " + n + " (" + source + ")";
            source.position(3).limit(8);
            LogMessage m = LogMessage.builder("t", 0, source).build();
            // the caller moves on: a pooled buffer is reused, a decoder reads further, a frame is cut shorter
            source.clear().position(9);
            LogMessage shrunk = LogMessage.builder("t", 0, source.duplicate().position(3).limit(8)).build();
            source.limit(2);
            assertThat(text(m.body())).as(what).isEqualTo("34567");
            assertThat(m.storedSize()).isEqualTo(StoreTestSupport.HEADER_FOR_TOPIC_T + 5);

            try (MessageStore store = MessageStore.open(smallConfig(dir.resolve("s" + n++)).build())) {
                AppendResult r = store.append(m);
                assertThat(r.size()).isEqualTo(StoreTestSupport.HEADER_FOR_TOPIC_T + 5);
                store.append(shrunk);
                assertThat(store.readMessages("t", 0, 0, 2)).as(what).extracting(StoreTestSupport::text)
                        .containsExactly("34567", "34567");
            }
            assertThat(source.position()).as("the caller's position").isEqualTo(2);
            assertThat(source.limit()).as("the caller's limit").isEqualTo(2);
        }
    }

    @Test
    void bodyIsAReadOnlyViewOfItsOwnAndToBuilderKeepsTheSameBytes() {
        LogMessage m = LogMessage.builder("t", 0, bytes("hello")).build();
        ByteBuffer view = m.body();
        view.get(); // moving one view moves no other
        assertThat(text(m.body())).isEqualTo("hello");
        assertThatThrownBy(() -> m.body().put(0, (byte) 'j')).isInstanceOf(ReadOnlyBufferException.class);
        assertThat(text(m.toBuilder("u", 1).build().body())).isEqualTo("hello");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static ByteBuffer direct(String s) {
        return ByteBuffer.allocateDirect(s.length()).put(bytes(s)).clear();
    }

    private static String text(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return new String(out, StandardCharsets.US_ASCII);
    }
}
