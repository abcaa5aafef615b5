package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.TransactionConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Delayed messages, check-backs and retries over every codec. */
class CodecsTxDelayRetryTest {
    @TempDir
    Path dir;

    private static String text(Message m) {
        return StandardCharsets.UTF_8.decode(m.body().duplicate()).toString();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json", "hessian", "protobuf"})
    void everyCodec(String codec) throws Exception {
        TransactionConfig tx = TransactionConfig.builder().checkTimeoutMs(300).checkIntervalMs(300).maxChecks(5).build();
        GroupConfig groups = GroupConfig.builder().retryDelaysMs(List.of(300L)).build();
        try (BrokerFixture b = BrokerFixture.start(dir, UnaryOperator.identity(), UnaryOperator.identity(), groups, tx);
             FerryClient client = b.client(codec); Producer p = client.producer();
             TransactionProducer tp = client.transactionProducer("tx", (m, id) -> {
                 assertThat(m.msgId()).isEqualTo(id);
                 assertThat(m.properties()).containsEntry("p", "v");
                 assertThat(m.tags()).isEqualTo("t");
                 assertThat(m.keys()).containsExactly("k");
                 return TransactionState.COMMIT;
             })) {
            client.createTopic("d", 1);
            long at = System.currentTimeMillis() + 800;
            p.send(Message.builder("d").body("later".getBytes(StandardCharsets.UTF_8)).deliverAt(at).build());
            tp.sendInTransaction(Message.builder("d").body("tx".getBytes(StandardCharsets.UTF_8)).tags("t").keys(List.of("k"))
                    .properties(Map.of("p", "v")).build(), (m, id) -> TransactionState.UNKNOWN);
            List<Message> got = new ArrayList<>();
            try (GroupConsumer c = client.groupConsumer(GroupConsumerConfig.builder("d", "g").clientId("c1").heartbeatIntervalMs(50)
                    .maxWaitMs(100).build())) {
                long deadline = System.nanoTime() + 10_000_000_000L;
                boolean nacked = false;
                while (got.size() < 3 && System.nanoTime() < deadline) {
                    for (Message m : c.poll(Duration.ofMillis(50))) {
                        got.add(m);
                        if (text(m).equals("later")) {
                            assertThat(System.currentTimeMillis()).as("not before its time").isGreaterThanOrEqualTo(at);
                        }
                        if (text(m).equals("tx") && !nacked) {
                            nacked = true;
                            c.nack(m).join();
                        } else {
                            c.ack(m);
                        }
                    }
                }
            }
            assertThat(got).extracting(CodecsTxDelayRetryTest::text).containsExactlyInAnyOrder("later", "tx", "tx");
            Message retried = got.stream().filter(m -> m.topic().equals("%RETRY%g")).findFirst().orElseThrow();
            assertThat(retried.properties()).containsEntry("RECONSUME_TIMES", "1").containsEntry("ORIGIN_TOPIC", "d")
                    .containsEntry("p", "v");
            assertThat(retried.tags()).isEqualTo("t");
            assertThat(retried.keys()).containsExactly("k");
        }
    }
}
