package dev.ferry.gateway;

import dev.ferry.broker.ProducerChannel;
import dev.ferry.broker.TransactionCheck;
import dev.ferry.broker.Transactions;
import dev.ferry.protocol.Codec;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.RequestCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One connection seen as a transactional producer: the producer groups it registered (with
 * REGISTER_PRODUCER or SEND_HALF) and the way the broker's check thread reaches it, a one-way
 * CHECK_TRANSACTION command written in the connection's codec. When the connection closes it
 * leaves its groups.
 *
 * <p><b>Thread safety.</b> Thread-safe: the group set is concurrent, Netty's channel writes may
 * come from any thread, and the codecs are stateless.
 */
final class ProducerConnection implements ProducerChannel {
    private final Channel channel;
    private final Codec codec;
    private final Transactions transactions;
    private final Set<String> groups = ConcurrentHashMap.newKeySet();
    /** Request ids of the checks this connection was sent; the client does not answer one-way commands by id. */
    private final AtomicInteger ids = new AtomicInteger();

    ProducerConnection(Channel channel, Codec codec, Transactions transactions) {
        this.channel = channel;
        this.codec = codec;
        this.transactions = transactions;
    }

    /** Joins {@code group} (once). */
    void register(String group) {
        if (groups.add(group)) {
            transactions.registerProducer(group, this);
        }
    }

    /** Leaves every group; the connection closed. */
    void closed() {
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
