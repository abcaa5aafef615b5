package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * Decoding trusts a record to be whole only as far as its bytes fit: a record reached through an
 * index entry that points elsewhere (into another record's body) is decoded without a CRC check,
 * and its length fields must not make the decoder allocate what they claim.
 */
class RecordDecodeTest {
    @Test
    void lengthsThatAgreeWithEachOtherButNotWithTheBufferAreRefusedBeforeAllocating() {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        buf.putInt(RecordLayout.LENGTH_OFFSET, Integer.MAX_VALUE - 16);
        buf.putInt(RecordLayout.FLAGS_OFFSET, 0);
        int p = RecordLayout.topicLengthOffset(0);
        buf.put(p, (byte) 1).put(p + 1, (byte) 't').putShort(p + 2, (short) 0);
        buf.putInt(p + 4, Integer.MAX_VALUE - 1024); // a body within the claimed length
        assertThatThrownBy(() -> RecordCodec.decode(buf, 0)).isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("record length " + (Integer.MAX_VALUE - 16));
    }

    @Test
    void aBodyLengthPastItsRecordIsRefused() {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        buf.putInt(RecordLayout.LENGTH_OFFSET, 200);
        buf.putInt(RecordLayout.FLAGS_OFFSET, 0);
        int p = RecordLayout.topicLengthOffset(0);
        buf.put(p, (byte) 1).put(p + 1, (byte) 't').putShort(p + 2, (short) 0);
        buf.putInt(p + 4, 3000); // within the buffer, past the record
        assertThatThrownBy(() -> RecordCodec.decode(buf, 0)).isInstanceOf(CorruptRecordException.class)
                .hasMessageContaining("body of 3000 bytes");
    }
}
