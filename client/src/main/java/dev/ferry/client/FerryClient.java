package dev.ferry.client;

import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Codecs;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A connection to one Ferry broker: topic administration and lookups, and the factory of
 * {@link Producer}s, {@link TransactionProducer}s, {@link Consumer}s and push {@link Subscription}s, which open their own
 * connections on the client's event loops (so a long poll never queues behind a send).
 *
 * <pre>{@code
 * try (FerryClient client = FerryClient.connect(ClientConfig.builder().server("127.0.0.1:9876").build());
 *      Producer producer = client.producer()) {
 *     client.createTopic("orders", 4);
 *     SendResult r = producer.send("orders", "hello".getBytes(UTF_8));
 * }
 * }</pre>
 *
 * <p>Every call here is synchronous and throws {@link FerryException} when the broker answers
 * with an error (its {@link FerryException#status()} says which), when no answer comes within
 * {@link ClientConfig#requestTimeoutMs()}, or when the broker cannot be reached; the admin
 * connection is re-opened on the next call after it was lost. An admin call is not retried: with
 * the broker down it fails at once, reason CONNECTION (Kafka's admin client retries until its
 * timeout).
 *
 * <p><b>Connections.</b> {@link #connect} and each factory ({@link #producer}, {@link #consumer},
 * {@link #groupConsumer}, {@link #subscribe}, {@link #transactionProducer}) open their connection
 * before they return, and fail with a {@link FerryException} naming {@code host:port} if the
 * broker cannot be reached: at once when the connection is refused, after
 * {@link ClientConfig#connectTimeoutMs()} when nothing answers the connect or the handshake.
 * Unlike Kafka's clients, which start and keep trying, a wrong address shows at startup. Once made, producers and consumers reconnect on their own after the broker
 * restarts or the connection drops: a producer resends what was unacknowledged (see
 * {@link Producer}, "Failures": a batch lost with its connection may be stored twice), a
 * consumer fetches on from its position, and a group member joins again and reads its queues on
 * from the group's committed offsets (so messages polled and not yet acked come again).
 *
 * <p><b>Thread safety.</b> Safe for any number of threads. Closing the client closes the
 * producers, consumers and subscriptions it made.
 *
 * <p><b>Callbacks.</b> The futures of this client and of what it made complete on its event-loop
 * threads ({@link ClientConfig#ioThreads()}, one by default, shared by every connection): a
 * callback attached to one must not block, or it holds up every send, fetch and heartbeat of
 * that loop. A blocking call made there (an admin call, {@code send}, {@code flush},
 * {@code commitSync}, creating a producer or consumer, closing the client or a group member)
 * would wait for the loop it holds, so it throws {@link IllegalStateException} at once: use
 * {@code sendAsync}, or hand the work to a thread of your own. Closing a {@link Subscription}
 * there only asks its thread to stop, and an auto-committing {@link Consumer} sends its last
 * commit without waiting for the answer.
 */
public final class FerryClient implements AutoCloseable {
    private final ClientConfig config;
    private final Codec codec;
    private final Transport transport;
    private final EventLoop adminLoop;
    private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();
    /** The admin connection, replaced when lost; guarded by {@code this}. */
    private CompletableFuture<Connection> admin;
    private volatile boolean closed;

    private FerryClient(ClientConfig config) {
        this.config = config;
        this.codec = Codecs.load(FerryClient.class.getClassLoader()).get(config.codec());
        this.transport = new Transport(config);
        this.adminLoop = transport.nextLoop();
        try {
            await(adminConnection(), config.connectTimeoutMs() * 2, "connect to " + config.host() + ":" + config.port());
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    /** Connects to the broker (TCP and handshake) and returns once the broker accepted the codec. */
    public static FerryClient connect(ClientConfig config) {
        return new FerryClient(config);
    }

    public ClientConfig config() {
        return config;
    }

    /** The codec this client speaks, e.g. "binary". */
    public String codec() {
        return codec.name();
    }

    // ---- admin --------------------------------------------------------------------------------

    /**
     * Creates {@code topic} with the broker's default queue count ({@code topics.default.queues});
     * returns the topic as created, with the count the broker chose.
     */
    public TopicDescription createTopic(String topic) {
        Checks.topic(topic);
        Command r = call(Command.builder().code(RequestCode.CREATE_TOPIC).header(Headers.TOPIC, topic), "CREATE_TOPIC " + topic);
        return new TopicDescription(topic, (int) number(r, Headers.QUEUES));
    }

    /** Creates {@code topic} with {@code queues} queues; fails with status TOPIC_EXISTS if it exists. */
    public TopicDescription createTopic(String topic, int queues) {
        Checks.topic(topic);
        Checks.range("queues", queues, 1, Integer.MAX_VALUE);
        Command r = call(Command.builder().code(RequestCode.CREATE_TOPIC).header(Headers.TOPIC, topic).header(Headers.QUEUES, queues),
                "CREATE_TOPIC " + topic);
        return new TopicDescription(topic, (int) number(r, Headers.QUEUES));
    }

    /** Creates {@code topic} with {@code queues} queues unless it exists; returns what the broker has. */
    public TopicDescription ensureTopic(String topic, int queues) {
        Optional<TopicDescription> existing = describeTopic(topic);
        if (existing.isPresent()) {
            return existing.get();
        }
        try {
            return createTopic(topic, queues);
        } catch (FerryException e) {
            if (e.status().orElse(null) == Status.TOPIC_EXISTS) {
                return describeTopic(topic).orElseThrow(() -> e);
            }
            throw e;
        }
    }

    /** The topic's queue count, or empty if it does not exist. */
    public Optional<TopicDescription> describeTopic(String topic) {
        Checks.topic(topic);
        return await(describeAsync(topic), config.requestTimeoutMs() * 2, "DESCRIBE_TOPIC " + topic);
    }

    CompletableFuture<Optional<TopicDescription>> describeAsync(String topic) {
        return requestAsync(Command.builder().code(RequestCode.DESCRIBE_TOPIC).header(Headers.TOPIC, topic), "DESCRIBE_TOPIC " + topic)
                .thenApply(r -> {
                    if (r.status() == Status.NOT_FOUND) {
                        return Optional.empty();
                    }
                    check(r, "DESCRIBE_TOPIC " + topic);
                    return Optional.of(new TopicDescription(topic, (int) number(r, Headers.QUEUES)));
                });
    }

    /** Names of all topics, sorted as the broker lists them. */
    public List<String> listTopics() {
        return listTopics("");
    }

    /** Names of the topics starting with {@code prefix}. */
    public List<String> listTopics(String prefix) {
        Command.Builder b = Command.builder().code(RequestCode.LIST_TOPICS);
        if (!prefix.isEmpty()) {
            b.header(Headers.PREFIX, prefix);
        }
        Command r = call(b, "LIST_TOPICS");
        String body = StandardCharsets.UTF_8.decode(r.body()).toString();
        List<String> out = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (!line.isEmpty()) {
                out.add(line);
            }
        }
        return out;
    }

    /** Deletes the topic's metadata and committed offsets; fails with NOT_FOUND if absent. */
    public void deleteTopic(String topic) {
        call(Command.builder().code(RequestCode.DELETE_TOPIC).header(Headers.TOPIC, Checks.topic(topic)), "DELETE_TOPIC " + topic);
    }

    /** The message with this broker-assigned id, if it exists. */
    public Optional<Message> queryById(String msgId) {
        Checks.nonEmpty("msgId", msgId);
        Command r = await(requestAsync(Command.builder().code(RequestCode.QUERY_MESSAGE).header(Headers.MSG_ID, msgId),
                "QUERY_MESSAGE " + msgId), config.requestTimeoutMs() * 2, "QUERY_MESSAGE " + msgId);
        if (r.status() == Status.NOT_FOUND) {
            return Optional.empty();
        }
        check(r, "QUERY_MESSAGE " + msgId);
        return r.messages().stream().findFirst();
    }

    /** Up to {@code maxMessages} messages of {@code topic} with business key {@code key}. */
    public List<Message> queryByKey(String topic, String key, int maxMessages) {
        Checks.topic(topic);
        Checks.nonEmpty("key", key);
        Checks.range("maxMessages", maxMessages, 1, config.limits().maxMessagesPerCommand());
        return call(Command.builder().code(RequestCode.QUERY_MESSAGE).header(Headers.TOPIC, topic).header(Headers.KEY, key)
                .header(Headers.MAX_MESSAGES, maxMessages), "QUERY_MESSAGE " + topic + " key " + key).messages();
    }

    /** Earliest stored offset and next offset of a queue. */
    public QueueOffsets queueOffsets(String topic, int queueId) {
        Command r = call(Command.builder().code(RequestCode.GET_OFFSET).header(Headers.TOPIC, Checks.topic(topic))
                .header(Headers.QUEUE_ID, queueId), "GET_OFFSET " + topic + "/" + queueId);
        return new QueueOffsets(number(r, Headers.MIN_OFFSET), number(r, Headers.MAX_OFFSET));
    }

    /**
     * The offset of the first message of the queue stored at or after {@code timestampMs} (ms since
     * the epoch, the broker's store time), or the queue's next offset if none is: where to
     * {@link Consumer#seek} to read from a point in time, as Kafka's {@code offsetsForTimes}. A time
     * before the oldest retained message gives the queue's first offset.
     */
    public long offsetForTimestamp(String topic, int queueId, long timestampMs) {
        Command r = call(Command.builder().code(RequestCode.GET_OFFSET).header(Headers.TOPIC, Checks.topic(topic))
                .header(Headers.QUEUE_ID, queueId).header(Headers.TIMESTAMP, timestampMs),
                "GET_OFFSET " + topic + "/" + queueId + " timestamp " + timestampMs);
        return number(r, Headers.OFFSET);
    }

    /** The offset {@code group} committed for the queue, or empty if it never did. */
    public OptionalLong committedOffset(String group, String topic, int queueId) {
        Command r = call(Command.builder().code(RequestCode.GET_OFFSET).header(Headers.TOPIC, Checks.topic(topic))
                .header(Headers.QUEUE_ID, queueId).header(Headers.GROUP, Checks.nonEmpty("group", group)),
                "GET_OFFSET " + topic + "/" + queueId + " group " + group);
        long offset = number(r, Headers.OFFSET);
        return offset < 0 ? OptionalLong.empty() : OptionalLong.of(offset);
    }

    /** Stores {@code offset} (the next one to consume) as {@code group}'s position in the queue. */
    public void commitOffset(String group, String topic, int queueId, long offset) {
        call(Command.builder().code(RequestCode.COMMIT_OFFSET).header(Headers.GROUP, Checks.nonEmpty("group", group))
                .header(Headers.TOPIC, Checks.topic(topic)).header(Headers.QUEUE_ID, queueId).header(Headers.OFFSET, offset),
                "COMMIT_OFFSET " + topic + "/" + queueId);
    }

    /** Names of the groups with live members or committed offsets. */
    public List<String> listGroups() {
        Command r = call(Command.builder().code(RequestCode.LIST_GROUPS), "LIST_GROUPS");
        List<String> out = new ArrayList<>();
        for (String line : StandardCharsets.UTF_8.decode(r.body()).toString().split("\n")) {
            if (!line.isEmpty()) {
                out.add(line);
            }
        }
        return out;
    }

    /**
     * Deletes a group that has no live member: its committed offsets and its retry topic (its
     * dead-letter topic stays). Fails while a member is live (BAD_REQUEST), and with NOT_FOUND
     * for a group the broker knows nothing of.
     */
    public void deleteGroup(String group) {
        call(Command.builder().code(RequestCode.DELETE_GROUP).header(Headers.GROUP, Checks.nonEmpty("group", group)),
                "DELETE_GROUP " + group);
    }

    /** Members, assignment, committed offsets, lag and locks of a group; fails with NOT_FOUND if unknown. */
    public GroupInfo describeGroup(String group) {
        Command r = call(Command.builder().code(RequestCode.DESCRIBE_GROUP).header(Headers.GROUP, Checks.nonEmpty("group", group)),
                "DESCRIBE_GROUP " + group);
        List<GroupInfo.Member> members = new ArrayList<>();
        List<GroupInfo.Queue> queues = new ArrayList<>();
        for (String line : StandardCharsets.UTF_8.decode(r.body()).toString().split("\n")) {
            String[] p = line.split(" ");
            if (p[0].equals("member") && p.length == 5) {
                members.add(new GroupInfo.Member(p[1], List.of(p[2].split(",")), Boolean.parseBoolean(p[3]), Long.parseLong(p[4])));
            } else if (p[0].equals("queue") && p.length == 8) {
                queues.add(new GroupInfo.Queue(p[1], Integer.parseInt(p[2]), p[3], Long.parseLong(p[4]), Long.parseLong(p[5]),
                        Long.parseLong(p[6]), p[7]));
            }
        }
        return new GroupInfo(group, r.header(Headers.MODE), r.header(Headers.STRATEGY), number(r, Headers.GENERATION), members, queues);
    }

    /**
     * Moves {@code group}'s committed offsets on every queue of {@code topic} to {@code to}:
     * "earliest", "latest", "timestamp" (the first message stored at or after {@code value} ms) or
     * "offset" ({@code value}, clamped). Live members restart those queues there. Returns queue id to offset.
     */
    public java.util.Map<Integer, Long> resetOffsets(String group, String topic, String to, long value) {
        Command.Builder b = Command.builder().code(RequestCode.RESET_OFFSETS).header(Headers.GROUP, Checks.nonEmpty("group", group))
                .header(Headers.TOPIC, Checks.topic(topic)).header(Headers.TO, to);
        if (to.equalsIgnoreCase("timestamp")) {
            b.header(Headers.TIMESTAMP, value);
        } else if (to.equalsIgnoreCase("offset")) {
            b.header(Headers.OFFSET, value);
        }
        Command r = call(b, "RESET_OFFSETS " + group + " " + topic);
        java.util.Map<Integer, Long> out = new java.util.TreeMap<>();
        for (String line : StandardCharsets.UTF_8.decode(r.body()).toString().split("\n")) {
            String[] p = line.split(" ");
            if (p.length == 2) {
                out.put(Integer.parseInt(p[0]), Long.parseLong(p[1]));
            }
        }
        return out;
    }

    // ---- factories ----------------------------------------------------------------------------

    /** A member of a consumer group (clustering, broadcasting or orderly), poll style, on its own connection. */
    public GroupConsumer groupConsumer(GroupConsumerConfig config) {
        checkOpen();
        return register(new GroupConsumer(this, config));
    }

    /**
     * A group member on a thread of its own: {@code handler} success acks a message, an exception
     * nacks it (or, orderly/broadcasting, retries it in place); see {@link Subscription}.
     */
    public Subscription subscribe(GroupConsumerConfig config, MessageHandler handler) {
        checkOpen();
        return register(new Subscription(new GroupConsumer(this, config), handler));
    }

    /** A producer with the default {@link ProducerConfig}, on its own connection. */
    public Producer producer() {
        return producer(ProducerConfig.defaults());
    }

    public Producer producer(ProducerConfig producerConfig) {
        checkOpen();
        return register(new Producer(this, producerConfig));
    }

    /**
     * A transactional producer of {@code producerGroup}, on its own connection; {@code checker}
     * answers the broker's check-backs of the group's undecided transactions.
     */
    public TransactionProducer transactionProducer(String producerGroup, TransactionChecker checker) {
        return transactionProducer(TransactionProducerConfig.builder(producerGroup).build(), checker);
    }

    public TransactionProducer transactionProducer(TransactionProducerConfig config, TransactionChecker checker) {
        checkOpen();
        return register(new TransactionProducer(this, config, checker));
    }

    /** A poll-style consumer on its own connection. */
    public Consumer consumer(ConsumerConfig consumerConfig) {
        checkOpen();
        return register(new Consumer(this, consumerConfig));
    }

    /**
     * Consumes every queue of {@code topic} as {@code group} on a thread of its own, calling
     * {@code handler} for each message in queue order and committing what it handled. Starts at the
     * group's committed offsets, or at the earliest for queues it never committed. A handler that
     * throws gets the same message again after a pause (at-least-once).
     *
     * <p>Not a member of {@code group}: {@code group} only names the committed offsets. Two of these
     * with one group, in two processes, each read every message and commit over each other, where
     * RocketMQ's push consumer and Kafka's {@code subscribe} share the group's queues among its
     * members. To share a topic's queues, as {@code ferry consume --group} does, subscribe with a
     * {@link GroupConsumerConfig} ({@link #subscribe(GroupConsumerConfig, MessageHandler)}).
     */
    public Subscription subscribe(String topic, String group, MessageHandler handler) {
        return subscribe(ConsumerConfig.builder(topic, group).build(), handler);
    }

    /** As {@link #subscribe(String, String, MessageHandler)} with a full consumer configuration. */
    public Subscription subscribe(ConsumerConfig consumerConfig, MessageHandler handler) {
        checkOpen();
        return register(new Subscription(new Consumer(this, consumerConfig), handler));
    }

    /**
     * Closes every producer, consumer and subscription this client made, with their own
     * {@code close()}, then the connections and the event-loop threads. That can wait: a producer
     * flushes first, up to its delivery timeout when the broker is down (close it with
     * {@link Producer#close(java.time.Duration)} first to bound that), and a subscription waits for its
     * handler ({@link Subscription#close()}).
     *
     * @throws IllegalStateException on the client's event loop (in a callback of a future), where
     *     it would wait for that loop to end, for good; nothing is closed then
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (transport.inEventLoop()) {
            // it hung for good: the loop waited for its own shutdown, its producers left open and their senders blocked
            throw new IllegalStateException("close() from the client's event loop (a callback of a future) would wait for that loop "
                    + "to end; close from another thread");
        }
        closed = true;
        for (AutoCloseable c : List.copyOf(children)) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing the rest matters more
            }
        }
        synchronized (this) {
            if (admin != null) {
                admin.thenAccept(Connection::close);
            }
        }
        transport.close();
    }

    // ---- internals shared with Producer, Consumer -----------------------------------------------

    Transport transport() {
        return transport;
    }

    Codec codecInstance() {
        return codec;
    }

    void forget(AutoCloseable child) {
        children.remove(child);
    }

    private <T extends AutoCloseable> T register(T child) {
        children.add(child);
        return child;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("client closed");
        }
    }

    private synchronized CompletableFuture<Connection> adminConnection() {
        CompletableFuture<Connection> c = admin;
        if (c == null || (c.isDone() && (c.isCompletedExceptionally() || !c.join().isOpen()))) {
            c = Connection.open(transport, adminLoop, config, codec);
            admin = c;
        }
        return c;
    }

    private CompletableFuture<Command> requestAsync(Command.Builder b, String what) {
        checkOpen();
        return adminConnection().thenCompose(c -> c.request(b, config.requestTimeoutMs(), what));
    }

    private Command call(Command.Builder b, String what) {
        Command r = await(requestAsync(b, what), config.requestTimeoutMs() * 2, what);
        check(r, what);
        return r;
    }

    static void check(Command r, String what) {
        if (r.status() != Status.OK) {
            throw FerryException.broker(r.status(), what, r.message());
        }
    }

    static long number(Command r, String header) {
        String v = r.header(header);
        if (v == null) {
            throw new FerryException(FerryException.Reason.BROKER, Status.INTERNAL_ERROR, r.code() + " response: header "
                    + header + " missing", null);
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new FerryException(FerryException.Reason.BROKER, Status.INTERNAL_ERROR, r.code() + " response: header "
                    + header + ": '" + v + "' (expected: a decimal integer)", e);
        }
    }

    /**
     * Waits for {@code f}, which a connection of this client completes on its event loop. Refused
     * on one of the client's event loops (a callback of a send, nack or commit future): it would
     * wait for a loop that cannot run until it returns (with several I/O threads, for the one the
     * round-robin gave, so only sometimes), and fail after {@code timeoutMs} as a timeout that
     * says nothing of the cause.
     */
    <T> T await(CompletableFuture<T> f, long timeoutMs, String what) {
        if (!f.isDone() && transport.inEventLoop()) {
            throw new IllegalStateException(what + ": a blocking call on the client's event loop (in a callback of a send, nack or "
                    + "commit future) would wait for that loop itself; make it from another thread");
        }
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw unwrap(e);
        } catch (TimeoutException e) {
            throw FerryException.timeout(what + ": no answer within " + timeoutMs + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw FerryException.client(what + ": interrupted");
        }
    }

    static RuntimeException unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new FerryException(FerryException.Reason.CLIENT, null, t.toString(), t);
    }
}
