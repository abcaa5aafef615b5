package dev.ferry.log;

/**
 * The byte layout of one commit-log record, format version 1, and of the end-of-segment
 * marker. Constants only: the writer ({@link RecordWriter}), the readers and recovery all take
 * their offsets from here, so the format is written down exactly once.
 *
 * <p>All integers are big-endian. Offsets are relative to the first byte of the record.
 *
 * <pre>
 * offset size field             meaning
 *   0     4   length            bytes of the whole record, this field included
 *   4     2   magic             0xFE11 for a record ({@link #MAGIC}), 0xFE1E for an end-of-segment marker
 *   6     1   version           1
 *   7     1   reserved          0
 *   8     4   crc               CRC32C of bytes [12, length): everything after this field
 *  12     4   flags             bit 0: hosts are IPv6 (20 bytes each instead of 8); bit 14: batch continues
 *                                 ({@link #FLAG_BATCH_CONTINUES}); other bits: {@link MessageFlags}
 *  16     4   queueId
 *  20     8   queueOffset       position of the record in its (topic, queue), 0-based
 *  28     8   physicalOffset    position of the record's first byte in the commit log
 *  36     8   bornTimestamp     ms since the epoch, set by the producer
 *  44     8   storeTimestamp    ms since the epoch, set by the store when appending
 *  52     8   tagHash           hash of the tags string (see {@link TagHash}), 0 if none
 *  60     4   reconsumeTimes    deliveries that failed before (retry topics)
 *  64     8   preparedTxOffset  transactions: physical offset of the half message this record ends
 *  72   8|20  bornHost          IPv4 (4) + port (4), or IPv6 (16) + port (4) when flag bit 0 is set
 *   .   8|20  storeHost         same encoding
 *   .     1   topicLength       1..{@link #MAX_TOPIC_BYTES}
 *   .     n   topic             UTF-8
 *   .     2   propertiesLength  0..65535
 *   .     p   properties        repeated (u16 key length, key UTF-8, u16 value length, value UTF-8)
 *   .     4   bodyLength
 *   .     b   body
 * </pre>
 *
 * <p><b>Commit rule.</b> A record is whole when its length is in range, its magic and version
 * match, its stored physicalOffset equals where it lies, and its CRC matches. Recovery accepts
 * records from its starting point while all four hold and truncates at the first that fails.
 * A length of zero means "nothing was ever written here": the end of the log.
 *
 * <p><b>End of segment.</b> A record never spans two segments. When the next record does not
 * fit, the writer leaves an end-of-segment marker (length = bytes left in the segment, magic
 * {@link #END_OF_SEGMENT_MAGIC}) if at least {@link #END_MARKER_SIZE} bytes are left, and
 * continues at the next segment. Fewer than that many bytes left also means "next segment".
 *
 * <p><b>Append batches.</b> The records of one multi-message append (SEND_BATCH) are written
 * back to back; every record of the batch but the last carries flag bit 14,
 * {@link #FLAG_BATCH_CONTINUES} ("the next record belongs to the same batch"). A batch is whole
 * when a record without the bit follows its flagged records. Recovery truncates a trailing run of
 * flagged records that is not closed by an unflagged one (a crash in the middle of a batch), so a
 * batch is on disk all or nothing. A single append never sets the bit, so version 1 stores written
 * before the bit existed read the same. Readers strip the bit from the flags they report.
 *
 * <p><b>Room to grow.</b> Flags bits 16-31 are reserved; bit {@link MessageFlags#BATCH} marks a
 * future batch record (one record carrying N messages, indexed by base offset and count) and
 * is rejected by this version's readers rather than misread.
 */
final class RecordLayout {
    static final short MAGIC = (short) 0xFE11;
    static final short END_OF_SEGMENT_MAGIC = (short) 0xFE1E;
    static final byte VERSION = 1;

    static final int LENGTH_OFFSET = 0;
    static final int MAGIC_OFFSET = LENGTH_OFFSET + 4;
    static final int VERSION_OFFSET = MAGIC_OFFSET + 2;
    static final int RESERVED_OFFSET = VERSION_OFFSET + 1;
    static final int CRC_OFFSET = RESERVED_OFFSET + 1;
    /** The CRC covers the record from here to its end. */
    static final int CRC_START = CRC_OFFSET + 4;
    static final int FLAGS_OFFSET = CRC_START;
    static final int QUEUE_ID_OFFSET = FLAGS_OFFSET + 4;
    static final int QUEUE_OFFSET_OFFSET = QUEUE_ID_OFFSET + 4;
    static final int PHYSICAL_OFFSET_OFFSET = QUEUE_OFFSET_OFFSET + 8;
    static final int BORN_TIMESTAMP_OFFSET = PHYSICAL_OFFSET_OFFSET + 8;
    static final int STORE_TIMESTAMP_OFFSET = BORN_TIMESTAMP_OFFSET + 8;
    static final int TAG_HASH_OFFSET = STORE_TIMESTAMP_OFFSET + 8;
    static final int RECONSUME_TIMES_OFFSET = TAG_HASH_OFFSET + 8;
    static final int PREPARED_TX_OFFSET_OFFSET = RECONSUME_TIMES_OFFSET + 4;
    static final int BORN_HOST_OFFSET = PREPARED_TX_OFFSET_OFFSET + 8;

    static final int IPV4_HOST_SIZE = 4 + 4;
    static final int IPV6_HOST_SIZE = 16 + 4;
    static final int FLAG_IPV6_HOSTS = 1;
    /** Engine-owned flag bit 14: another record of the same append batch follows this one. */
    static final int FLAG_BATCH_CONTINUES = 1 << 14;
    /** Flag bits owned by the engine, never reported as message flags. */
    static final int ENGINE_FLAGS = FLAG_IPV6_HOSTS | FLAG_BATCH_CONTINUES;

    /** Smallest possible record: fixed part, IPv4 hosts, 1-byte topic, no properties, empty body. */
    static final int MIN_RECORD_SIZE = BORN_HOST_OFFSET + 2 * IPV4_HOST_SIZE + 1 + 1 + 2 + 4;
    static final int END_MARKER_SIZE = 4 + 2;
    static final int MAX_TOPIC_BYTES = 200;

    private RecordLayout() {}

    static int hostSize(int flags) {
        return (flags & FLAG_IPV6_HOSTS) != 0 ? IPV6_HOST_SIZE : IPV4_HOST_SIZE;
    }

    static int storeHostOffset(int flags) {
        return BORN_HOST_OFFSET + hostSize(flags);
    }

    static int topicLengthOffset(int flags) {
        return BORN_HOST_OFFSET + 2 * hostSize(flags);
    }

    /** Total record size for the given variable parts. */
    static int recordSize(int flags, int topicBytes, int propertiesBytes, int bodyBytes) {
        return topicLengthOffset(flags) + 1 + topicBytes + 2 + propertiesBytes + 4 + bodyBytes;
    }
}
