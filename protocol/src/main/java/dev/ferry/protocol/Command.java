package dev.ferry.protocol;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One request, response or one-way command: the unit every {@link Codec} encodes into one frame.
 *
 * <ul>
 *   <li>{@link #kind()} and {@link #code()} say what it is; {@link #requestId()} pairs a
 *       response with its request (chosen by the client, unique among its requests in flight).</li>
 *   <li>{@link #status()} and {@link #message()} report a response's outcome ({@link Status#OK}
 *       and "" otherwise).</li>
 *   <li>{@link #headers()} are small named string fields, in order; their names are in
 *       {@link Headers}.</li>
 *   <li>{@link #messages()} are the messages a SEND / SEND_BATCH request or a FETCH /
 *       QUERY_MESSAGE response carries.</li>
 *   <li>{@link #body()} is opaque bytes. For the binary codec a FETCH response's body holds the
 *       stored records verbatim (see docs/PROTOCOL.md).</li>
 * </ul>
 *
 * <p>Why it exists: one codec-neutral model shared by the gateway and the client.
 *
 * <p>Immutable, so thread-safe; the body is held as a read-only view of the buffer it was
 * built from, without a copy (see {@link Message} for what that implies). {@code equals}
 * compares bodies by content.
 *
 * <p>Its header strings must be well-formed Unicode: {@code build()} refuses an unpaired surrogate
 * with an {@link IllegalArgumentException} naming the field, since UTF-8 cannot carry it (see
 * {@link Utf8}). The message, diagnostic text, has each one replaced by U+FFFD instead.
 */
public final class Command {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final Kind kind;
    private final RequestCode code;
    private final int requestId;
    private final Status status;
    private final String message;
    private final Map<String, String> headers;
    private final List<Message> messages;
    private final ByteBuffer body;

    private Command(Builder b) {
        this.kind = Objects.requireNonNull(b.kind, "kind");
        this.code = Objects.requireNonNull(b.code, "code");
        this.requestId = b.requestId;
        this.status = Objects.requireNonNull(b.status, "status");
        // diagnostic text quoting what it was given, maybe cut short: half a surrogate pair is replaced, not refused,
        // or an error reply quoting a client's emoji could not be built at all
        this.message = Utf8.wellFormed(Objects.requireNonNull(b.message, "message"));
        this.headers = b.headers.isEmpty()
                ? Map.of()
                : Collections.unmodifiableMap(Message.checkEntries(new LinkedHashMap<>(b.headers)));
        this.messages = List.copyOf(b.messages);
        this.body = b.body.hasRemaining() ? b.body.slice().asReadOnlyBuffer() : EMPTY;
    }

    /** A builder for a request with the given code and id. */
    public static Builder request(RequestCode code, int requestId) {
        return new Builder().kind(Kind.REQUEST).code(code).requestId(requestId);
    }

    /** A builder for a one-way request, which gets no response. */
    public static Builder oneway(RequestCode code, int requestId) {
        return new Builder().kind(Kind.ONEWAY).code(code).requestId(requestId);
    }

    /** A builder for the response to {@code request}: same code and id, the given status. */
    public static Builder response(Command request, Status status) {
        return new Builder().kind(Kind.RESPONSE).code(request.code).requestId(request.requestId).status(status);
    }

    /** A builder with every field at its default; kind, code and request id must be set. */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().kind(kind).code(code).requestId(requestId).status(status).message(message)
                .headers(headers).messages(messages).body(body);
    }

    public Kind kind() { return kind; }
    public RequestCode code() { return code; }
    public int requestId() { return requestId; }

    /** A response's outcome; {@link Status#OK} on requests. */
    public Status status() { return status; }

    /** Error text of a response; empty when there is none. */
    public String message() { return message; }

    /** Header fields in order; unmodifiable. */
    public Map<String, String> headers() { return headers; }

    /** The header {@code name}, or null. */
    public String header(String name) { return headers.get(name); }

    public List<Message> messages() { return messages; }

    /** A read-only duplicate of the body, position 0 .. limit = length. */
    public ByteBuffer body() { return body.duplicate(); }

    /** Length of the body in bytes, without making a duplicate. */
    public int bodyLength() { return body.remaining(); }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Command c)) {
            return false;
        }
        return kind == c.kind && code == c.code && requestId == c.requestId && status == c.status
                && message.equals(c.message) && headers.equals(c.headers) && messages.equals(c.messages)
                && body.equals(c.body);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, code, requestId, status, message, headers, messages, body);
    }

    @Override
    public String toString() {
        return "Command{" + kind + " " + code + " #" + requestId + ", status=" + status
                + (message.isEmpty() ? "" : ", message=" + message) + ", headers=" + headers
                + ", messages=" + messages.size() + ", body=" + body.remaining() + " bytes}";
    }

    /** Builds a {@link Command}; not thread-safe. */
    public static final class Builder {
        private Kind kind;
        private RequestCode code;
        private int requestId;
        private Status status = Status.OK;
        private String message = "";
        private Map<String, String> headers = new LinkedHashMap<>();
        private List<Message> messages = List.of();
        private ByteBuffer body = EMPTY;

        private Builder() {
        }

        public Builder kind(Kind kind) { this.kind = kind; return this; }
        public Builder code(RequestCode code) { this.code = code; return this; }
        public Builder requestId(int requestId) { this.requestId = requestId; return this; }
        public Builder status(Status status) { this.status = status; return this; }
        public Builder message(String message) { this.message = message; return this; }

        /** Replaces all headers, keeping {@code headers}' iteration order. */
        public Builder headers(Map<String, String> headers) {
            this.headers = new LinkedHashMap<>(headers);
            return this;
        }

        /** Adds or replaces one header. */
        public Builder header(String name, String value) {
            headers.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** Adds or replaces one header with a number's decimal text. */
        public Builder header(String name, long value) {
            return header(name, Long.toString(value));
        }

        public Builder messages(List<Message> messages) { this.messages = messages; return this; }

        /** The bytes from the buffer's position to its limit, held without a copy. */
        public Builder body(ByteBuffer body) { this.body = Objects.requireNonNull(body, "body"); return this; }

        /** Wraps {@code body} without a copy; do not change the array afterwards. */
        public Builder body(byte[] body) { return body(ByteBuffer.wrap(body)); }

        public Command build() {
            return new Command(this);
        }
    }
}
