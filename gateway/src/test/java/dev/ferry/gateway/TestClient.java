package dev.ferry.gateway;

import dev.ferry.log.StoredMessage;
import dev.ferry.log.StoredRecords;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Codecs;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Frames;
import dev.ferry.protocol.Handshake;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Hello;
import dev.ferry.protocol.HelloReply;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small blocking client over {@link Socket} for gateway tests: the handshake with
 * {@link Hello}, frames with {@link Frames}, commands with the codec the server accepted. Requests
 * may be pipelined ({@link #write} several, then {@link #read} the responses, matched by id).
 * Not thread-safe, except that one thread may write while another reads.
 */
final class TestClient implements AutoCloseable {
    static final Codecs CODECS = Codecs.load();
    /** Every codec the gateway speaks. */
    static final List<String> CODEC_NAMES = List.of("binary", "json", "hessian", "protobuf");

    final Socket socket;
    final Codec codec;
    private final DataInputStream in;
    private final OutputStream out;
    private final AtomicInteger ids = new AtomicInteger();

    private TestClient(Socket socket, Codec codec) throws IOException {
        this.socket = socket;
        this.codec = codec;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 << 10);
    }

    /** Connects and completes the handshake offering {@code codec}; fails if the server refuses. */
    static TestClient connect(int port, String codec) throws IOException {
        Socket s = open(port);
        try {
            HelloReply reply = handshake(s, Hello.of(codec));
            if (!reply.accepted()) {
                throw new AssertionError("handshake offering " + codec + " refused: " + reply.result() + " " + reply.text());
            }
            return new TestClient(s, CODECS.get(reply.text()));
        } catch (IOException | RuntimeException | AssertionError e) {
            s.close();
            throw e;
        }
    }

    /** A client on {@code s}, whose handshake for {@code codec} is already done. */
    static TestClient wrap(Socket s, String codec) throws IOException {
        return new TestClient(s, CODECS.get(codec));
    }

    /** A connected socket with a 10 s read timeout, before any handshake. */
    static Socket open(int port) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(10_000);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        return s;
    }

    /** Sends {@code hello} and reads the server's reply. */
    static HelloReply handshake(Socket s, Hello hello) throws IOException {
        OutputStream o = s.getOutputStream();
        o.write(bytes(hello.encode()));
        o.flush();
        return readReply(s.getInputStream());
    }

    /** Reads one hello reply: the 7 fixed bytes, then the text. */
    static HelloReply readReply(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        byte[] head = new byte[Handshake.TEXT_OFFSET];
        d.readFully(head);
        byte[] all = Arrays.copyOf(head, head.length + (head[Handshake.TEXT_LENGTH_OFFSET] & 0xFF));
        d.readFully(all, head.length, all.length - head.length);
        try {
            HelloReply r = Handshake.decodeReply(ByteBuffer.wrap(all));
            if (r == null) {
                throw new AssertionError("incomplete hello reply: " + Arrays.toString(all));
            }
            return r;
        } catch (CodecException e) {
            throw new AssertionError("bad hello reply: " + e.getMessage(), e);
        }
    }

    /** True once the server has closed the connection (EOF or reset) within the socket's read timeout; bytes before it are skipped. */
    static boolean closedByPeer(Socket s) throws IOException {
        InputStream i = s.getInputStream();
        byte[] sink = new byte[8192];
        try {
            while (i.read(sink) >= 0) {
                // skip whatever the server still sends
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset
        }
    }

    int nextId() {
        return ids.incrementAndGet();
    }

    Command.Builder request(RequestCode code) {
        return Command.request(code, nextId());
    }

    /** Writes one frame and flushes. */
    void write(Command c) throws IOException {
        writeNoFlush(c);
        out.flush();
    }

    /** Writes one frame into the send buffer; {@link #flush()} sends it. */
    void writeNoFlush(Command c) throws IOException {
        out.write(bytes(codec.encodeFrame(c)));
    }

    void writeRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void flush() throws IOException {
        out.flush();
    }

    /** Reads one frame's payload. */
    byte[] readPayload() throws IOException {
        int length = in.readInt();
        if (length < 0 || length > Limits.DEFAULT.maxFrameBytes()) {
            throw new AssertionError("frame length from server: " + Integer.toUnsignedString(length));
        }
        byte[] payload = new byte[length];
        in.readFully(payload);
        return payload;
    }

    /** Reads and decodes one frame. */
    Command read() throws IOException {
        byte[] payload = readPayload();
        try {
            return codec.decode(ByteBuffer.wrap(payload), Limits.DEFAULT);
        } catch (CodecException e) {
            throw new AssertionError("server sent an undecodable " + codec.name() + " frame: " + e.getMessage(), e);
        }
    }

    /**
     * Reads the broker's answer to bytes it could not take as a request, which must have
     * {@code status}, and checks that the broker then closed the connection; returns the answer
     * for its message.
     */
    Command closingAnswer(Status status) throws IOException {
        Command r = read();
        if (r.status() != status) {
            throw new AssertionError("status " + r.status() + " (expected: " + status + "): " + r.message());
        }
        if (!closedByPeer()) {
            throw new AssertionError("the connection is still open after " + status);
        }
        return r;
    }

    /** Sends {@code request} and reads the next response, which must carry the same id. */
    Command call(Command request) throws IOException {
        write(request);
        Command r = read();
        if (r.requestId() != request.requestId() || r.code() != request.code()) {
            throw new AssertionError("response " + r + " (expected: to " + request.code() + " #" + request.requestId() + ")");
        }
        return r;
    }

    /** True once the server closed the connection (within the read timeout). */
    boolean closedByPeer() throws IOException {
        return closedByPeer(socket);
    }

    /** Reads until EOF; fails if a frame is cut. */
    List<Command> readUntilEof() throws IOException {
        List<Command> got = new ArrayList<>();
        while (true) {
            int first = in.read();
            if (first < 0) {
                return got;
            }
            byte[] rest = new byte[3];
            in.readFully(rest);
            int length = (first << 24) | ((rest[0] & 0xFF) << 16) | ((rest[1] & 0xFF) << 8) | (rest[2] & 0xFF);
            byte[] payload = new byte[length];
            in.readFully(payload);
            try {
                got.add(codec.decode(ByteBuffer.wrap(payload), Limits.DEFAULT));
            } catch (CodecException e) {
                throw new AssertionError(e);
            }
        }
    }

    // ---- request helpers (each is one round trip) ----

    Command createTopic(String topic, int queues) throws IOException {
        return call(request(RequestCode.CREATE_TOPIC).header(Headers.TOPIC, topic).header(Headers.QUEUES, queues).build());
    }

    Command send(Message m) throws IOException {
        return call(sendRequest(m));
    }

    Command sendRequest(Message m) {
        return request(RequestCode.SEND).messages(List.of(m)).build();
    }

    Command fetchRequest(String topic, int queueId, long offset, int maxMessages, long maxWaitMs) {
        return request(RequestCode.FETCH).header(Headers.TOPIC, topic).header(Headers.QUEUE_ID, queueId)
                .header(Headers.OFFSET, offset).header(Headers.MAX_MESSAGES, maxMessages)
                .header(Headers.MAX_BYTES, 1 << 20).header(Headers.MAX_WAIT_MS, maxWaitMs).build();
    }

    Command fetch(String topic, int queueId, long offset, int maxMessages) throws IOException {
        return call(fetchRequest(topic, queueId, offset, maxMessages, 0));
    }

    static Message message(String topic, int queueId, byte[] body) {
        return Message.builder(topic).queueId(queueId).bornTimestamp(1_700_000_000_000L).body(body).build();
    }

    /**
     * The messages of a FETCH or QUERY_MESSAGE response in one shape for every codec: decoded from
     * the stored records in the body (binary FETCH) or taken from {@code messages}.
     */
    static List<Fetched> fetched(Command response) {
        List<Fetched> out = new ArrayList<>();
        if (response.bodyLength() > 0 && response.code() == RequestCode.FETCH) {
            for (StoredMessage s : StoredRecords.decode(response.body())) {
                out.add(new Fetched(s.topic(), s.queueId(), s.queueOffset(), s.messageId(), s.tags() == null ? "" : s.tags(),
                        s.keys(), userProperties(s.properties()), s.body()));
            }
        } else {
            for (Message m : response.messages()) {
                out.add(new Fetched(m.topic(), m.queueId(), m.queueOffset(), m.msgId(), m.tags(), m.keys(), m.properties(),
                        bytes(m.body())));
            }
        }
        return out;
    }

    private static Map<String, String> userProperties(Map<String, String> all) {
        Map<String, String> out = new java.util.LinkedHashMap<>(all);
        out.remove("TAGS");
        out.remove("KEYS");
        return out;
    }

    /** One fetched message, codec-neutral. */
    record Fetched(String topic, int queueId, long queueOffset, String msgId, String tags, List<String> keys,
                   Map<String, String> properties, byte[] body) {}

    static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
