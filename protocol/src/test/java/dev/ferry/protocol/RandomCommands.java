package dev.ferry.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Seeded generator of random but valid commands (within {@link Limits#DEFAULT}) for property and
 * fuzz tests of every codec: all codes, kinds and statuses, unicode strings (including control
 * characters, NUL and supplementary characters), bodies that are empty, binary, UTF-8 text,
 * almost-UTF-8 or large, held at non-zero positions of heap or direct buffers.
 *
 * <p>Not thread-safe: one per test.
 */
public final class RandomCommands {
    private static final int[][] CODE_POINT_RANGES = {
            {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, // mostly ASCII
            {0x00, 0x1F},                          // control characters, NUL
            {0xA0, 0x24F},                         // Latin
            {0x370, 0x4FF},                        // Greek, Cyrillic
            {0x4E00, 0x9FFF},                      // CJK
            {0xE000, 0xFFFF},                      // private use .. specials, BOM-like
            {0x1F300, 0x1FAFF},                    // emoji: surrogate pairs in UTF-16
    };

    private final Random random;

    public RandomCommands(long seed) {
        this.random = new Random(seed);
    }

    public Random random() {
        return random;
    }

    /** A random command of any kind and code. */
    public Command next() {
        Kind kind = pick(Kind.values());
        RequestCode code = pick(RequestCode.values());
        while (code == RequestCode.UNKNOWN) { // a decoder's placeholder: its requests decode with a message of their own
            code = pick(RequestCode.values());
        }
        Command.Builder b = Command.builder().kind(kind).code(code).requestId(random.nextInt());
        if (kind == Kind.RESPONSE) {
            b.status(pick(Status.values()));
            if (random.nextInt(3) == 0) {
                b.message(string(80));
            }
        }
        int headers = random.nextInt(4) == 0 ? 0 : random.nextInt(8);
        for (int i = 0; i < headers; i++) {
            b.header(i + string(20), random.nextInt(5) == 0 ? Long.toString(random.nextLong()) : string(60));
        }
        int n = switch (random.nextInt(10)) {
            case 0, 1, 2, 3 -> 0;
            case 9 -> random.nextInt(40);
            default -> 1 + random.nextInt(3);
        };
        List<Message> messages = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            messages.add(message());
        }
        return b.messages(messages).body(body()).build();
    }

    /** A random message with every field set to something. */
    public Message message() {
        Message.Builder b = Message.builder(string(30))
                .queueId(random.nextInt(5) == 0 ? Message.ANY_QUEUE : random.nextInt(1 << 16))
                .queueOffset(random.nextInt(5) == 0 ? Message.NO_OFFSET : random.nextLong() & Long.MAX_VALUE)
                .msgId(random.nextBoolean() ? "" : string(24))
                .tags(random.nextBoolean() ? "" : string(20))
                .bornTimestamp(random.nextLong())
                .storeTimestamp(random.nextInt(3) == 0 ? 0 : 1_700_000_000_000L + random.nextInt(1 << 30))
                .deliverAt(random.nextInt(3) == 0 ? random.nextLong() : 0)
                .flags(random.nextInt())
                .body(body());
        int keys = random.nextInt(4);
        List<String> k = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            k.add(string(40));
        }
        Map<String, String> props = new LinkedHashMap<>();
        int properties = random.nextInt(6);
        for (int i = 0; i < properties; i++) {
            props.put(i + string(16), string(50));
        }
        return b.keys(k).properties(props).build();
    }

    /** A string of 0..maxChars UTF-16 chars, valid Unicode (no unpaired surrogates). */
    public String string(int maxChars) {
        int target = random.nextInt(maxChars + 1);
        StringBuilder s = new StringBuilder(target);
        int[] range = CODE_POINT_RANGES[random.nextInt(CODE_POINT_RANGES.length)];
        while (s.length() < target) {
            if (random.nextInt(8) == 0) {
                range = CODE_POINT_RANGES[random.nextInt(CODE_POINT_RANGES.length)];
            }
            int cp = range[0] + random.nextInt(range[1] - range[0] + 1);
            if (Character.isSurrogate((char) cp) && cp <= 0xFFFF) {
                continue;
            }
            if (s.length() + Character.charCount(cp) > target) {
                break;
            }
            s.appendCodePoint(cp);
        }
        return s.toString();
    }

    /** A random body, at a random position of a heap or direct buffer. */
    public ByteBuffer body() {
        byte[] bytes = switch (random.nextInt(10)) {
            case 0, 1 -> new byte[0];
            case 2, 3, 4 -> randomBytes(random.nextInt(300));
            case 5, 6 -> string(200).getBytes(StandardCharsets.UTF_8);
            case 7 -> { // almost UTF-8: text with one byte that breaks it
                byte[] t = ("x" + string(100)).getBytes(StandardCharsets.UTF_8);
                t[random.nextInt(t.length)] = (byte) (0x80 | random.nextInt(0x80));
                yield t;
            }
            case 8 -> randomBytes(1000 + random.nextInt(4000));
            default -> random.nextInt(20) == 0 ? randomBytes(64 * 1024 + random.nextInt(1024)) : randomBytes(100);
        };
        int pad = random.nextInt(3) == 0 ? 1 + random.nextInt(16) : 0;
        ByteBuffer buf = random.nextInt(4) == 0 ? ByteBuffer.allocateDirect(pad + bytes.length + pad)
                : ByteBuffer.allocate(pad + bytes.length + pad);
        buf.position(pad);
        buf.put(bytes);
        buf.position(pad).limit(pad + bytes.length);
        return buf;
    }

    public byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private <T> T pick(T[] values) {
        return values[random.nextInt(values.length)];
    }
}
