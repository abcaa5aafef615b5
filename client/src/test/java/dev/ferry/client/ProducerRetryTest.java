package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The producer's retries: on BUSY from a gateway shedding load, and across a lost connection. */
class ProducerRetryTest {
    @TempDir
    Path dir;

    /** A broker whose gateway answers BUSY while more than 1 byte is unflushed, until the flusher (every 5 ms) catches up. */
    private BrokerFixture busyBroker() {
        return BrokerFixture.start(dir, l -> l.flushIntervalMs(5).flushMinDirtyPages(1), g -> g.maxUnflushedBytes(1));
    }

    @Test
    void busyBatchesAreResentUntilStored() {
        try (BrokerFixture server = busyBroker();
             FerryClient client = server.client("binary")) {
            client.createTopic("busy", 2);
            ProducerConfig config = ProducerConfig.builder().batchSizeBytes(2048).lingerMs(0).maxInFlight(4).retries(1_000)
                    .retryBackoffMs(1).maxRetryBackoffMs(20).build();
            List<CompletableFuture<SendResult>> acks = new ArrayList<>();
            try (Producer producer = client.producer(config)) {
                for (int i = 0; i < 300; i++) {
                    acks.add(producer.sendAsync("busy", ("m" + i).getBytes()));
                }
                producer.flush();
                assertThat(producer.resends()).as("batches resent after BUSY").isPositive();
            }
            acks.forEach(a -> assertThat(a).isCompleted());
            long stored = 0;
            for (int q = 0; q < 2; q++) {
                stored += client.queueOffsets("busy", q).maxOffset();
            }
            assertThat(stored).as("each message stored exactly once").isEqualTo(300);
        }
    }

    /**
     * With one batch in flight, a batch resent after BUSY is not overtaken by the queue's next
     * batch: the queue holds the messages in the order they were sent. Before, the next batch went
     * out while the first one backed off, and landed before it.
     */
    @Test
    void withOneInFlightResentBatchesKeepTheQueuesOrder() {
        try (BrokerFixture server = busyBroker();
             FerryClient client = server.client("binary")) {
            client.createTopic("ordered", 1);
            ProducerConfig config = ProducerConfig.builder().batchSizeBytes(256).lingerMs(0).maxInFlight(1).retries(1_000)
                    .retryBackoffMs(5).maxRetryBackoffMs(20).build();
            try (Producer producer = client.producer(config)) {
                for (int i = 0; i < 300; i++) {
                    producer.sendAsync(Message.builder("ordered").queueId(0).body(Integer.toString(i).getBytes()).build());
                }
                producer.flush();
                assertThat(producer.resends()).as("batches resent after BUSY").isPositive();
            }
            List<String> stored = server.broker.store().readMessages("ordered", 0, 0, 1_000).stream()
                    .map(m -> new String(m.body())).toList();
            List<String> sent = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                sent.add(Integer.toString(i));
            }
            assertThat(stored).containsExactlyElementsOf(sent);
        }
    }

    /**
     * A batch's buffer space is reserved at once: one bigger than the buffer is refused as such,
     * and a refusal leaves nothing reserved (before, the records reserved before the one that did
     * not fit stayed counted, and flush() and close() waited for them for good).
     */
    @Test
    void aBatchIsReservedWholeOrNotAtAll() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("whole", 1);
            ProducerConfig config = ProducerConfig.builder().batchSizeBytes(4096).bufferBytes(4096).maxBlockMs(200).lingerMs(0).build();
            try (Producer producer = client.producer(config)) {
                List<Message> big = new ArrayList<>();
                for (int i = 0; i < 60; i++) {
                    big.add(Message.builder("whole").queueId(0).body(new byte[100]).build());
                }
                assertThatThrownBy(() -> producer.sendBatch(big)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("bufferBytes 4096");
                assertThat(producer.flush(java.time.Duration.ofSeconds(5))).as("nothing left reserved").isTrue();
                assertThat(producer.sendBatch(big.subList(0, 10)).join()).hasSize(10);
            }
        }
    }

    /**
     * A batch holds at most the 4,096 messages the broker's store takes in one SEND_BATCH: 6,000
     * small messages of one queue, flushed at once, go as two batches and are all stored; sendBatch
     * refuses 4,097. Before, the producer sent all 6,000 as one batch (up to the protocol's 10,000 a
     * command), and the broker refused it with LIMIT_EXCEEDED, not retried.
     */
    @Test
    void batchesHoldAtMostWhatTheBrokerStoresInOne() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("many", 1);
            ProducerConfig config = ProducerConfig.builder().batchSizeBytes(1 << 20).lingerMs(60_000).build();
            try (Producer producer = client.producer(config)) {
                List<CompletableFuture<SendResult>> acks = new ArrayList<>();
                for (int i = 0; i < 6_000; i++) {
                    acks.add(producer.sendAsync(Message.builder("many").queueId(0).body(new byte[10]).build()));
                }
                producer.flush();
                acks.forEach(a -> assertThat(a).isCompleted().isNotCompletedExceptionally());

                List<Message> tooMany = new ArrayList<>();
                for (int i = 0; i < 4_097; i++) {
                    tooMany.add(Message.builder("many").queueId(0).body(new byte[10]).build());
                }
                assertThatThrownBy(() -> producer.sendBatch(tooMany)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("count 4097 (expected: 1..4096)");
                assertThat(producer.sendBatch(tooMany.subList(0, 4_096)).join()).hasSize(4_096);
            }
            assertThat(client.queueOffsets("many", 0).maxOffset()).isEqualTo(6_000 + 4_096);
        }
    }

    /**
     * close(timeout) fails a batch that is waiting out its backoff after a BUSY: it is in no queue
     * then, only in a scheduled resend. Before, close() missed it: its future stayed pending until
     * the backoff ended (30 s here), and for good if the client closed meanwhile.
     */
    @Test
    void closeFailsABatchWaitingToBeResent() {
        // the background flusher never runs: once a send is stored, every later one is answered BUSY
        try (BrokerFixture server = BrokerFixture.start(dir, l -> l.flushIntervalMs(3_600_000), g -> g.maxUnflushedBytes(1));
             FerryClient client = server.client("binary")) {
            client.createTopic("backoff", 1);
            Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).retries(1_000).retryBackoffMs(30_000)
                    .maxRetryBackoffMs(30_000).deliveryTimeoutMs(600_000).build());
            CompletableFuture<SendResult> waiting = null;
            for (int i = 0; i < 20 && producer.resends() == 0; i++) { // one at a time, until one is answered BUSY
                CompletableFuture<SendResult> sent = producer.sendAsync("backoff", ("m" + i).getBytes());
                ConsumerGroupTest.await("stored or answered BUSY", Duration.ofSeconds(10), () -> sent.isDone() || producer.resends() > 0);
                waiting = sent;
            }
            assertThat(producer.resends()).as("a send answered BUSY").isPositive();
            assertThat(waiting).as("waiting to be resent").isNotDone();
            assertThat(producer.close(Duration.ofMillis(100))).as("not flushed").isFalse();
            assertThat(waiting).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(FerryException.class).withMessageContaining("producer closed");
        }
    }

    /**
     * A delayed message has no queue offset until it is due; the messages sent around it keep
     * consecutive offsets. Before, a delayed message shared a batch with them, and the offsets
     * counted from the batch's first were off by one after it (or started at -1).
     */
    @Test
    void delayedMessagesDoNotShiftTheOffsetsOfOthers() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("mixed", 1);
            try (Producer producer = client.producer(ProducerConfig.builder().lingerMs(100).build())) {
                CompletableFuture<SendResult> n1 = producer.sendAsync(Message.builder("mixed").queueId(0).body("n1".getBytes()).build());
                CompletableFuture<SendResult> d = producer.sendAsync(Message.builder("mixed").queueId(0).body("d".getBytes())
                        .deliverAt(System.currentTimeMillis() + 60_000).build());
                CompletableFuture<SendResult> n2 = producer.sendAsync(Message.builder("mixed").queueId(0).body("n2".getBytes()).build());
                producer.flush();
                assertThat(n1.join().queueOffset()).isZero();
                assertThat(n2.join().queueOffset()).isEqualTo(1);
                assertThat(d.join().queueOffset()).as("not in its queue yet").isEqualTo(-1);
            }
        }
    }

    /**
     * Sends that cannot be encoded (a tag over the binary codec's 65,535 bytes) fail alone: a
     * one-way send gives its buffer space back (before, its space stayed counted and flush()
     * waited for good), and the batches sent after a failed one are stored once each. (A batch
     * queued behind a failed one in the same drain could be sent twice by the re-entrant drain;
     * this test does not reach that interleaving reliably: the drain usually runs between the two
     * sendBatch calls.) Such a tag is over the protocol's tags limit too, so since the producer
     * checks messages against the limits (SendLimits) both calls throw before anything is queued.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60) // a space left counted makes close() wait for good
    void sendsThatCannotBeEncodedFailAloneAndLeaveNothingBehind() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary")) {
            client.createTopic("bad", 1);
            String hugeTag = "t".repeat(70_000);
            try (Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).build())) {
                assertThatThrownBy(() -> producer.sendOneway(Message.builder("bad").queueId(0).tags(hugeTag).body(new byte[1]).build()))
                        .isInstanceOf(IllegalArgumentException.class);
                assertThat(producer.flush(java.time.Duration.ofSeconds(5))).as("the one-way send's space given back").isTrue();

                assertThatThrownBy(() -> producer.sendBatch(List.of(Message.builder("bad").queueId(0).tags(hugeTag).body(new byte[1])
                        .build()))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tags");
                CompletableFuture<List<SendResult>> good = producer.sendBatch(List.of(Message.builder("bad").queueId(0).body("ok".getBytes())
                        .build()));
                assertThat(good.join()).hasSize(1);
                assertThat(producer.sendBatch(List.of(Message.builder("bad").queueId(0).body("next".getBytes()).build())).join())
                        .as("the queue is not held back").hasSize(1);
            }
            assertThat(client.queueOffsets("bad", 0).maxOffset()).as("each good batch stored once").isEqualTo(2);
        }
    }

    @Test
    void withoutRetriesBusyFailsTheSend() {
        try (BrokerFixture server = BrokerFixture.start(dir, g -> g.maxUnflushedBytes(1));
             FerryClient client = server.client("binary");
             Producer producer = client.producer(ProducerConfig.builder().retries(0).lingerMs(0).build())) {
            client.createTopic("busy0", 1);
            FerryException last = null;
            for (int i = 0; i < 50 && last == null; i++) {
                try {
                    producer.send(Message.builder("busy0").body(new byte[100]).build());
                } catch (FerryException e) {
                    last = e;
                }
            }
            assertThat(last).as("some send was answered BUSY").isNotNull();
            assertThat(last.status()).contains(Status.BUSY);
            assertThat(last.retryable()).isTrue();
        }
    }

    @Test
    void sendsSurviveAGatewayRestartOnTheSamePort() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).retryBackoffMs(10).build())) {
            client.createTopic("restart", 1);
            producer.send("restart", "before".getBytes());
            int port = server.port();
            server.gateway.close();
            // sent while the gateway is down: waits in the producer until it reconnects
            CompletableFuture<SendResult> during = producer.sendAsync("restart", "during".getBytes());
            Thread.sleep(100);
            try (Gateway again = Gateway.start(server.broker, GatewayConfig.builder().host("127.0.0.1").port(port).build())) {
                SendResult r = during.get(20, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.queueOffset()).isEqualTo(1);
                assertThat(producer.send("restart", "after".getBytes()).queueOffset()).isEqualTo(2);
            }
        }
    }

    /**
     * The first send to a topic the producer has not described yet, made while the broker is down
     * (restarting): it threw a connection FerryException at once, while a send to a topic the
     * producer knew was buffered and delivered once the broker was back.
     */
    @Test
    void aFirstSendToATopicWhileTheGatewayIsDownIsDeliveredOnceItIsBack() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer(ProducerConfig.builder().lingerMs(0).retryBackoffMs(10).build());
             Producer impatient = client.producer(ProducerConfig.builder().maxBlockMs(200).build())) {
            client.createTopic("keyed", 2);
            int port = server.port();
            server.gateway.close();
            CompletableFuture<SendResult> fresh = producer.sendAsync("fresh", "during".getBytes());
            assertThatThrownBy(() -> impatient.send(Message.builder("keyed").body("k".getBytes()).build(), "order-2"))
                    .as("a keyed send that waits no longer than maxBlockMs").isInstanceOf(FerryException.class)
                    .hasMessageContaining("describe topic keyed").hasMessageContaining("maxBlockMs 200");
            CompletableFuture<SendResult> keyed = new CompletableFuture<>();
            Thread sender = new Thread(() -> {
                try {
                    keyed.complete(producer.send(Message.builder("keyed").body("k".getBytes()).build(), "order-1"));
                } catch (Throwable t) {
                    keyed.completeExceptionally(t);
                }
            }, "keyed-sender");
            sender.start();
            // the keyed send finds the broker down and waits for it (on the description asked for, or between two asks):
            // before the broker is back, so that it is the wait that is tested
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (sender.getState() != Thread.State.TIMED_WAITING && !keyed.isDone() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(keyed).as("a keyed send to an undescribed topic, the broker down").isNotDone();
            try (Gateway again = Gateway.start(server.broker, GatewayConfig.builder().host("127.0.0.1").port(port).build())) {
                assertThat(fresh.get(20, java.util.concurrent.TimeUnit.SECONDS).topic()).isEqualTo("fresh");
                assertThat(keyed.get(20, java.util.concurrent.TimeUnit.SECONDS).topic()).isEqualTo("keyed");
                assertThat(client.queueOffsets("fresh", fresh.get().queueId()).maxOffset()).isEqualTo(1);
            }
            // the gateway down again: a closed producer says so, not that the broker cannot be reached
            producer.close(Duration.ofSeconds(5));
            assertThatThrownBy(() -> producer.sendAsync("fresh-after-close", "late".getBytes()))
                    .isInstanceOf(IllegalStateException.class).hasMessage("producer closed");
        }
    }

    @Test
    void badInputIsNamed() {
        assertThatThrownBy(() -> ClientConfig.builder().server("nohost").build()).hasMessageContaining("server");
        assertThatThrownBy(() -> ClientConfig.builder().port(0).build()).hasMessageContaining("port: 0");
        assertThatThrownBy(() -> ProducerConfig.builder().maxInFlight(0).build()).hasMessageContaining("maxInFlight: 0");
        assertThatThrownBy(() -> ConsumerConfig.builder("", "g").build()).hasMessageContaining("topic");
        // a null topic was a NullPointerException without a message, thrown by List.of or List.copyOf
        assertThatThrownBy(() -> GroupConsumerConfig.builder((String) null, "g").build()).hasMessageContaining("topic: null");
        assertThatThrownBy(() -> GroupConsumerConfig.builder(java.util.Arrays.asList("a", null), "g").build())
                .hasMessageContaining("topic: null");
        try (BrokerFixture server = BrokerFixture.start(dir)) {
            assertThatThrownBy(() -> server.client("xml")).hasMessageContaining("codec: 'xml'");
        }
    }
}
