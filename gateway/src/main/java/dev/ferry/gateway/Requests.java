package dev.ferry.gateway;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerException;
import dev.ferry.broker.FencedException;
import dev.ferry.broker.QueueLockedException;
import dev.ferry.broker.GroupNotFoundException;
import dev.ferry.broker.UnknownMemberException;
import dev.ferry.broker.UnknownTransactionException;
import dev.ferry.broker.TopicExistsException;
import dev.ferry.broker.TopicInfo;
import dev.ferry.broker.SqlFilterException;
import dev.ferry.broker.TopicNotFoundException;
import dev.ferry.log.AppendResult;
import dev.ferry.log.DiskFullException;
import dev.ferry.log.FlushNotConfirmedException;
import dev.ferry.log.InvalidMessageException;
import dev.ferry.log.LogMessage;
import dev.ferry.log.MessageIds;
import dev.ferry.log.OffsetOutOfRangeException;
import dev.ferry.log.ReadResult;
import dev.ferry.log.SegmentDeletedException;
import dev.ferry.log.StoredMessage;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each request code does: reads the request's headers and messages, calls the broker,
 * and builds the reply (docs/PROTOCOL.md, "Request codes"). Errors become responses with a
 * status and a message naming what was wrong. Knows the codec only to decide whether a FETCH
 * can carry stored records verbatim.
 *
 * <p><b>Thread safety.</b> Stateless apart from the shared load counters; one instance serves
 * every connection.
 */
final class Requests {
    private static final Logger LOG = LoggerFactory.getLogger(Requests.class);
    private static final int DEFAULT_MAX_MESSAGES = 32;
    private static final int DEFAULT_MAX_BYTES = 1 << 20;

    private final Broker broker;
    private final GatewayConfig config;
    private final LoadGate load;
    private final GatewayMetrics metrics;
    private final Filters filters = new Filters();
    private final GroupRequests groupRequests;
    private final TransactionRequests transactionRequests;

    Requests(Broker broker, GatewayConfig config, LoadGate load, GatewayMetrics metrics) {
        this.broker = broker;
        this.config = config;
        this.load = load;
        this.metrics = metrics;
        this.groupRequests = new GroupRequests(broker, metrics);
        this.transactionRequests = new TransactionRequests(broker, load, metrics);
    }

    /** Bad request input: becomes a response with {@code status}. */
    static final class RequestException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final Status status;
        final transient Command.Builder extra;

        RequestException(Status status, String message) {
            this(status, message, null);
        }

        RequestException(Status status, String message, Command.Builder extra) {
            super(message, null, false, false);
            this.status = status;
            this.extra = extra;
        }
    }

    /**
     * Where the long-polling fetches of one connection wait: the connection reads a woken one on
     * its own thread, when its client takes replies, bounds how many wait (its own and the
     * gateway's limit, refusing with BUSY from {@link #parking}), and cancels those still waiting
     * when it closes (see {@link ConnectionHandler}).
     */
    interface FetchWaits extends dev.ferry.broker.FetchParking {
        /** {@code fetch} waits for a message; it is cancelled if the connection closes first. */
        void waiting(CompletableFuture<?> fetch);
    }

    /**
     * Answers {@code req} from {@code client}; {@code producer} is its connection as a
     * transactional producer, {@code waits} where its long-polling fetches wait.
     */
    CompletableFuture<Reply> handle(Command req, boolean rawRecords, InetSocketAddress client, ProducerConnection producer,
                                    FetchWaits waits) {
        try {
            CompletableFuture<Reply> f = switch (req.code()) {
                case HEARTBEAT -> plain(heartbeat(req));
                case CREATE_TOPIC -> plain(createTopic(req));
                case DESCRIBE_TOPIC -> plain(describeTopic(req));
                case LIST_TOPICS -> plain(listTopics(req));
                case DELETE_TOPIC -> plain(deleteTopic(req));
                case SEND, SEND_BATCH -> send(req, client);
                case FETCH -> groupRequests.fetch(req, r -> fetch(r, rawRecords, waits));
                case COMMIT_OFFSET -> plain(groupRequests.checkedCommit(req, () -> commitOffset(req)));
                case NACK -> groupRequests.nack(req);
                case ACK, JOIN_GROUP, LEAVE_GROUP, GROUP_HEARTBEAT, LIST_GROUPS, DESCRIBE_GROUP, RESET_OFFSETS, LOCK_QUEUE,
                        UNLOCK_QUEUE, DELETE_GROUP -> plain(groupRequests.handle(req));
                case GET_OFFSET -> plain(getOffset(req));
                case QUERY_MESSAGE -> plain(query(req));
                case SEND_HALF, END_TRANSACTION, CHECK_TRANSACTION, REGISTER_PRODUCER -> transactionRequests.handle(req, client, producer);
                // a code the codec did not know: its message, set by the codec, names the code that arrived
                case UNKNOWN -> throw new RequestException(Status.UNSUPPORTED, req.message());
                default -> throw new RequestException(Status.UNSUPPORTED, "code: " + req.code() + " (not served by this broker)");
            };
            return f.exceptionally(t -> new Reply.Plain(error(req, t)));
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            // the two errors a request's own input can cause (a deep structure, a huge allocation) fail that request
            // only: escaping to Netty they closed the connection and left the request counted as in flight for good
            return CompletableFuture.completedFuture(new Reply.Plain(error(req, e)));
        }
    }

    /** {@code channel}, speaking {@code codec}, as a transactional producer (it joins groups when it asks to). */
    ProducerConnection producerConnection(io.netty.channel.Channel channel, dev.ferry.protocol.Codec codec) {
        return new ProducerConnection(channel, codec, broker.transactions());
    }

    private static CompletableFuture<Reply> plain(Command c) {
        return CompletableFuture.completedFuture(new Reply.Plain(c));
    }

    /** The response for a failed request: status from the exception's kind, message from its text. */
    Command error(Command req, Throwable t) {
        Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        Command.Builder b = e instanceof RequestException r && r.extra != null ? r.extra : Command.response(req, Status.OK);
        Status status;
        if (e instanceof RequestException r) {
            status = r.status;
        } else if (e instanceof CancellationException) {
            // a waiting fetch of a connection that closes, or is being closed for a bad frame it sent later
            return b.status(Status.BUSY).message("not answered: the connection is closing (expected: retry on a new connection)").build();
        } else if (e instanceof TopicNotFoundException) {
            status = Status.NOT_FOUND;
        } else if (e instanceof TopicExistsException) {
            status = Status.TOPIC_EXISTS;
        } else if (e instanceof OffsetOutOfRangeException o) {
            status = Status.OFFSET_OUT_OF_RANGE;
            b.header(Headers.MIN_OFFSET, o.earliest()).header(Headers.MAX_OFFSET, o.next());
        } else if (e instanceof FencedException) {
            status = Status.FENCED;
        } else if (e instanceof QueueLockedException) {
            status = Status.LOCKED;
        } else if (e instanceof UnknownMemberException || e instanceof UnknownTransactionException || e instanceof GroupNotFoundException) {
            status = Status.NOT_FOUND;
        } else if (e instanceof InvalidMessageException i) {
            status = i.limitExceeded() ? Status.LIMIT_EXCEEDED : Status.BAD_REQUEST;
        } else if (e instanceof SqlFilterException f && f.limitExceeded()) {
            status = Status.LIMIT_EXCEEDED;
        } else if (e instanceof BrokerException) {
            status = Status.BAD_REQUEST;
        } else if (e instanceof FlushNotConfirmedException f && f.timedOut()) {
            status = Status.TIMEOUT; // written and readable; its fsync did not come back in time
        } else if (e instanceof FlushNotConfirmedException) {
            status = Status.INTERNAL_ERROR; // written and readable; its fsync failed
            LOG.error("{} request {} failed: {}", req.code(), req.requestId(), e.getMessage());
        } else if (e instanceof DiskFullException) {
            // expected while the disk is full, and logged by the store once when it starts and when it ends: a stack
            // trace here per refused send filled the log (400 in a few seconds from one producer)
            status = Status.INTERNAL_ERROR;
        } else if (e instanceof SegmentDeletedException) {
            // retention won a race with this read: expected, and the client re-reads from the start
            status = Status.INTERNAL_ERROR;
            LOG.warn("{} request {} failed: {}", req.code(), req.requestId(), e.getMessage());
        } else {
            status = Status.INTERNAL_ERROR;
            LOG.error("{} request {} failed", req.code(), req.requestId(), e);
        }
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return b.status(status).message(errorText(message, config.limits())).build();
    }

    /**
     * {@code message} cut to a quarter of {@code maxErrorMessageBytes} chars, so that it stays
     * within that limit in UTF-8 (3 bytes a char at most): error texts quote what the client sent,
     * which may be as long as a frame, and a client's decoder refuses a longer message. The cut is
     * made in the middle, where the quoted value is, keeping the start (the field) and up to
     * {@value #ERROR_TEXT_TAIL_CHARS} chars of the end ("(expected: REQUEST, RESPONSE or ONEWAY)"):
     * cutting the end lost what the client should have sent.
     */
    static String errorText(String message, dev.ferry.protocol.Limits limits) {
        int max = limits.maxErrorMessageBytes() / 4;
        if (message.length() <= max) {
            return message;
        }
        int tail = Math.min(ERROR_TEXT_TAIL_CHARS, max / 4);
        int head = max - tail - ERROR_TEXT_CUT.length();
        if (head < 1) { // a limit too small for both ends
            return dev.ferry.protocol.Utf8.prefix(message, max);
        }
        int from = message.length() - tail;
        if (Character.isLowSurrogate(message.charAt(from))) {
            from++; // not half a pair
        }
        return dev.ferry.protocol.Utf8.prefix(message, head) + ERROR_TEXT_CUT + message.substring(from);
    }

    /** What {@link #errorText} keeps of the end of a text it cuts, at most: a list of the names expected fits. */
    static final int ERROR_TEXT_TAIL_CHARS = 1024;
    private static final String ERROR_TEXT_CUT = "...";

    private Command heartbeat(Command req) {
        String group = req.header(Headers.GROUP);
        String client = Optional.ofNullable(req.header(Headers.CLIENT_ID)).orElse("");
        if (group != null) {
            broker.heartbeat(group, client);
        }
        return Command.response(req, Status.OK).build();
    }

    private Command createTopic(Command req) {
        String topic = required(req, Headers.TOPIC);
        String q = req.header(Headers.QUEUES);
        int queues = q == null ? broker.config().defaultQueues() : intNumber(req, Headers.QUEUES, q);
        TopicInfo t = broker.createTopic(topic, queues);
        return Command.response(req, Status.OK).header(Headers.TOPIC, t.name()).header(Headers.QUEUES, t.queueCount()).build();
    }

    private Command describeTopic(Command req) {
        String topic = required(req, Headers.TOPIC);
        TopicInfo t = broker.describeTopic(topic).orElseThrow(() -> new TopicNotFoundException(topic));
        StringBuilder body = new StringBuilder();
        for (TopicInfo.QueueInfo q : t.queues()) {
            body.append(q.queueId()).append(' ').append(q.minOffset()).append(' ').append(q.maxOffset()).append('\n');
        }
        return Command.response(req, Status.OK).header(Headers.TOPIC, t.name()).header(Headers.QUEUES, t.queueCount())
                .body(body.toString().getBytes(StandardCharsets.UTF_8)).build();
    }

    private Command listTopics(Command req) {
        String prefix = Optional.ofNullable(req.header(Headers.PREFIX)).orElse("");
        List<String> names = new ArrayList<>();
        for (String t : broker.listTopics().stream().map(TopicInfo::name).toList()) {
            if (t.startsWith(prefix)) {
                names.add(t);
            }
        }
        return Command.response(req, Status.OK).header(Headers.COUNT, names.size())
                .body(String.join("\n", names).getBytes(StandardCharsets.UTF_8)).build();
    }

    private Command deleteTopic(Command req) {
        String topic = required(req, Headers.TOPIC);
        broker.deleteTopic(topic);
        metrics.topicDeleted(topic);
        return Command.response(req, Status.OK).build();
    }

    private CompletableFuture<Reply> send(Command req, InetSocketAddress client) {
        List<Message> messages = req.messages();
        boolean single = req.code() == dev.ferry.protocol.RequestCode.SEND;
        if (messages.isEmpty() || (single && messages.size() != 1)) {
            throw new RequestException(Status.BAD_REQUEST, "messages: " + messages.size() + " (expected: "
                    + (single ? "exactly 1 for SEND" : "1.." + config.limits().maxMessagesPerCommand() + " for SEND_BATCH") + ")");
        }
        Message first = messages.get(0);
        for (int i = 1; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (!m.topic().equals(first.topic()) || m.queueId() != first.queueId()) {
                throw new RequestException(Status.BAD_REQUEST, "message " + i + ": topic " + m.topic() + " queueId " + m.queueId()
                        + " (expected: one topic and one queueId per batch: " + first.topic() + ", " + first.queueId() + ")");
            }
        }
        long[] deliverAt = null;
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).deliverAt() > 0) {
                if (deliverAt == null) {
                    deliverAt = new long[messages.size()];
                }
                deliverAt[i] = messages.get(i).deliverAt();
            }
        }
        String busy = load.admitSend(broker.store());
        if (busy != null) {
            throw new RequestException(Status.BUSY, busy);
        }
        int queueId;
        CompletableFuture<List<AppendResult>> appended;
        try {
            queueId = broker.chooseQueue(first.topic(), first.queueId());
            List<LogMessage> batch = new ArrayList<>(messages.size());
            int maxPropertiesBytes = broker.config().log().maxPropertiesBytes();
            for (int i = 0; i < messages.size(); i++) {
                try {
                    batch.add(MessageMapping.toLog(messages.get(i), queueId, client, maxPropertiesBytes));
                } catch (InvalidMessageException e) {
                    throw InvalidMessageException.prefixed("batch message " + i + ": ", e); // as the store names it
                }
            }
            appended = broker.send(batch, deliverAt);
        } catch (RuntimeException e) {
            load.sendDone();
            // a plain SEND sent no batch: its refusal names no message in one
            throw single && e instanceof InvalidMessageException i ? i.withoutPrefix() : e;
        }
        if (appended.isDone() && !appended.isCompletedExceptionally()) { // ASYNC flush: answered at once
            load.sendDone();
            List<AppendResult> results = appended.join();
            stored(results);
            return CompletableFuture.completedFuture(new Reply.Plain(sendResponse(req, single, results, queueId)));
        }
        return appended.handle((results, t) -> { // exactly one sendDone, also for a future that failed already
            load.sendDone();
            if (t != null) {
                throw t instanceof CompletionException ce ? ce : new CompletionException(t);
            }
            stored(results);
            return new Reply.Plain(sendResponse(req, single, results, queueId));
        });
    }

    /** Reports a stored batch (one topic, see {@link #send}) to the metrics. */
    private void stored(List<AppendResult> results) {
        long bytes = 0;
        for (AppendResult r : results) {
            bytes += r.size();
        }
        metrics.messagesIn(results.get(0).topic(), results.size(), bytes);
    }

    /**
     * The SEND / SEND_BATCH answer. A delayed message has no offset in its queue yet: its
     * queueOffset is -1 and its msgId that of its record in the schedule.
     */
    private static Command sendResponse(Command req, boolean single, List<AppendResult> results, int queueId) {
        AppendResult first = results.get(0);
        boolean delayed = !first.topic().equals(req.messages().get(0).topic());
        Command.Builder b = Command.response(req, Status.OK).header(Headers.QUEUE_ID, queueId)
                .header(Headers.QUEUE_OFFSET, delayed ? -1 : first.queueOffset());
        if (single) {
            return b.header(Headers.MSG_ID, first.messageId()).build();
        }
        // the ids, one a line, written as bytes: a String for each, joined and encoded, was most of a batch's reply (JFR)
        byte[] ids = new byte[results.size() * (MessageIds.LENGTH + 1) - 1];
        for (int i = 0; i < results.size(); i++) {
            int at = i * (MessageIds.LENGTH + 1);
            MessageIds.write(results.get(i).physicalOffset(), ids, at);
            if (at + MessageIds.LENGTH < ids.length) {
                ids[at + MessageIds.LENGTH] = '\n';
            }
        }
        return b.header(Headers.COUNT, results.size()).body(ids).build();
    }

    private CompletableFuture<Reply> fetch(Command req, boolean rawRecords, FetchWaits waits) {
        String topic = required(req, Headers.TOPIC);
        int queueId = intNumber(req, Headers.QUEUE_ID, required(req, Headers.QUEUE_ID));
        long offset = offset(req);
        long maxMessages = Math.min(optionalNumber(req, Headers.MAX_MESSAGES, DEFAULT_MAX_MESSAGES),
                config.limits().maxMessagesPerCommand());
        long maxBytes = Math.min(optionalNumber(req, Headers.MAX_BYTES, DEFAULT_MAX_BYTES), config.limits().maxFrameBytes() / 2);
        long maxWaitMs = optionalNumber(req, Headers.MAX_WAIT_MS, 0);
        if (maxMessages < 1 || maxBytes < 1) {
            throw new RequestException(Status.BAD_REQUEST, "maxMessages/maxBytes: " + maxMessages + "/" + maxBytes + " (expected: >= 1)");
        }
        Filters.Filter filter = filters.of(req.header(Headers.TAGS), req.header(Headers.SQL));
        CompletableFuture<ReadResult> read = broker.fetch(topic, queueId, offset, (int) maxMessages, (int) maxBytes, maxWaitMs,
                filter.tagHashes(), filter.properties(), waits);
        if (!read.isDone()) {
            waits.waiting(read);
        }
        return read.thenApply(r -> {
            if (r.messageCount() > 0) {
                metrics.messagesOut(topic, r.messageCount(), r.totalBytes());
            }
            Command.Builder b = Command.response(req, Status.OK).header(Headers.NEXT_OFFSET, r.nextOffset())
                    .header(Headers.MIN_OFFSET, r.minOffset()).header(Headers.MAX_OFFSET, r.maxOffset());
            if (rawRecords) {
                return new Reply.Records(b.build(), r);
            }
            try (r) {
                List<Message> out = new ArrayList<>(r.messageCount());
                for (int i = 0; i < r.messageCount(); i++) {
                    out.add(MessageMapping.toWire(r.message(i)));
                }
                return new Reply.Plain(b.messages(out).build());
            }
        });
    }

    private Command commitOffset(Command req) {
        String group = required(req, Headers.GROUP);
        String topic = required(req, Headers.TOPIC);
        int queueId = intNumber(req, Headers.QUEUE_ID, required(req, Headers.QUEUE_ID));
        long offset = offset(req);
        TopicInfo t = broker.describeTopic(topic).orElseThrow(() -> new TopicNotFoundException(topic));
        if (queueId < 0 || queueId >= t.queueCount()) {
            throw new RequestException(Status.BAD_REQUEST, "queueId: " + queueId + " (expected: 0.." + (t.queueCount() - 1) + ")");
        }
        long max = broker.store().nextOffset(topic, queueId);
        if (offset < 0 || offset > max) {
            throw new OffsetOutOfRangeException(topic, queueId, offset, broker.store().minOffset(topic, queueId), max);
        }
        broker.commitOffset(group, topic, queueId, offset);
        return Command.response(req, Status.OK).build();
    }

    private Command getOffset(Command req) {
        String topic = required(req, Headers.TOPIC);
        int queueId = intNumber(req, Headers.QUEUE_ID, required(req, Headers.QUEUE_ID));
        TopicInfo t = broker.describeTopic(topic).orElseThrow(() -> new TopicNotFoundException(topic));
        if (queueId < 0 || queueId >= t.queueCount()) { // as FETCH and COMMIT_OFFSET: not "0 to 0" of a queue that is not there
            throw new RequestException(Status.BAD_REQUEST, "queueId: " + queueId + " (expected: 0.." + (t.queueCount() - 1) + ")");
        }
        Command.Builder b = Command.response(req, Status.OK);
        String group = req.header(Headers.GROUP);
        String timestamp = req.header(Headers.TIMESTAMP);
        if (group != null) {
            OptionalLong committed = broker.committedOffset(group, topic, queueId);
            b.header(Headers.OFFSET, committed.orElse(-1));
        } else if (timestamp != null) {
            b.header(Headers.OFFSET, broker.store().offsetForTimestamp(topic, queueId, number(req, Headers.TIMESTAMP, timestamp)));
        }
        return b.header(Headers.MIN_OFFSET, broker.store().minOffset(topic, queueId))
                .header(Headers.MAX_OFFSET, broker.store().nextOffset(topic, queueId)).build();
    }

    private Command query(Command req) {
        long wanted = optionalNumber(req, Headers.MAX_MESSAGES, 32);
        if (wanted < 1) {
            throw new RequestException(Status.BAD_REQUEST, "header " + Headers.MAX_MESSAGES + ": " + wanted + " (expected: >= 1)");
        }
        int max = (int) Math.min(wanted, config.limits().maxMessagesPerCommand());
        int budget = config.limits().maxFrameBytes() / 2; // as FETCH: the answer must fit a frame, bodies encoded (base64: 4/3)
        List<StoredMessage> found = new ArrayList<>();
        String id = req.header(Headers.MSG_ID);
        String topic = req.header(Headers.TOPIC);
        if (id != null) {
            try {
                broker.messageById(id).ifPresent(found::add);
            } catch (InvalidMessageException e) {
                throw new RequestException(Status.BAD_REQUEST, e.getMessage());
            }
        } else if (topic != null && req.header(Headers.KEY) != null) {
            found.addAll(broker.messagesByKey(topic, req.header(Headers.KEY), max, budget));
        } else if (topic != null && req.header(Headers.BEGIN_TIMESTAMP) != null) {
            long begin = number(req, Headers.BEGIN_TIMESTAMP, req.header(Headers.BEGIN_TIMESTAMP));
            long end = number(req, Headers.END_TIMESTAMP, required(req, Headers.END_TIMESTAMP));
            TopicInfo t = broker.describeTopic(topic).filter(x -> !Broker.isReservedTopic(topic))
                    .orElseThrow(() -> new TopicNotFoundException(topic));
            long bytes = 0;
            queues:
            for (int q = 0; q < t.queueCount() && found.size() < max; q++) {
                long from = broker.store().offsetForTimestamp(topic, q, begin);
                long to = broker.store().offsetForTimestamp(topic, q, end);
                if (to > from) {
                    // a read returns one message at least, like a fetch: one that does not fit ends the answer
                    for (StoredMessage m : broker.store().readMessages(topic, q, from, (int) Math.min(to - from, max - found.size()),
                            (int) Math.max(1, budget - bytes))) {
                        if (!found.isEmpty() && bytes + m.size() > budget) {
                            break queues;
                        }
                        found.add(m);
                        bytes += m.size();
                    }
                }
            }
        } else {
            throw new RequestException(Status.BAD_REQUEST, "headers: expected msgId, or topic + key, or topic + beginTimestamp + endTimestamp");
        }
        if (found.isEmpty() && id != null) {
            throw new RequestException(Status.NOT_FOUND, "msgId: " + id + " (no message with this id)");
        }
        List<Message> out = new ArrayList<>(found.size());
        for (StoredMessage s : found) {
            out.add(MessageMapping.toWire(s));
        }
        return Command.response(req, Status.OK).messages(out).build();
    }

    static String required(Command req, String name) {
        String v = req.header(name);
        if (v == null) {
            throw new RequestException(Status.BAD_REQUEST, "header " + name + ": missing (expected for " + req.code() + ")");
        }
        return v;
    }

    /**
     * The {@code offset} header of FETCH and COMMIT_OFFSET: a queue offset, so not negative. A
     * negative one is a client's bug, not a position retention deleted (OFFSET_OUT_OF_RANGE would
     * say "deleted by retention" and send a client to minOffset).
     */
    private static long offset(Command req) {
        long offset = number(req, Headers.OFFSET, required(req, Headers.OFFSET));
        if (offset < 0) {
            throw new RequestException(Status.BAD_REQUEST, "offset: " + offset + " (expected: >= 0)");
        }
        return offset;
    }

    private static long number(Command req, String name, String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new RequestException(Status.BAD_REQUEST, "header " + name + ": '" + value + "' (expected: a decimal integer)");
        }
    }

    /** A header that must fit an int: a queue id or count cut to 32 bits would name another queue. */
    private static int intNumber(Command req, String name, String value) {
        long v = number(req, name, value);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new RequestException(Status.BAD_REQUEST, "header " + name + ": '" + value + "' (expected: a 32-bit integer)");
        }
        return (int) v;
    }

    private static long optionalNumber(Command req, String name, long otherwise) {
        String v = req.header(name);
        return v == null ? otherwise : number(req, name, v);
    }
}
