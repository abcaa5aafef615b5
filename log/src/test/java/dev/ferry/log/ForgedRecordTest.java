package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message id is a commit-log position that a client names, and a producer decides the bytes
 * of its bodies, whose positions follow from the ids it was answered. Bytes shaped like a whole
 * record (a true CRC, its own position in its physical-offset field) placed inside a body must
 * not be served as a message by id (they would let one producer group decide another's
 * transaction), and lengths inside such bytes must not be trusted (a body length of 2 GiB ran
 * the reader out of heap).
 */
class ForgedRecordTest {
    @TempDir
    Path dir;
    @TempDir
    Path scratch;

    @Test
    void bytesShapedLikeARecordInsideABodyAreNotAMessage() throws Exception {
        byte[] template = recordBytes("victim", 0, "forged");
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            store.append(LogMessage.builder("victim", 0, "real".getBytes(StandardCharsets.UTF_8)).build());

            // a record with a body as long as the forgery tells where the next one's body will start
            AppendResult probe = store.append(LogMessage.builder("mine", 0, new byte[template.length]).build());
            long forgedAt = probe.physicalOffset() + probe.size() + probe.size() - template.length;
            byte[] forged = placedAt(template, forgedAt);
            AppendResult carrier = store.append(LogMessage.builder("mine", 0, forged).build());
            assertThat(carrier.physicalOffset() + carrier.size() - forged.length).isEqualTo(forgedAt);

            assertThat(store.readAt(forgedAt)).as("the forgery passes the record's own checks").isPresent()
                    .hasValueSatisfying(m -> assertThat(m.topic()).isEqualTo("victim"));
            assertThat(store.readMessage(forgedAt)).as("but no offset index points at it").isEmpty();
            assertThat(store.readById(MessageIds.of(forgedAt))).isEmpty();
            assertThat(store.readById(carrier.messageId())).as("the real message around it").isPresent();

            // the same, claiming a body of 2 GiB - 16 bytes: refused as torn, before anything is allocated
            AppendResult probe2 = store.append(LogMessage.builder("mine", 0, new byte[template.length]).build());
            long hugeAt = probe2.physicalOffset() + probe2.size() + probe2.size() - template.length;
            byte[] huge = placedAt(template, hugeAt);
            ByteBuffer b = ByteBuffer.wrap(huge);
            b.putInt(huge.length - "forged".length() - 4, 0x7FFF_FFF0);
            b.putInt(RecordLayout.CRC_OFFSET, RecordCodec.crc(b, 0, huge.length));
            store.append(LogMessage.builder("mine", 0, huge).build());
            assertThat(store.readAt(hugeAt)).as("a record whose lengths do not add up").isEmpty();
            assertThat(RecordCodec.check(b, 0, huge.length, hugeAt)).isInstanceOf(RecordCodec.Torn.class)
                    .hasToString("Torn[reason=body length 2147483632 (expected: 6, the rest of the record's " + huge.length + " bytes)]");
        }
    }

    /** The bytes of a record the store writes for this message, taken from a scratch store's first segment. */
    private byte[] recordBytes(String topic, int queue, String body) throws Exception {
        try (MessageStore s = MessageStore.open(smallConfig(scratch).build())) {
            s.append(LogMessage.builder(topic, queue, body.getBytes(StandardCharsets.UTF_8)).build());
        }
        try (var files = Files.list(scratch.resolve("commitlog"))) {
            byte[] segment = Files.readAllBytes(files.filter(p -> p.getFileName().toString().matches("\\d{20}")).sorted().findFirst()
                    .orElseThrow());
            int length = ByteBuffer.wrap(segment).getInt(RecordLayout.LENGTH_OFFSET);
            return Arrays.copyOf(segment, length);
        }
    }

    /** {@code record} with its physical-offset field set to {@code position} and its CRC made true again. */
    private static byte[] placedAt(byte[] record, long position) {
        byte[] copy = record.clone();
        ByteBuffer b = ByteBuffer.wrap(copy);
        b.putLong(RecordLayout.PHYSICAL_OFFSET_OFFSET, position);
        b.putInt(RecordLayout.CRC_OFFSET, RecordCodec.crc(b, 0, copy.length));
        return copy;
    }
}
