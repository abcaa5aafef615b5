package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Command;
import dev.ferry.protocol.Kind;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a fetched answer counts toward {@code maxBufferedBytesPerQueue}, the bound on what a
 * consumer holds for a caller that does not poll. The binary codec carries records in the body;
 * the JSON, Hessian and protobuf codecs carry them as messages with an empty body, and a 1 MiB
 * answer of theirs counted as about 1 KiB (64 bytes a message), so a slow poller kept fetching
 * thousands of answers a queue.
 */
class ConsumerBufferTest {
    @Test
    void messagesCountTheirBodiesAndBinaryRecordsTheBody() {
        Message m = Message.builder("t").queueId(0).body(new byte[1_000]).build();
        Command json = Command.builder().code(RequestCode.FETCH).kind(Kind.RESPONSE).messages(List.of(m, m, m)).build();
        assertThat(Consumer.bufferedBytes(json)).isEqualTo(3 * (1_000 + 64));

        Command binary = Command.builder().code(RequestCode.FETCH).kind(Kind.RESPONSE).body(new byte[5_000]).build();
        assertThat(Consumer.bufferedBytes(binary)).isEqualTo(5_000);
    }
}
