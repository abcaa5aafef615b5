package dev.ferry.client;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The message ids of one SEND or SEND_BATCH response: either one id (SEND's {@code msgId} header)
 * or the SEND_BATCH body, one ASCII id per line, split on first use.
 *
 * <p>Thread-safe: {@code split} is volatile so a parsed array is published whole; two threads
 * racing to parse produce equal arrays and either may win.
 */
final class BatchIds {
    private final String single;
    private final byte[] body;
    private volatile String[] split;

    private BatchIds(String single, byte[] body) {
        this.single = single;
        this.body = body;
    }

    static BatchIds single(String id) {
        return new BatchIds(id == null ? "" : id, null);
    }

    static BatchIds lines(ByteBuffer body) {
        byte[] b = new byte[body.remaining()];
        body.get(b);
        return new BatchIds(null, b);
    }

    String get(int index) {
        if (single != null) {
            return single;
        }
        String[] s = split;
        if (s == null) {
            s = new String(body, StandardCharsets.US_ASCII).split("\n", -1);
            split = s;
        }
        return index < s.length ? s[index] : "";
    }
}
