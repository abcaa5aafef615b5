package dev.ferry.protocol.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The edges of {@link StrictUtf8Reader}'s buffer: a 4-byte sequence (a surrogate pair) decoded
 * at each position around the 8,192-char refill, reads of one char, frames of 0 to 4 bytes and a
 * byte order mark alone. Valid UTF-8 must come out unchanged, whatever the reads ask for.
 */
class StrictUtf8ReaderTest {
    private static final String EMOJI = "\uD83D\uDE00";

    @Test
    void aSurrogatePairAtEachPositionAroundTheRefillComesOutWhole() throws IOException {
        for (int pad = 8_185; pad <= 8_195; pad++) {
            String text = "a".repeat(pad) + EMOJI + "\u00e9" + EMOJI + "b";
            assertThat(readAll(text.getBytes(StandardCharsets.UTF_8), 4_000)).as("pad %d", pad).isEqualTo(text);
            assertThat(readAll(text.getBytes(StandardCharsets.UTF_8), 1)).as("pad %d, one char a read", pad).isEqualTo(text);
        }
    }

    @Test
    void shortFramesAndABomAlone() throws IOException {
        assertThat(readAll(new byte[0], 1)).isEmpty();
        assertThat(readAll(new byte[] {'{'}, 1)).isEqualTo("{");
        assertThat(readAll(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, 8)).as("a BOM alone").isEmpty();
        assertThat(readAll(EMOJI.getBytes(StandardCharsets.UTF_8), 1)).as("4 bytes, one pair").isEqualTo(EMOJI);
        assertThatThrownBy(() -> readAll(new byte[] {(byte) 0xEF, (byte) 0xBB}, 8))
                .hasMessage("invalid UTF-8 at byte 0 of 2 (expected: valid UTF-8)");
        assertThatThrownBy(() -> readAll(new byte[] {'a', (byte) 0xF0, (byte) 0x9F}, 8)).as("a pair cut by the end")
                .hasMessage("invalid UTF-8 at byte 1 of 3 (expected: valid UTF-8)");
    }

    @Test
    void anInvalidByteAfterTheFirstRefillIsNamedByItsOffsetInTheFrame() {
        byte[] frame = new byte[30_005];
        java.util.Arrays.fill(frame, (byte) 'a');
        frame[20_001] = (byte) 0xC0;
        frame[20_002] = (byte) 0xAF; // an overlong '/'
        assertThatThrownBy(() -> readAll(frame, 4_000)).hasMessage("invalid UTF-8 at byte 20001 of 30005 (expected: valid UTF-8)");
    }

    private static String readAll(byte[] frame, int chunk) throws IOException {
        byte[] padded = new byte[frame.length + 7]; // the frame at an offset in a larger array, as a received one is
        System.arraycopy(frame, 0, padded, 3, frame.length);
        StrictUtf8Reader r = new StrictUtf8Reader(padded, 3, frame.length);
        StringBuilder out = new StringBuilder();
        char[] buffer = new char[chunk];
        for (int n; (n = r.read(buffer, 0, chunk)) != -1; ) {
            assertThat(n).as("a read returns at least one char").isPositive();
            out.append(buffer, 0, n);
        }
        return out.toString();
    }
}
