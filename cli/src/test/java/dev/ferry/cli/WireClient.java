package dev.ferry.cli;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Codecs;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Handshake;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import dev.ferry.protocol.Limits;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The smallest blocking client of the gateway for cli tests: a socket, the handshake, then one
 * request and one response at a time in the codec the server accepted. Not thread-safe.
 */
final class WireClient implements AutoCloseable {
    private final Socket socket;
    private final Codec codec;
    private final DataInputStream in;
    private final OutputStream out;
    private int ids;

    private WireClient(Socket socket, Codec codec) throws IOException {
        this.socket = socket;
        this.codec = codec;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    static WireClient connect(int port, String codecName) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(10_000);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        try {
            s.getOutputStream().write(bytes(Hello.of(codecName).encode()));
            DataInputStream d = new DataInputStream(s.getInputStream());
            byte[] head = new byte[Handshake.TEXT_OFFSET];
            d.readFully(head);
            byte[] all = Arrays.copyOf(head, head.length + (head[Handshake.TEXT_LENGTH_OFFSET] & 0xFF));
            d.readFully(all, head.length, all.length - head.length);
            HelloReply reply = Handshake.decodeReply(ByteBuffer.wrap(all));
            if (reply == null || !reply.accepted()) {
                throw new AssertionError("handshake offering " + codecName + " refused: " + reply);
            }
            return new WireClient(s, Codecs.load().get(reply.text()));
        } catch (CodecException e) {
            s.close();
            throw new AssertionError("bad hello reply: " + e.getMessage(), e);
        } catch (IOException | RuntimeException | AssertionError e) {
            s.close();
            throw e;
        }
    }

    int nextId() {
        return ++ids;
    }

    /** Sends {@code request} and reads its response. */
    Command call(Command request) throws IOException {
        out.write(bytes(codec.encodeFrame(request)));
        out.flush();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        try {
            Command r = codec.decode(ByteBuffer.wrap(payload), Limits.DEFAULT);
            if (r.requestId() != request.requestId()) {
                throw new AssertionError("response " + r + " (expected: to #" + request.requestId() + ")");
            }
            return r;
        } catch (CodecException e) {
            throw new AssertionError("undecodable response: " + e.getMessage(), e);
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
