package dev.ferry.log;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Small helpers shared by the storage tests. */
final class StoreTestSupport {
    /** Record size of a message on topic "t" with no properties and IPv4 hosts: 96 + body. */
    static final int HEADER_FOR_TOPIC_T = RecordLayout.recordSize(0, 1, 0, 0);

    private StoreTestSupport() {}

    static LogConfig.Builder smallConfig(Path dir) {
        return LogConfig.builder(dir).segmentBytes(64 * 1024).indexEntriesPerFile(100).keyIndexSlots(64).keyIndexEntries(1000)
                .preTouch(false);
    }

    static byte[] body(int size, long seed) {
        byte[] b = new byte[size];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static LogMessage message(String topic, int queue, String body) {
        return LogMessage.builder(topic, queue, body.getBytes(StandardCharsets.UTF_8)).build();
    }

    static String text(StoredMessage m) {
        return new String(m.body(), StandardCharsets.UTF_8);
    }
}
