package dev.ferry.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class FramesTest {

    @Test
    void framesArePrefixedWithABigEndianLength() {
        ByteBuffer f = Frames.frame(ByteBuffer.wrap(new byte[] {7, 8, 9}));
        assertThat(f.remaining()).isEqualTo(7);
        assertThat(f.getInt(0)).isEqualTo(3);
        assertThat(f.get(4)).isEqualTo((byte) 7);
    }

    @Test
    void nextReturnsNullUntilAWholeFrameIsThere() throws CodecException {
        ByteBuffer two = ByteBuffer.allocate(64);
        two.put(Frames.frame(ByteBuffer.wrap(new byte[] {1, 2}))).put(Frames.frame(ByteBuffer.wrap(new byte[0])));
        two.flip();
        for (int n = 0; n < 6; n++) {
            ByteBuffer part = two.duplicate().limit(n);
            assertThat(Frames.next(part, Limits.DEFAULT)).as("%d bytes", n).isNull();
            assertThat(part.position()).isZero();
        }
        ByteBuffer first = Frames.next(two, Limits.DEFAULT);
        assertThat(first.remaining()).isEqualTo(2);
        assertThat(first.get(0)).isEqualTo((byte) 1);
        ByteBuffer second = Frames.next(two, Limits.DEFAULT);
        assertThat(second.remaining()).isZero();
        assertThat(two.hasRemaining()).isFalse();
        assertThat(Frames.next(two, Limits.DEFAULT)).isNull();
    }

    @Test
    void oversizedLengthIsRefusedBeforeThePayloadArrives() {
        ByteBuffer in = ByteBuffer.allocate(4).putInt(0, 16 * 1024 * 1024 + 1);
        assertThatThrownBy(() -> Frames.next(in, Limits.DEFAULT))
                .isInstanceOf(CodecException.class)
                .hasMessage("frame: length 16777217 bytes (expected: <= 16777216)");
        ByteBuffer negative = ByteBuffer.allocate(4).putInt(0, -1);
        assertThatThrownBy(() -> Frames.next(negative, Limits.DEFAULT))
                .hasMessage("frame: length 4294967295 bytes (expected: <= 16777216)");
    }
}
