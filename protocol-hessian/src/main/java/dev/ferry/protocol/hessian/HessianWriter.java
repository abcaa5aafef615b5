package dev.ferry.protocol.hessian;

import static dev.ferry.protocol.hessian.HessianFields.*;

import com.caucho.hessian.io.Hessian2Output;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Writes one command as Hessian 2 untyped maps, lists, strings, numbers and binary: no class
 * names, so any Hessian library can read it as plain data.
 *
 * <p>Not thread-safe; one instance per encode call.
 */
final class HessianWriter {
    private final Hessian2Output out;

    private HessianWriter(Hessian2Output out) {
        this.out = out;
    }

    static ByteBuffer write(Command c) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 + c.bodyLength());
        Hessian2Output out = new Hessian2Output(bytes);
        try {
            new HessianWriter(out).command(c);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("hessian: writing to memory failed", e);
        }
        return ByteBuffer.wrap(bytes.toByteArray());
    }

    private void command(Command c) throws IOException {
        out.writeMapBegin(null);
        field(KIND, c.kind().name());
        field(CODE, c.code().name());
        out.writeString(REQUEST_ID);
        out.writeInt(c.requestId());
        field(STATUS, c.status().name());
        field(MESSAGE, c.message());
        map(HEADERS, c.headers());
        out.writeString(MESSAGES);
        List<Message> messages = c.messages();
        out.writeListBegin(messages.size(), null);
        for (Message m : messages) {
            message(m);
        }
        body(c.body());
        out.writeMapEnd();
    }

    private void message(Message m) throws IOException {
        out.writeMapBegin(null);
        field(TOPIC, m.topic());
        out.writeString(QUEUE_ID);
        out.writeInt(m.queueId());
        out.writeString(QUEUE_OFFSET);
        out.writeLong(m.queueOffset());
        field(MSG_ID, m.msgId());
        out.writeString(KEYS);
        out.writeListBegin(m.keys().size(), null);
        for (String k : m.keys()) {
            out.writeString(k);
        }
        field(TAGS, m.tags());
        map(PROPERTIES, m.properties());
        out.writeString(BORN_TIMESTAMP);
        out.writeLong(m.bornTimestamp());
        out.writeString(STORE_TIMESTAMP);
        out.writeLong(m.storeTimestamp());
        out.writeString(DELIVER_AT);
        out.writeLong(m.deliverAt());
        out.writeString(FLAGS);
        out.writeInt(m.flags());
        body(m.body());
        out.writeMapEnd();
    }

    private void field(String name, String value) throws IOException {
        out.writeString(name);
        out.writeString(value);
    }

    private void map(String name, Map<String, String> map) throws IOException {
        out.writeString(name);
        out.writeMapBegin(null);
        for (Map.Entry<String, String> e : map.entrySet()) {
            out.writeString(e.getKey());
            out.writeString(e.getValue());
        }
        out.writeMapEnd();
    }

    private void body(ByteBuffer body) throws IOException {
        out.writeString(BODY);
        byte[] b = new byte[body.remaining()];
        body.get(b);
        out.writeBytes(b);
    }
}
