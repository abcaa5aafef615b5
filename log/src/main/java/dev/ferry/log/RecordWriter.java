package dev.ferry.log;

import static dev.ferry.log.RecordLayout.*;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Writes records in the layout of {@link RecordLayout} for the appender: the one piece of the
 * write path that runs for every record under the store's append lock, so it keeps its buffers
 * and CRC between records (what remains per record is the 4-byte address copy
 * {@code Inet4Address.getAddress} hands out, and a host array for IPv6 or mapped born hosts).
 * Everything before the body is assembled in a heap scratch buffer, where writes are cheap; then
 * header and body go to the target in two bulk copies, and the CRC is computed over the bytes
 * where they now lie (cache-hot, read by the CRC32C intrinsic straight from the mapping; over the
 * body as given it would be slower: a read-only heap buffer has no accessible array, so CRC32C
 * would copy it into a temporary array first).
 *
 * <p><b>Thread safety.</b> None: one instance per appender, used under the append lock.
 */
final class RecordWriter {
    private final ByteBuffer scratch = ByteBuffer.allocate(scratchSize());
    private final CRC32C crc = new CRC32C();
    /** The store host, IPv4 form (8 bytes) unless the store's address is IPv6. */
    private final byte[] storeHost;
    /** The store host in the 20-byte form, for records whose hosts are IPv6. */
    private final byte[] storeHostV6;

    RecordWriter(byte[] storeHost) {
        this.storeHost = storeHost.clone();
        this.storeHostV6 = RecordCodec.toV6(this.storeHost);
    }

    /** Scratch bytes a header of any message within the format's limits needs. */
    static int scratchSize() {
        return BORN_HOST_OFFSET + 2 * IPV6_HOST_SIZE + 1 + MAX_TOPIC_BYTES + 2 + PropertiesCodec.MAX_AREA_BYTES + 4;
    }

    /**
     * Writes {@code m} at {@code pos} of {@code buf} as one record of {@code length} bytes
     * (from {@link RecordCodec#recordSize}), CRC included. {@code buf} belongs to the caller: its
     * position and limit are used for the CRC and left cleared (0 and its capacity).
     */
    void write(ByteBuffer buf, int pos, LogMessage m, int length, int hostFlags, int batchFlags, long queueOffset,
               long physicalOffset, long storeTimestamp) {
        ByteBuffer h = scratch;
        h.clear();
        h.putInt(length);
        h.putShort(MAGIC);
        h.put(VERSION);
        h.put((byte) 0);
        h.putInt(0); // crc, set below
        h.putInt(m.flags | hostFlags | batchFlags);
        h.putInt(m.queueId);
        h.putLong(queueOffset);
        h.putLong(physicalOffset);
        h.putLong(m.bornTimestamp);
        h.putLong(storeTimestamp);
        h.putLong(m.tagHash);
        h.putInt(m.reconsumeTimes);
        h.putLong(m.preparedTxOffset);
        putBornHost(h, m.bornHost, hostFlags);
        h.put(hostFlags == 0 ? storeHost : storeHostV6);
        h.put((byte) m.topicBytes.length);
        h.put(m.topicBytes);
        h.putShort((short) m.encodedProperties.length);
        h.put(m.encodedProperties);
        int bodyLength = m.bodyLength;
        h.putInt(bodyLength);
        int headerLength = h.position();
        buf.put(pos, h.array(), 0, headerLength);
        m.copyBody(buf, pos + headerLength);
        crc.reset();
        buf.limit(pos + length).position(pos + CRC_START);
        crc.update(buf);
        buf.clear();
        buf.putInt(pos + CRC_OFFSET, (int) crc.getValue());
    }

    /** The born host as {@link RecordLayout} stores it: address and port, 8 or 20 bytes; zeros if unknown. */
    private static void putBornHost(ByteBuffer h, InetSocketAddress host, int hostFlags) {
        InetAddress address = host == null ? null : host.getAddress();
        if (address instanceof Inet4Address && hostFlags == 0) {
            h.put(address.getAddress()).putInt(host.getPort()); // the common case, without hostBytes' array
        } else {
            h.put(RecordCodec.hostBytes(host, hostFlags));
        }
    }
}
