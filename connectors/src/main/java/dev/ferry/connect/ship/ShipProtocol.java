package dev.ferry.connect.ship;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * The segment-shipping wire protocol between {@link SocketTarget} (sender) and
 * {@link SegmentReceiveTask} (receiver): constants, offsets and the small encode/decode helpers
 * both sides use. All integers big-endian. One TCP connection carries any number of files, one
 * after the other.
 *
 * <pre>
 * HELLO, sender -&gt; receiver, then the same 6 bytes back (the receiver's version)
 * offset size field
 *   0     4   magic        0x46534850 ("FSHP")
 *   4     2   version      1
 *
 * FILE, sender -&gt; receiver, once per file
 *   0     1   flags        bit 0 VERIFY: a CRC32C follows the bytes; bits 1-7 zero
 *   1     2   nameLength   n, 1..1024
 *   3     n   name         UTF-8 relative path, e.g. commitlog/00000000000001048576 ({@link ShipFile#name()})
 *   3+n   8   length       total bytes of the file
 *
 * RESUME, receiver -&gt; sender (13 bytes)
 *   0     1   state        0 SEND: send from offset; 1 HAVE: already archived, this file is done;
 *                          2 REJECT: bad name or length, the receiver closes the connection
 *   1     8   offset       SEND: first byte wanted = length of the receiver's NAME.part (0..length);
 *                          HAVE: length of the archived file (a sender fails if it is not its
 *                          file's: another store's archive); REJECT: 0
 *   9     4   crc          HAVE: CRC32C in the receiver's manifest (0 if shipped unverified); else 0
 *
 * after SEND: sender -&gt; receiver
 *   0     length-offset   the file's bytes [offset, length), sent with sendfile
 *   +0    4   crc          CRC32C of the whole file [0, length), only if VERIFY
 *
 * RESULT, receiver -&gt; sender (5 bytes), after it forced, verified, renamed and listed the file
 *   0     1   status       0 OK; 1 BAD: checksum mismatch, the part is deleted, resend from 0
 *   1     4   crc          the CRC32C the receiver computed over its copy (0 if not VERIFY)
 * </pre>
 *
 * <p>A cut connection leaves the receiver's {@code NAME.part} with the bytes that arrived; the
 * next FILE for that name gets {@code SEND offset=part length}, and the final checksum covers
 * the whole file, old and new bytes alike. A receiver serves one connection at a time: a new
 * one closes the one before (after a cut the old one is usually dead but not yet noticed).
 *
 * <p>Stateless; thread-safe.
 */
final class ShipProtocol {
    static final int MAGIC = 0x46534850; // "FSHP"
    static final short VERSION = 1;
    static final int HELLO_MAGIC_OFFSET = 0;
    static final int HELLO_VERSION_OFFSET = HELLO_MAGIC_OFFSET + 4;
    static final int HELLO_SIZE = HELLO_VERSION_OFFSET + 2;

    static final int FILE_FLAGS_OFFSET = 0;
    static final int FILE_NAME_LENGTH_OFFSET = FILE_FLAGS_OFFSET + 1;
    static final int FILE_NAME_OFFSET = FILE_NAME_LENGTH_OFFSET + 2;
    static final int FLAG_VERIFY = 0x01;
    static final int MAX_NAME_BYTES = 1024;

    static final int RESUME_STATE_OFFSET = 0;
    static final int RESUME_OFFSET_OFFSET = RESUME_STATE_OFFSET + 1;
    static final int RESUME_CRC_OFFSET = RESUME_OFFSET_OFFSET + 8;
    static final int RESUME_SIZE = RESUME_CRC_OFFSET + 4;
    static final byte STATE_SEND = 0;
    static final byte STATE_HAVE = 1;
    static final byte STATE_REJECT = 2;

    static final int CRC_SIZE = 4;

    static final int RESULT_STATUS_OFFSET = 0;
    static final int RESULT_CRC_OFFSET = RESULT_STATUS_OFFSET + 1;
    static final int RESULT_SIZE = RESULT_CRC_OFFSET + 4;
    static final byte STATUS_OK = 0;
    static final byte STATUS_BAD = 1;

    private ShipProtocol() {
    }

    static ByteBuffer hello() {
        return ByteBuffer.allocate(HELLO_SIZE).putInt(MAGIC).putShort(VERSION).flip();
    }

    /** Checks a HELLO; returns the peer's version. */
    static short checkHello(ByteBuffer b, String peer) throws IOException {
        int magic = b.getInt(HELLO_MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new IOException(peer + ": magic: 0x" + Integer.toHexString(magic) + " (expected: 0x"
                    + Integer.toHexString(MAGIC) + " \"FSHP\": not a segment-ship peer)");
        }
        short version = b.getShort(HELLO_VERSION_OFFSET);
        if (version != VERSION) {
            throw new IOException(peer + ": version: " + version + " (expected: " + VERSION + ")");
        }
        return version;
    }

    static ByteBuffer file(String name, long length, boolean verify) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(FILE_NAME_OFFSET + n.length + 8)
                .put((byte) (verify ? FLAG_VERIFY : 0)).putShort((short) n.length).put(n).putLong(length).flip();
    }

    static ByteBuffer resume(byte state, long offset, int crc) {
        return ByteBuffer.allocate(RESUME_SIZE).put(state).putLong(offset).putInt(crc).flip();
    }

    static ByteBuffer crc(int crc) {
        return ByteBuffer.allocate(CRC_SIZE).putInt(crc).flip();
    }

    static ByteBuffer result(byte status, int crc) {
        return ByteBuffer.allocate(RESULT_SIZE).put(status).putInt(crc).flip();
    }

    /** Reads exactly {@code n} bytes; EOFException if the peer closes first. */
    static ByteBuffer readFully(ReadableByteChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("connection closed after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.flip();
    }

    /** Reads exactly {@code n} bytes from a stream (a socket's, which honours its read timeout); EOFException if it ends first. */
    static ByteBuffer readFully(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new EOFException("connection closed after " + b.length + " of " + n + " bytes");
        }
        return ByteBuffer.wrap(b);
    }

    static void writeFully(WritableByteChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
