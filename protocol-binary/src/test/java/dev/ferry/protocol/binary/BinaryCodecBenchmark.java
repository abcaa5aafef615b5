package dev.ferry.protocol.binary;

import dev.ferry.protocol.CodecException;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.RequestCode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Rough throughput of the binary codec on the producer benchmark's shape: SEND_BATCH of 160
 * messages with 100-byte bodies, a short topic, one key and one property. Not a test (it measures
 * wall-clock time); run it by hand after a change to {@link BinaryWriter} or {@link BinaryReader}:
 * <pre>
 * java -cp protocol/target/classes:protocol-binary/target/classes:protocol-binary/target/test-classes \
 *     dev.ferry.protocol.binary.BinaryCodecBenchmark
 * </pre>
 * The target is well above 500,000 messages/s encoded on one core.
 */
public final class BinaryCodecBenchmark {
    private BinaryCodecBenchmark() {
    }

    public static void main(String[] args) throws CodecException {
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < 160; i++) {
            messages.add(Message.builder("bench-topic").keys(List.of("key-" + i)).properties(Map.of("p", "v"))
                    .bornTimestamp(System.currentTimeMillis()).body(new byte[100]).build());
        }
        Command batch = Command.request(RequestCode.SEND_BATCH, 1).messages(messages).build();
        BinaryCodec codec = new BinaryCodec();
        for (int round = 0; round < 5; round++) {
            int batches = 20_000;
            long t0 = System.nanoTime();
            long bytes = 0;
            for (int i = 0; i < batches; i++) {
                bytes += codec.encodeFrame(batch).remaining();
            }
            long t1 = System.nanoTime();
            ByteBuffer payload = codec.encode(batch);
            int decoded = 0;
            for (int i = 0; i < batches; i++) {
                decoded += codec.decode(payload, Limits.DEFAULT).messages().size();
            }
            long t2 = System.nanoTime();
            System.out.printf("round %d: encode %,.0f msgs/s (%,.0f MB/s), decode %,.0f msgs/s%n", round,
                    batches * 160 / ((t1 - t0) / 1e9), bytes / ((t1 - t0) / 1e9) / 1e6, decoded / ((t2 - t1) / 1e9));
        }
    }
}
