package dev.ferry.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Codecs;
import dev.ferry.protocol.Handshake;
import dev.ferry.protocol.HandshakeResult;
import dev.ferry.protocol.HelloReply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A refused handshake is answered once. The refusal closes the connection only when its reply
 * is written, and bytes can arrive before then; they were read as another hello, answered with
 * another BAD_HELLO and counted again. Over a socket the window is too short to hit on purpose,
 * so the reply's write is held here until the client's further bytes have been read.
 */
class HandshakeRefusalTest {

    /** Keeps every write pending, as a socket whose send buffer is full would. */
    static final class HeldWrites extends ChannelOutboundHandlerAdapter {
        final List<ByteBuf> written = new ArrayList<>();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            written.add((ByteBuf) msg);
        }
    }

    @Test
    void bytesAfterARefusedHelloAreDiscardedNotAnsweredAgain() throws CodecException {
        List<String> errors = new ArrayList<>();
        GatewayMetrics metrics = new GatewayMetrics() {
            @Override
            public void connectionError(String kind, String reason) {
                errors.add(kind + " " + reason);
            }
        };
        HeldWrites held = new HeldWrites();
        EmbeddedChannel ch = new EmbeddedChannel(held,
                new HandshakeHandler(Codecs.load(), metrics, 10_000, null, c -> null, c -> null));
        ch.writeInbound(Unpooled.wrappedBuffer("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)));
        ch.writeInbound(Unpooled.wrappedBuffer("Host: ferry\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'F', 'E', 'R', 'Y', 1, 1, 4, 'x', 'm', 'l'}));

        assertThat(held.written).as("one reply").hasSize(1);
        HelloReply reply = Handshake.decodeReply(held.written.get(0).nioBuffer());
        assertThat(reply.result()).isEqualTo(HandshakeResult.BAD_HELLO);
        assertThat(errors).containsExactly("handshake BAD_HELLO");
        held.written.forEach(ByteBuf::release);
        ch.finishAndReleaseAll();
    }
}
