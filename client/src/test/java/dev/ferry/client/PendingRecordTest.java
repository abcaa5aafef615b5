package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The producer's size estimate of a message counts its strings in UTF-8 bytes, as they are
 * encoded: counted in chars, batches and the buffer of messages with non-ASCII tags, keys or
 * properties held up to three times the bytes they were sized for.
 */
class PendingRecordTest {
    private static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void theEstimateCountsStringsInUtf8Bytes() {
        String topic = "訂單";
        String tags = "é".repeat(100);
        String key = "キー";
        String name = "région";
        String value = "€".repeat(10);
        Message m = Message.builder(topic).tags(tags).keys(List.of(key)).properties(Map.of(name, value)).body(new byte[10]).build();
        int strings = utf8(topic) + utf8(tags) + utf8(key) + utf8(name) + utf8(value);
        assertThat(PendingRecord.estimateSize(m)).isEqualTo(64 + 10 + strings + 4 + 8);
        assertThat(PendingRecord.estimateSize(topic, 10)).isEqualTo(64 + 10 + utf8(topic));
    }
}
