package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The header and property keys of JSON frames are client data: once read they must not stay in
 * the broker's memory. Jackson canonicalizes (and interns) every object key into a symbol table
 * shared by all parsers of the codec's factory, kept across frames (up to 6,000 names); with
 * Jackson's 50,000-char cap on a key lifted, each could be as long as a frame.
 */
class JsonKeyRetentionTest {
    @TempDir
    Path dir;

    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    @Test
    void distinctLongHeaderKeysRefusedOverJsonAreNotRetained() throws Exception {
        int frames = 48;
        int keyChars = 2 << 20;
        try (TestServer server = TestServer.start(dir)) {
            try (TestClient warm = server.connect("json")) {
                assertThat(warm.call(warm.request(RequestCode.HEARTBEAT).build()).status()).isEqualTo(Status.OK);
            }
            long before = usedHeapAfterGc();
            for (int i = 0; i < frames; i++) {
                StringBuilder key = new StringBuilder(keyChars).append(i).append('-');
                key.append("k".repeat(keyChars - key.length()));
                try (TestClient c = server.connect("json")) {
                    Command request = c.request(RequestCode.HEARTBEAT).header(key.toString(), "v").build();
                    key = null;
                    c.write(request);
                    request = null;
                    assertThat(c.closingAnswer(Status.LIMIT_EXCEEDED).message()).startsWith("bad frame: header key: length");
                }
            }
            long grown = usedHeapAfterGc() - before;
            assertThat(grown).as("heap retained after %d refused frames of one distinct %d-char key each (bytes)", frames, keyChars)
                    .isLessThan(32L << 20);
        }
    }
}
