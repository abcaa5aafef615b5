package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.TransactionConfig;
import dev.ferry.broker.Transactions;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Transactional messages end to end, through a real gateway on a real socket and the real Java
 * client, over the binary and the json codec: commit, rollback, check-back answering either way,
 * the check limit, and broker restarts between half and commit.
 */
class TransactionTest {
    /** Checks come quickly: 300 ms after the half, then every 300 ms, 3 at most. */
    private static final TransactionConfig FAST = TransactionConfig.builder().checkTimeoutMs(300).checkIntervalMs(300).maxChecks(3).build();
    /** No check comes within a test. */
    private static final TransactionConfig NEVER = TransactionConfig.builder().checkTimeoutMs(600_000).build();

    @TempDir
    Path dir;

    private static Message message(String topic, String body) {
        return Message.builder(topic).body(body.getBytes(StandardCharsets.UTF_8)).keys(List.of("k-" + body)).tags("t")
                .properties(Map.of("p", "v")).build();
    }

    private static String text(Message m) {
        return StandardCharsets.UTF_8.decode(m.body()).toString();
    }

    /** Every message of {@code topic} readable now (from the earliest), after waiting {@code settleMs} for late arrivals. */
    private static List<Message> visible(FerryClient client, String topic, long settleMs) {
        List<Message> out = new ArrayList<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder(topic, "reader-" + System.nanoTime()).build())) {
            long deadline = System.nanoTime() + settleMs * 1_000_000;
            do {
                out.addAll(c.poll(Duration.ofMillis(50)));
            } while (System.nanoTime() < deadline);
        }
        return out;
    }

    private static void await(BooleanSupplier condition, long ms, String what) {
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + ms + " ms: " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void committedIsVisibleOnceAndRolledBackNever(String codec) {
        try (BrokerFixture b = BrokerFixture.start(dir, FAST); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx-" + codec, (m, id) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 2);
            TransactionResult ok = p.sendInTransaction(message("orders", "yes"), (m, id) -> {
                assertThat(visible(client, "orders", 0)).as("half message visible before the commit").isEmpty();
                return TransactionState.COMMIT;
            });
            TransactionResult no = p.sendInTransaction(message("orders", "no"), (m, id) -> TransactionState.ROLLBACK);
            assertThat(ok.state()).isEqualTo(TransactionState.COMMIT);
            assertThat(ok.committed()).isPresent();
            assertThat(no.committed()).isEmpty();

            assertThat(p.commit(ok.transactionId())).as("second commit applies nothing").isEmpty();
            p.rollback(no.transactionId()); // idempotent
            assertThatThrownBy(() -> p.rollback(ok.transactionId())).isInstanceOf(FerryException.class)
                    .hasMessageContaining("already committed");
            assertThatThrownBy(() -> p.commit(no.transactionId())).isInstanceOf(FerryException.class)
                    .hasMessageContaining("already rolled back");

            List<Message> got = visible(client, "orders", 900); // past the check timeout: no check-back resurrects anything
            assertThat(got).extracting(TransactionTest::text).containsExactly("yes");
            Message m = got.get(0);
            assertThat(m.properties()).containsEntry("p", "v").containsEntry(Transactions.TX_ID, ok.transactionId());
            assertThat(m.keys()).containsExactly("k-yes");
            assertThat(m.tags()).isEqualTo("t");
            assertThat(m.msgId()).isEqualTo(ok.committed().get().msgId());
            assertThat(b.broker.transactions().pending()).isZero();
            assertThat(b.broker.transactions().stats().checksSent()).isZero();
            // nor can a query reach the half messages (the transaction id is the half message's id)
            assertThat(client.queryById(no.transactionId())).as("rolled-back half by id").isEmpty();
            assertThat(client.queryById(ok.transactionId())).as("committed half by id").isEmpty();
            assertThat(client.queryByKey(Transactions.HALF_TOPIC, "k-no", 10)).as("half by key").isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void unknownIsDecidedByTheCheckBack(String codec) {
        Map<String, Integer> checked = new ConcurrentHashMap<>();
        TransactionChecker checker = (m, id) -> {
            checked.merge(text(m), 1, Integer::sum);
            assertThat(m.topic()).isEqualTo("orders");
            assertThat(m.properties()).containsEntry("p", "v").doesNotContainKey("%PGROUP");
            return text(m).equals("commit-me") ? TransactionState.COMMIT : TransactionState.ROLLBACK;
        };
        try (BrokerFixture b = BrokerFixture.start(dir, FAST); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx-" + codec, checker)) {
            client.createTopic("orders", 2);
            TransactionResult a = p.sendInTransaction(message("orders", "commit-me"), (m, id) -> TransactionState.UNKNOWN);
            TransactionResult r = p.sendInTransaction(message("orders", "roll-me-back"), (m, id) -> {
                throw new IllegalStateException("local transaction failed");
            });
            assertThat(a.state()).isEqualTo(TransactionState.UNKNOWN);
            assertThat(r.localFailure()).isPresent();
            await(() -> b.broker.transactions().pending() == 0, 5_000, "both decided by check-back");
            assertThat(checked).containsEntry("commit-me", 1).containsEntry("roll-me-back", 1);
            assertThat(visible(client, "orders", 500)).extracting(TransactionTest::text).containsExactly("commit-me");
            assertThat(p.commit(a.transactionId())).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void checkLimitRollsBack(String codec) {
        AtomicInteger checks = new AtomicInteger();
        try (BrokerFixture b = BrokerFixture.start(dir, FAST); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx-" + codec, (m, id) -> {
                 checks.incrementAndGet();
                 return TransactionState.UNKNOWN;
             })) {
            client.createTopic("orders", 1);
            String id = p.sendHalf(message("orders", "never"));
            await(() -> b.broker.transactions().stats().discarded() == 1, 5_000, "discarded after 3 checks");
            assertThat(checks.get()).isEqualTo(3);
            assertThat(b.broker.transactions().pending()).isZero();
            assertThatThrownBy(() -> p.commit(id)).isInstanceOf(FerryException.class).hasMessageContaining("already rolled back");
            assertThat(visible(client, "orders", 300)).isEmpty();
        }
    }

    /**
     * A half message that retention deleted before any decision is rolled back at its next check
     * (there is nothing left to ask the producer about), not at the check limit; a commit then
     * finds nothing to commit. 64 KiB segments, the log kept under 128 KiB: 400 other messages of
     * 1 KiB push the half message's segment out.
     */
    @Test
    void aHalfMessageRetentionDeletedIsRolledBack() {
        // 200 checks (a minute): the limit must not come before the 400 sends, which took over the 3 s of 10 checks once on a loaded machine
        TransactionConfig checks = TransactionConfig.builder().checkTimeoutMs(1_000).checkIntervalMs(300).maxChecks(200).build();
        try (BrokerFixture b = BrokerFixture.start(dir, log -> log.segmentBytes(64 * 1024).retentionBytes(128 * 1024)
                        .retentionCheckIntervalMs(3_600_000), UnaryOperator.identity(), GroupConfig.defaults(), checks);
             FerryClient client = b.client("binary");
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.UNKNOWN);
             Producer bulk = client.producer()) {
            client.createTopic("orders", 1);
            client.createTopic("bulk", 1);
            String id = p.sendHalf(message("orders", "lost"));
            Random random = new Random(7);
            for (int i = 0; i < 400; i++) {
                byte[] body = new byte[1024];
                random.nextBytes(body);
                bulk.send(Message.builder("bulk").body(body).build()); // one by one: a client batch would not fit a 64 KiB segment
            }
            b.broker.store().flush(); // retention deletes only flushed segments
            assertThat(b.broker.store().runRetention()).as("segments retention deleted").isPositive();
            assertThat(b.broker.store().readMessage(Transactions.HALF_TOPIC, 0, 0)).as("the half message after retention").isEmpty();

            await(() -> b.broker.transactions().stats().rolledBack() == 1, 10_000, "rolled back once its half message was gone");
            assertThat(b.broker.transactions().stats().discarded()).as("rolled back by the check limit").isZero();
            assertThat(b.broker.transactions().stats().committed()).isZero();
            assertThat(b.broker.transactions().pending()).isZero();
            assertThatThrownBy(() -> p.commit(id)).as("a commit of the deleted half message").isInstanceOf(FerryException.class)
                    .hasMessageContaining("NOT_FOUND");
            assertThat(visible(client, "orders", 300)).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void commitAfterARestartIsAppliedOnce(String codec) {
        String id;
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 2);
            id = p.sendHalf(message("orders", "across"));
            String other = p.sendHalf(message("orders", "other"));
            p.rollback(other);
        }
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.UNKNOWN)) {
            assertThat(b.broker.transactions().pending()).as("the half survived, the rolled back one is decided").isEqualTo(1);
            Optional<SendResult> r = p.commit(id);
            assertThat(r).isPresent();
            assertThat(p.commit(id)).isEmpty();
            assertThat(visible(client, "orders", 200)).extracting(TransactionTest::text).containsExactly("across");
        }
        try (BrokerFixture b = BrokerFixture.start(dir, FAST); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.COMMIT)) {
            assertThat(b.broker.transactions().pending()).isZero();
            assertThat(p.commit(id)).as("decided before the second restart").isEmpty();
            assertThat(visible(client, "orders", 700)).extracting(TransactionTest::text).containsExactly("across");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void undecidedHalfIsCheckedAfterARestart(String codec) {
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 2);
            p.sendInTransaction(message("orders", "late"), (m, i) -> TransactionState.UNKNOWN);
        }
        try (BrokerFixture b = BrokerFixture.start(dir, FAST); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.COMMIT)) {
            await(() -> b.broker.transactions().pending() == 0, 5_000, "checked back after the restart");
            assertThat(visible(client, "orders", 300)).extracting(TransactionTest::text).containsExactly("late");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"binary", "json"})
    void badEndsAreClearErrors(String codec) {
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client(codec);
             TransactionProducer p = client.transactionProducer("tx", (m, i) -> TransactionState.UNKNOWN);
             TransactionProducer other = client.transactionProducer("other", (m, i) -> TransactionState.UNKNOWN)) {
            String id = p.sendHalf(message("orders", "x"));
            assertThatThrownBy(() -> p.commit("0000000000FFFFFF")).isInstanceOf(FerryException.class)
                    .satisfies(e -> assertThat(((FerryException) e).status()).contains(Status.NOT_FOUND))
                    .hasMessageContaining("no half message with this id");
            assertThatThrownBy(() -> p.commit("not-an-id")).isInstanceOf(FerryException.class)
                    .satisfies(e -> assertThat(((FerryException) e).status()).contains(Status.BAD_REQUEST))
                    .hasMessageContaining("expected: 16 hex digits");
            assertThatThrownBy(() -> other.commit(id)).isInstanceOf(FerryException.class)
                    .hasMessageContaining("producerGroup 'other' (expected: 'tx'");
            assertThatThrownBy(() -> p.sendHalf(message("%TRANS_HALF%", "x"))).isInstanceOf(FerryException.class)
                    .hasMessageContaining("not an internal topic");
            assertThat(p.commit(id)).isPresent();
        }
    }
}
