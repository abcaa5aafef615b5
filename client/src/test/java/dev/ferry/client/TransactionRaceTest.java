package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.TransactionConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Transactions decided by concurrent requests, and decisions asked again after restarts. */
class TransactionRaceTest {
    private static final TransactionConfig NEVER = TransactionConfig.builder().checkTimeoutMs(600_000).build();

    @TempDir
    Path dir;

    private static Message message(String body) {
        return Message.builder("orders").body(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static Map<String, Integer> visible(FerryClient client, long settleMs) {
        Map<String, Integer> out = new HashMap<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder("orders", "reader-" + System.nanoTime()).build())) {
            long deadline = System.nanoTime() + settleMs * 1_000_000;
            do {
                c.poll(Duration.ofMillis(50)).forEach(m -> out.merge(StandardCharsets.UTF_8.decode(m.body()).toString(), 1, Integer::sum));
            } while (System.nanoTime() < deadline);
        }
        return out;
    }

    @Test
    void concurrentCommitsOfOneTransactionApplyOnce() throws Exception {
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client("binary");
             TransactionProducer p1 = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN);
             TransactionProducer p2 = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 2);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<String> errors = new ArrayList<>();
            AtomicInteger applied = new AtomicInteger();
            try {
                for (int i = 0; i < 100; i++) {
                    String id = p1.sendHalf(message("m-" + i));
                    CyclicBarrier go = new CyclicBarrier(2);
                    List<CompletableFuture<Optional<SendResult>>> fs = new ArrayList<>();
                    for (TransactionProducer p : List.of(p1, p2)) {
                        fs.add(CompletableFuture.supplyAsync(() -> {
                            try {
                                go.await();
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                            return p.commit(id);
                        }, pool));
                    }
                    for (CompletableFuture<Optional<SendResult>> f : fs) {
                        try {
                            if (f.join().isPresent()) {
                                applied.incrementAndGet();
                            }
                        } catch (RuntimeException e) {
                            errors.add(id + ": " + e);
                        }
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(errors).isEmpty();
            assertThat(applied.get()).isEqualTo(100);
            Map<String, Integer> seen = visible(client, 500);
            assertThat(seen).hasSize(100);
            assertThat(seen.values()).allMatch(n -> n == 1);
        }
    }

    @Test
    void decisionsAreAnsweredTheSameAfterRestarts() {
        List<String> committed = new ArrayList<>();
        List<String> rolledBack = new ArrayList<>();
        List<String> open = new ArrayList<>();
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client("binary");
             TransactionProducer p = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 2);
            for (int i = 0; i < 60; i++) {
                String id = p.sendHalf(message("m-" + i));
                if (i == 30) {
                    open.add(id); // holds the watermark at 30
                } else if (i % 3 == 0) {
                    rolledBack.add(id);
                    p.rollback(id);
                } else {
                    committed.add(id);
                    assertThat(p.commit(id)).isPresent();
                }
            }
            b.broker.store().flush();
            b.broker.transactions().checkNow();
            b.broker.store().flush();
            b.broker.transactions().checkNow();
        }
        for (int round = 0; round < 2; round++) {
            try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client("binary");
                 TransactionProducer p = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
                assertThat(b.broker.transactions().pending()).as("round %d", round).isEqualTo(round == 0 ? 1 : 0);
                for (String id : committed) {
                    assertThat(p.commit(id)).as("commit again of %s", id).isEmpty();
                }
                for (String id : rolledBack) {
                    p.rollback(id);
                }
                assertThat(p.commit(open.get(0)).isPresent()).as("round %d: the open one applies in round 0 only", round).isEqualTo(round == 0);
                b.broker.store().flush();
                b.broker.transactions().checkNow();
                b.broker.store().flush();
                b.broker.transactions().checkNow();
                Map<String, Integer> seen = visible(client, 300);
                assertThat(seen).hasSize(committed.size() + 1);
                assertThat(seen.values()).allMatch(n -> n == 1);
            }
        }
    }

    @Test
    void aProducerWhoseConnectionDroppedStillAnswersCheckBacksAndCommits() throws Exception {
        TransactionConfig checks = TransactionConfig.builder().checkTimeoutMs(1_500).checkIntervalMs(300).maxChecks(20).build();
        try (BrokerFixture b = BrokerFixture.start(dir, checks); TcpProxy proxy = new TcpProxy(b.port());
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(proxy.port()).requestTimeoutMs(5_000).build());
             TransactionProducer p = client.transactionProducer("tx", (m, id) ->
                     StandardCharsets.UTF_8.decode(m.body()).toString().equals("checked") ? TransactionState.COMMIT : TransactionState.UNKNOWN)) {
            client.createTopic("orders", 1);
            p.sendHalf(message("checked"));
            String later = p.sendHalf(message("committed-later"));
            proxy.dropConnections();
            Thread.sleep(200);
            assertThat(p.commit(later)).isPresent();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (b.broker.transactions().pending() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(b.broker.transactions().stats().discarded()).isZero();
            assertThat(b.broker.transactions().stats().committed()).isEqualTo(2);
        }
    }

    @Test
    void aCommitRacingARollbackIsDecidedOnceAndTheLoserHearsWhy() throws Exception {
        try (BrokerFixture b = BrokerFixture.start(dir, NEVER); FerryClient client = b.client("binary");
             TransactionProducer p1 = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN);
             TransactionProducer p2 = client.transactionProducer("tx", (m, id) -> TransactionState.UNKNOWN)) {
            client.createTopic("orders", 2);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<String> odd = new ArrayList<>();
            Map<String, Boolean> committed = new HashMap<>();
            try {
                for (int i = 0; i < 100; i++) {
                    String id = p1.sendHalf(message("m-" + i));
                    CyclicBarrier go = new CyclicBarrier(2);
                    CompletableFuture<Object> c = CompletableFuture.supplyAsync(() -> {
                        try {
                            go.await();
                            return p1.commit(id);
                        } catch (Exception e) {
                            return e;
                        }
                    }, pool);
                    CompletableFuture<Object> r = CompletableFuture.supplyAsync(() -> {
                        try {
                            go.await();
                            p2.rollback(id);
                            return "rolled back";
                        } catch (Exception e) {
                            return e;
                        }
                    }, pool);
                    Object co = c.join();
                    Object ro = r.join();
                    boolean commitWon = co instanceof Optional<?> o && o.isPresent();
                    boolean rollbackWon = "rolled back".equals(ro);
                    if (commitWon == rollbackWon) {
                        odd.add(id + ": commit " + co + ", rollback " + ro);
                    } else {
                        Object loser = commitWon ? ro : co;
                        if (!(loser instanceof FerryException fe) || fe.status().isEmpty()
                                || fe.status().get() != dev.ferry.protocol.Status.BAD_REQUEST || !fe.getMessage().contains("already")) {
                            odd.add(id + ": loser " + loser);
                        }
                    }
                    committed.put("m-" + i, commitWon);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(odd).isEmpty();
            Map<String, Integer> seen = visible(client, 500);
            assertThat(seen.keySet()).containsExactlyInAnyOrderElementsOf(
                    committed.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList());
        }
    }
}
