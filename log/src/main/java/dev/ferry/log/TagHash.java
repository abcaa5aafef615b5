package dev.ferry.log;

import java.nio.charset.StandardCharsets;

/**
 * The tag hash stored in each record and offset-index entry, so that a consumer filtering by
 * tag can skip entries without reading the commit log. 64-bit FNV-1a over the tag's UTF-8
 * bytes; 0 means "no tag". A match on the hash is confirmed against the stored tag by the
 * reader (hashes can collide).
 */
public final class TagHash {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private TagHash() {}

    public static long of(String tag) {
        if (tag == null || tag.isEmpty()) {
            return 0;
        }
        long h = FNV_OFFSET;
        for (byte b : tag.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        return h == 0 ? 1 : h;
    }
}
