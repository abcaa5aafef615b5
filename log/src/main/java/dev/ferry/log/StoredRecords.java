package dev.ferry.log;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes records in the commit-log format ({@link RecordLayout}) from a plain buffer: what a
 * client does with the body of a binary-codec FETCH response, which carries stored records
 * verbatim. Each record's length, magic, version and CRC are checked. Stateless and thread-safe.
 */
public final class StoredRecords {
    private StoredRecords() {}

    /** Decodes every record from {@code buf}'s position to its limit; the buffer is not moved. */
    public static List<StoredMessage> decode(ByteBuffer buf) {
        List<StoredMessage> out = new ArrayList<>();
        decode(buf, out);
        return out;
    }

    /**
     * As {@link #decode(ByteBuffer)}, adding to {@code out}: when a record fails its check, the
     * records before it are in {@code out} (a consumer can hand them out and stop at the bad one).
     */
    public static void decode(ByteBuffer buf, List<StoredMessage> out) {
        ByteBuffer b = buf.slice();
        int pos = 0;
        RecordCodec.DecodeCache cache = new RecordCodec.DecodeCache();
        while (pos < b.limit()) {
            if (b.limit() - pos < RecordLayout.MIN_RECORD_SIZE) {
                throw new CorruptRecordException(null, pos, "trailing " + (b.limit() - pos) + " bytes (expected: whole records)");
            }
            long phys = b.getLong(pos + RecordLayout.PHYSICAL_OFFSET_OFFSET);
            RecordCodec.Check c = RecordCodec.check(b, pos, b.limit(), phys - pos);
            if (!(c instanceof RecordCodec.Whole w)) {
                throw new CorruptRecordException(null, pos, "record at byte " + pos + " of the fetched bytes: "
                        + (c instanceof RecordCodec.Torn t ? t.reason() : c.toString()));
            }
            out.add(RecordCodec.decode(b, pos, cache));
            pos += w.length();
        }
    }
}
