package dev.ferry.gateway;

import dev.ferry.broker.ProducerChannel;
import dev.ferry.broker.TransactionCheck;
import dev.ferry.broker.Transactions;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.RequestCode;
import dev.ferry.protocol.Status;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One connection seen as a transactional producer: the producer groups it registered (with
 * REGISTER_PRODUCER or SEND_HALF; at most {@value #MAX_GROUPS}, each named by the broker's rule)
 * and the way the broker's check thread reaches it, a one-way CHECK_TRANSACTION command written in
 * the connection's codec. When the connection closes it leaves its groups.
 *
 * <p><b>Thread safety.</b> Thread-safe: registering and closing hold the object's monitor (a
 * registration is counted against the limit and never outlives the close), Netty's channel writes
 * may come from any thread, and the codecs are stateless.
 */
final class ProducerConnection implements ProducerChannel {
    /**
     * Producer groups one connection may join. A producer serves one group, and a client that
     * shares a connection among a few; each group costs an entry in the broker's table of
     * producers, held until the connection closes.
     */
    static final int MAX_GROUPS = 16;

    private final Channel channel;
    private final Codec codec;
    private final Transactions transactions;
    /** Guarded by this. */
    private final Set<String> groups = new HashSet<>();
    /** Guarded by this. */
    private boolean closed;
    /** Request ids of the checks this connection was sent; the client does not answer one-way commands by id. */
    private final AtomicInteger ids = new AtomicInteger();

    ProducerConnection(Channel channel, Codec codec, Transactions transactions) {
        this.channel = channel;
        this.codec = codec;
        this.transactions = transactions;
    }

    /**
     * Joins {@code group} (once): BAD_REQUEST for a name outside the broker's rule, LIMIT_EXCEEDED
     * for a group beyond the {@value #MAX_GROUPS} this connection has joined; nothing is joined then.
     */
    synchronized void register(String group) {
        Transactions.checkProducerGroupName(group);
        if (closed || groups.contains(group)) {
            return;
        }
        if (groups.size() >= MAX_GROUPS) {
            throw new Requests.RequestException(Status.LIMIT_EXCEEDED, "producer groups: count " + (groups.size() + 1)
                    + " on this connection with '" + group + "' (expected: <= " + MAX_GROUPS + " per connection)");
        }
        transactions.registerProducer(group, this);
        groups.add(group);
    }

    /** Leaves every group; the connection closed. */
    synchronized void closed() {
        closed = true;
        for (String g : groups) {
            transactions.unregisterProducer(g, this);
        }
        groups.clear();
    }

    @Override
    public boolean isActive() {
        return channel.isActive();
    }

    @Override
    public boolean sendCheck(TransactionCheck check) {
        if (!channel.isActive() || !channel.isWritable()) {
            return false;
        }
        Command c = Command.builder().kind(Kind.ONEWAY).code(RequestCode.CHECK_TRANSACTION).requestId(ids.incrementAndGet())
                .header(Headers.PRODUCER_GROUP, check.producerGroup())
                .header(Headers.TRANSACTION_ID, check.transactionId())
                .header(Headers.CHECK_TIMES, check.checkTimes())
                .messages(List.of(MessageMapping.toWire(check.message())))
                .build();
        channel.writeAndFlush(Unpooled.wrappedBuffer(codec.encodeFrame(c)), channel.voidPromise());
        return true;
    }
}
