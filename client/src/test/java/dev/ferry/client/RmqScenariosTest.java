package dev.ferry.client;

import static dev.ferry.client.ConsumerGroupTest.await;
import static dev.ferry.client.ConsumerGroupTest.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.TransactionConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenarios written from an Apache RocketMQ user's expectations, end to end (real broker, gateway
 * and client on a real socket): orderly consumption across members leaving and joining mid-batch,
 * in-place retries then the dead-letter topic, filters with retries, delayed messages across a
 * restart before their time, transaction check-backs answered by another producer of the group,
 * broadcasting members joining late, and batches of mixed queues.
 */
class RmqScenariosTest {
    @TempDir
    Path dir;

    private static GroupConsumerConfig.Builder member(String topic, String group, String clientId) {
        return GroupConsumerConfig.builder(topic, group).clientId(clientId).heartbeatIntervalMs(50).maxWaitMs(200).retryBackoffMs(50);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---- orderly ---------------------------------------------------------------------------------

    /**
     * Members with slow handlers (each holding a batch of a queue in hand) join and leave: a queue
     * is never handled by two members at once, and each queue's messages are handled in offset
     * order (a message handled again is only ever the next one after the last acked).
     */
    @Test
    void anOrderlyQueueIsNeverHandledByTwoMembersAtOnceNorOutOfOrderAcrossJoinsAndLeavesMidBatch() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer(ProducerConfig.builder().maxInFlight(1).build())) {
            client.createTopic("oq", 4);
            int perQueue = 150;
            for (int i = 0; i < perQueue; i++) {
                for (int q = 0; q < 4; q++) {
                    p.sendAsync(Message.builder("oq").queueId(q).body(utf8(q + ":" + i)).build());
                }
            }
            p.flush();
            Map<Integer, String> active = new ConcurrentHashMap<>();
            List<String> overlaps = new CopyOnWriteArrayList<>();
            List<String[]> log = Collections.synchronizedList(new ArrayList<>()); // queue, offset, member
            List<Subscription> members = new ArrayList<>();
            java.util.function.Function<String, MessageHandler> handler = name -> m -> {
                String other = active.putIfAbsent(m.queueId(), name);
                if (other != null) {
                    overlaps.add("queue " + m.queueId() + "@" + m.queueOffset() + " by " + name + " while " + other + " handles it");
                }
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                log.add(new String[] {Integer.toString(m.queueId()), Long.toString(m.queueOffset()), name});
                if (other == null) {
                    active.remove(m.queueId(), name);
                }
            };
            members.add(client.subscribe(member("oq", "og", "o1").orderly(true).build(), handler.apply("o1")));
            await("o1 handles some", Duration.ofSeconds(10), () -> log.size() >= 60);
            members.add(client.subscribe(member("oq", "og", "o2").orderly(true).build(), handler.apply("o2")));
            await("o2 handles some", Duration.ofSeconds(10), () -> {
                synchronized (log) {
                    return log.stream().anyMatch(e -> e[2].equals("o2"));
                }
            });
            members.add(client.subscribe(member("oq", "og", "o3").orderly(true).build(), handler.apply("o3")));
            await("more handled", Duration.ofSeconds(10), () -> log.size() >= 250);
            members.get(0).close(); // o1 leaves in the middle of a batch
            await("more handled after o1 left", Duration.ofSeconds(10), () -> log.size() >= 350);
            members.get(1).close();
            await("every message handled", Duration.ofSeconds(30), () -> {
                synchronized (log) {
                    return log.stream().map(e -> e[0] + "@" + e[1]).distinct().count() == 4L * perQueue;
                }
            });
            members.get(2).close();
            assertThat(overlaps).as("a queue handled by two members at once").isEmpty();
            Map<String, Long> last = new HashMap<>();
            synchronized (log) {
                for (String[] e : log) {
                    long offset = Long.parseLong(e[1]);
                    Long before = last.put(e[0], offset);
                    assertThat(before == null ? -1 : before).as("queue %s: offset %d by %s after %s", e[0], offset, e[2], before)
                            .isLessThan(offset);
                }
            }
        }
    }

    /**
     * Orderly: a failing message is retried in place (the queue waits: nothing after it is
     * handled before it is given up), then moved to the dead-letter topic, never to the retry
     * topic; the queue then goes on in order. The dead letter can be read by another group.
     */
    @Test
    void anOrderlyFailureIsRetriedInPlaceThenDeadLetteredAndTheQueueGoesOnInOrder() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer(ProducerConfig.builder().maxInFlight(1).build())) {
            client.createTopic("of", 1);
            for (int i = 0; i < 10; i++) {
                p.send(Message.builder("of").body(utf8("m" + i)).properties(Map.of("seq", Integer.toString(i))).build());
            }
            List<String> handled = new CopyOnWriteArrayList<>();
            Subscription s = client.subscribe(member("of", "ofg", "f1").orderly(true).maxReconsumeTimes(2).build(), m -> {
                handled.add(text(m));
                if (text(m).equals("m3")) {
                    throw new IllegalStateException("m3 always fails");
                }
            });
            await("all handled", Duration.ofSeconds(10), () -> handled.contains("m9"));
            s.close();
            assertThat(handled).containsExactly("m0", "m1", "m2", "m3", "m3", "m3", "m4", "m5", "m6", "m7", "m8", "m9");
            await("dead letter", Duration.ofSeconds(5), () -> client.describeTopic("%DLQ%ofg").isPresent()
                    && client.queueOffsets("%DLQ%ofg", 0).maxOffset() == 1);
            assertThat(client.describeTopic("%RETRY%ofg").map(t -> client.queueOffsets("%RETRY%ofg", 0).maxOffset()).orElse(0L))
                    .as("nothing in the retry topic").isZero();
            assertThat(client.committedOffset("ofg", "of", 0)).hasValue(10);
            try (GroupConsumer dlq = client.groupConsumer(member("%DLQ%ofg", "ops", "d1").build())) {
                List<Message> dead = new ArrayList<>();
                await("dead letter read by a group", Duration.ofSeconds(10), () -> {
                    dead.addAll(dlq.poll(Duration.ofMillis(50)));
                    return !dead.isEmpty();
                });
                assertThat(dead).hasSize(1);
                assertThat(text(dead.get(0))).isEqualTo("m3");
                assertThat(dead.get(0).properties()).containsEntry("seq", "3").containsEntry("ORIGIN_TOPIC", "of")
                        .containsEntry("RECONSUME_TIMES", "3");
                dlq.ack(dead.get(0));
                await("dlq group committed", Duration.ofSeconds(5), () -> client.committedOffset("ops", "%DLQ%ofg", 0).orElse(-1) == 1);
            }
        }
    }

    // ---- retries, dead letters, filters ---------------------------------------------------------

    /**
     * A clustering member with a SQL filter (NULLs, IN, BETWEEN, strings and numbers) fails each
     * matching message once: the retry copy still matches, comes back once, and nothing that did
     * not match is ever delivered, from either topic. Tags likewise.
     */
    @Test
    void aFilteredMembersRetryCopiesStillMatchAndNothingElseComes() {
        GroupConfig groups = GroupConfig.builder().retryDelaysMs(List.of(100L)).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FerryClient client = server.client("binary");
             Producer p = client.producer()) {
            client.createTopic("ft", 2);
            // name, properties, tags
            List<Object[]> sent = List.of(
                    new Object[] {"eu-big", Map.of("region", "eu", "amount", "150"), "A"},
                    new Object[] {"us-mid", Map.of("region", "us", "amount", "50.0"), "B"},
                    new Object[] {"eu-text", Map.of("region", "eu", "amount", "lots"), "A"},
                    new Object[] {"no-region", Map.of("amount", "75"), "A"},
                    new Object[] {"asia", Map.of("region", "asia", "amount", "75"), "C"},
                    new Object[] {"eu-none", Map.of("region", "eu"), "B"},
                    new Object[] {"us-edge", Map.of("region", "us", "amount", "10"), "C"},
                    new Object[] {"us-below", Map.of("region", "us", "amount", "9.99"), "A"});
            for (Object[] s : sent) {
                @SuppressWarnings("unchecked")
                Map<String, String> props = (Map<String, String>) s[1];
                p.send(Message.builder("ft").body(utf8((String) s[0])).properties(props).tags((String) s[2]).build());
            }
            record Case(String group, UnaryOperator<GroupConsumerConfig.Builder> filter, Set<String> expect) {}
            List<Case> cases = List.of(
                    new Case("sqlg", b -> b.sql("region IN ('eu', 'us') AND amount BETWEEN 10 AND 200"), Set.of("eu-big", "us-mid", "us-edge")),
                    new Case("nullg", b -> b.sql("region IS NULL OR amount IS NULL"), Set.of("no-region", "eu-none")),
                    new Case("notg", b -> b.sql("NOT (region = 'eu')"), Set.of("us-mid", "asia", "us-edge", "us-below")),
                    new Case("tagg", b -> b.tags("A || C"), Set.of("eu-big", "eu-text", "no-region", "asia", "us-edge", "us-below")),
                    new Case("bothg", b -> b.tags("A").sql("amount > 100 OR amount < 10"), Set.of("eu-big", "us-below")));
            for (Case c : cases) {
                Map<String, List<String>> deliveries = new ConcurrentHashMap<>();
                Subscription s = client.subscribe(c.filter().apply(member("ft", c.group(), c.group() + "-1")).build(), m -> {
                    deliveries.computeIfAbsent(text(m), k -> new CopyOnWriteArrayList<>())
                            .add(m.topic() + "/" + m.properties().getOrDefault("RECONSUME_TIMES", "0"));
                    if (!m.properties().containsKey("RECONSUME_TIMES")) {
                        throw new IllegalStateException("first delivery fails");
                    }
                });
                await(c.group() + ": every match delivered twice", Duration.ofSeconds(10),
                        () -> c.expect().stream().allMatch(k -> deliveries.getOrDefault(k, List.of()).size() >= 2));
                await(c.group() + ": committed past everything", Duration.ofSeconds(10), () -> client.describeGroup(c.group()).queues().stream()
                        .allMatch(q -> q.lag() == 0));
                s.close();
                assertThat(deliveries.keySet()).as(c.group()).isEqualTo(c.expect());
                for (String k : c.expect()) {
                    assertThat(deliveries.get(k)).as(c.group() + " " + k).containsExactly("ft/0", "%RETRY%" + c.group() + "/1");
                }
            }
        }
    }

    /** The retries reach the broker's maxReconsumeTimes: the message is in the DLQ, once, and a group reads it there. */
    @Test
    void aMessageFailingEveryRetryEndsInTheDeadLetterTopicOnceAndCanBeConsumedFromIt() {
        GroupConfig groups = GroupConfig.builder().maxReconsumeTimes(2).retryDelaysMs(List.of(50L, 100L)).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FerryClient client = server.client("json");
             Producer p = client.producer()) {
            client.createTopic("dl", 1);
            p.send(Message.builder("dl").body(utf8("poison")).keys(List.of("order-7")).tags("T").properties(Map.of("x", "1")).build());
            p.send(Message.builder("dl").body(utf8("fine")).build());
            AtomicInteger poisonSeen = new AtomicInteger();
            List<String> fine = new CopyOnWriteArrayList<>();
            Subscription s = client.subscribe(member("dl", "dg", "d1").build(), m -> {
                if (text(m).equals("poison")) {
                    poisonSeen.incrementAndGet();
                    throw new IllegalStateException("poison");
                }
                fine.add(text(m));
            });
            await("dead lettered", Duration.ofSeconds(10), () -> client.describeTopic("%DLQ%dg").isPresent()
                    && client.queueOffsets("%DLQ%dg", 0).maxOffset() >= 1);
            await("group done", Duration.ofSeconds(10), () -> client.describeGroup("dg").queues().stream().allMatch(q -> q.lag() == 0));
            s.close();
            assertThat(poisonSeen.get()).as("first delivery and 2 retries").isEqualTo(3);
            assertThat(fine).containsExactly("fine");
            assertThat(client.queueOffsets("%DLQ%dg", 0).maxOffset()).isEqualTo(1);
            List<Message> byKey = client.queryByKey("%DLQ%dg", "order-7", 10);
            assertThat(byKey).hasSize(1);
            Map<String, List<String>> got = new ConcurrentHashMap<>();
            Subscription readDlq = client.subscribe(member("%DLQ%dg", "dlq-reader", "r1").tags("T").build(),
                    m -> got.computeIfAbsent(text(m), k -> new CopyOnWriteArrayList<>()).add(m.properties().get("x")));
            await("read from the DLQ", Duration.ofSeconds(10), () -> got.containsKey("poison"));
            readDlq.close();
            assertThat(got).containsExactly(Map.entry("poison", List.of("1")));
        }
    }

    /**
     * A clustering member's own maxReconsumeTimes decides when its failing message goes to the
     * dead-letter topic, as RocketMQ's consumer setting does (the broker's limit here is the default,
     * 16). The setting was used only for in-place retries: a member set to 1 saw 17 deliveries.
     */
    @Test
    void aClusteringMembersMaxReconsumeTimesDecidesWhenItsMessageIsDeadLettered() {
        GroupConfig groups = GroupConfig.builder().retryDelaysMs(List.of(50L)).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FerryClient client = server.client("binary");
             Producer p = client.producer()) {
            client.createTopic("mr", 1);
            p.send(Message.builder("mr").body(utf8("poison")).build());
            AtomicInteger seen = new AtomicInteger();
            Subscription s = client.subscribe(member("mr", "mrg", "m1").maxReconsumeTimes(1).build(), m -> {
                seen.incrementAndGet();
                throw new IllegalStateException("poison");
            });
            await("dead lettered", Duration.ofSeconds(10), () -> client.describeTopic("%DLQ%mrg").isPresent()
                    && client.queueOffsets("%DLQ%mrg", 0).maxOffset() == 1);
            await("group done", Duration.ofSeconds(10), () -> client.describeGroup("mrg").queues().stream().allMatch(q -> q.lag() == 0));
            s.close();
            assertThat(seen.get()).as("the first delivery and 1 retry").isEqualTo(2);
        }
    }

    /**
     * A maxReconsumeTimes of 0 gives a failing message up at its first failure: a clustering
     * member's nack carries the 0 (the broker's limit is the default 16) and the message goes to the
     * dead-letter topic with no retry copy; an orderly member retries nothing in place and nacks it
     * there too. Both then go on with the next message.
     */
    @Test
    void aMaxReconsumeTimesOfZeroSendsTheFirstFailureToTheDeadLetterTopic() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary");
             Producer p = client.producer(ProducerConfig.builder().maxInFlight(1).build())) {
            client.createTopic("z", 1);
            p.send(Message.builder("z").body(utf8("poison")).build());
            p.send(Message.builder("z").body(utf8("fine")).build());
            for (boolean orderly : new boolean[] {false, true}) {
                String group = orderly ? "zo" : "zc";
                List<String> handled = new CopyOnWriteArrayList<>();
                Subscription s = client.subscribe(member("z", group, group + "-1").orderly(orderly).maxReconsumeTimes(0).build(), m -> {
                    handled.add(text(m));
                    if (text(m).equals("poison")) {
                        throw new IllegalStateException("poison");
                    }
                });
                await(group + ": dead lettered", Duration.ofSeconds(10), () -> client.describeTopic("%DLQ%" + group).isPresent()
                        && client.queueOffsets("%DLQ%" + group, 0).maxOffset() == 1);
                await(group + ": group done", Duration.ofSeconds(10),
                        () -> client.describeGroup(group).queues().stream().allMatch(q -> q.lag() == 0));
                s.close();
                assertThat(handled).as(group).containsExactly("poison", "fine");
                assertThat(client.describeTopic("%RETRY%" + group).map(t -> client.queueOffsets("%RETRY%" + group, 0).maxOffset())
                        .orElse(0L)).as(group + ": no retry copy").isZero();
            }
        }
    }

    // ---- delayed --------------------------------------------------------------------------------

    /**
     * Delayed messages for a given queue; the broker restarts before they are due (one falls due
     * while it is down): each is delivered once, to its queue, not before its time.
     */
    @Test
    void delayedMessagesSurviveARestartBeforeTheirTimeAndComeOnceToTheirQueueWhenDue() throws Exception {
        Path data = dir.resolve("data");
        long sentAt;
        long dueWhileDown;
        long dueAfter;
        try (BrokerFixture b = BrokerFixture.start(data); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("dq", 4);
            sentAt = System.currentTimeMillis();
            dueWhileDown = sentAt + 800;
            dueAfter = sentAt + 3_000;
            SendResult r1 = p.send(Message.builder("dq").queueId(2).body(utf8("while-down")).deliverAt(dueWhileDown).build());
            SendResult r2 = p.send(Message.builder("dq").queueId(2).body(utf8("after")).deliverAt(dueAfter).build());
            assertThat(r1.queueId()).isEqualTo(2);
            assertThat(r2.queueId()).isEqualTo(2);
            try (GroupConsumer c = client.groupConsumer(member("dq", "dqg", "c1").build())) {
                assertThat(c.poll(Duration.ofMillis(300))).isEmpty();
            }
        }
        Thread.sleep(Math.max(0, dueWhileDown + 200 - System.currentTimeMillis()));
        try (BrokerFixture b = BrokerFixture.start(data); FerryClient client = b.client("binary");
             GroupConsumer c = client.groupConsumer(member("dq", "dqg", "c1").build())) {
            Map<String, Long> arrived = new ConcurrentHashMap<>();
            List<Message> all = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 8_000;
            while (System.currentTimeMillis() < Math.max(deadline, dueAfter + 1_500) && all.size() < 3) {
                for (Message m : c.poll(Duration.ofMillis(50))) {
                    all.add(m);
                    arrived.put(text(m), System.currentTimeMillis());
                    c.ack(m);
                }
                if (System.currentTimeMillis() > dueAfter + 1_500) {
                    break;
                }
            }
            assertThat(all).extracting(ConsumerGroupTest::text).containsExactlyInAnyOrder("while-down", "after");
            assertThat(all).allSatisfy(m -> assertThat(m.queueId()).isEqualTo(2));
            Message after = all.stream().filter(m -> text(m).equals("after")).findFirst().orElseThrow();
            assertThat(after.storeTimestamp()).isGreaterThanOrEqualTo(dueAfter);
            assertThat(arrived.get("after")).as("not visible before it is due").isGreaterThanOrEqualTo(dueAfter);
            assertThat(client.queueOffsets("dq", 2).maxOffset()).isEqualTo(2);
            assertThat(b.broker.pendingDelayed()).isZero();
        }
    }

    // ---- transactions ---------------------------------------------------------------------------

    /** A producer stores a half and goes away undecided: the check-back goes to another producer of the group. */
    @Test
    void anUndecidedHalfIsCheckedWithAnotherProducerOfTheGroupWhenItsOwnIsGone() {
        TransactionConfig tx = TransactionConfig.builder().checkTimeoutMs(300).checkIntervalMs(300).maxChecks(10).build();
        try (BrokerFixture server = BrokerFixture.start(dir, UnaryOperator.identity(), UnaryOperator.identity(), GroupConfig.defaults(), tx);
             FerryClient client = server.client("binary")) {
            client.createTopic("tx", 2);
            List<String> checkedBy = new CopyOnWriteArrayList<>();
            String id;
            try (FerryClient c1 = server.client("binary");
                 TransactionProducer first = c1.transactionProducer("txg", (m, t) -> {
                     checkedBy.add("first");
                     return TransactionState.UNKNOWN;
                 })) {
                TransactionResult r = first.sendInTransaction(Message.builder("tx").body(utf8("order-1")).build(), (m, t) -> TransactionState.UNKNOWN);
                id = r.transactionId();
            }
            try (FerryClient c2 = server.client("json");
                 TransactionProducer second = c2.transactionProducer("txg", (m, t) -> {
                     checkedBy.add("second:" + t + ":" + text(m));
                     return TransactionState.COMMIT;
                 })) {
                await("committed by the second producer's check", Duration.ofSeconds(10),
                        () -> client.queueOffsets("tx", 0).maxOffset() + client.queueOffsets("tx", 1).maxOffset() == 1);
                assertThat(checkedBy).contains("second:" + id + ":order-1").doesNotContain("first");
            }
        }
    }

    // ---- broadcasting ---------------------------------------------------------------------------

    /** Broadcasting members that join late start where their start position says; one that comes back goes on from its own position. */
    @Test
    void broadcastingMembersJoiningLateStartAtTheirStartPositionAndReturningOnesGoOn() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic("bt", 2);
            for (int i = 0; i < 10; i++) {
                p.send(Message.builder("bt").body(utf8("old" + i)).build());
            }
            List<String> first = new CopyOnWriteArrayList<>();
            Subscription b1 = client.subscribe(member("bt", "bg", "b1").broadcasting().build(), m -> first.add(text(m)));
            await("b1 got the 10", Duration.ofSeconds(10), () -> first.size() == 10);
            b1.close();
            List<String> early = new CopyOnWriteArrayList<>();
            Subscription b2 = client.subscribe(member("bt", "bg", "b2").broadcasting().build(), m -> early.add(text(m)));
            GroupConsumer b3 = client.groupConsumer(member("bt", "bg", "b3").broadcasting().startFrom(StartPosition.LATEST).build());
            List<String> late = new ArrayList<>();
            await("b2 got the 10, b3 read to the end", Duration.ofSeconds(10), () -> {
                b3.poll(Duration.ofMillis(20)).forEach(m -> {
                    late.add(text(m));
                    b3.ack(m);
                });
                return early.size() == 10 && b3.assignment().size() == 2 && b3.caughtUp();
            });
            assertThat(late).as("b3 starts at the end").isEmpty();
            for (int i = 0; i < 4; i++) {
                p.send(Message.builder("bt").body(utf8("new" + i)).build());
            }
            List<String> back = new CopyOnWriteArrayList<>();
            Subscription b1again = client.subscribe(member("bt", "bg", "b1").broadcasting().build(), m -> back.add(text(m)));
            await("everyone got the new ones", Duration.ofSeconds(10), () -> {
                b3.poll(Duration.ofMillis(20)).forEach(m -> {
                    late.add(text(m));
                    b3.ack(m);
                });
                return early.size() == 14 && late.size() == 4 && back.size() == 4;
            });
            b1again.close();
            b2.close();
            b3.close();
            assertThat(new TreeSet<>(back)).containsExactly("new0", "new1", "new2", "new3");
            assertThat(new TreeSet<>(late)).containsExactly("new0", "new1", "new2", "new3");
        }
    }

    // ---- batch ----------------------------------------------------------------------------------

    @Test
    void aBatchOfMixedTopicsOrQueuesIsRefusedClearlyAndStoresNothing() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("binary"); Producer p = client.producer()) {
            client.createTopic("b1", 2);
            client.createTopic("b2", 2);
            assertThatThrownBy(() -> p.sendBatch(List.of(Message.builder("b1").body(utf8("a")).build(),
                    Message.builder("b2").body(utf8("b")).build()))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("one topic and queueId per batch");
            assertThatThrownBy(() -> p.sendBatch(List.of(Message.builder("b1").queueId(0).body(utf8("a")).build(),
                    Message.builder("b1").queueId(1).body(utf8("b")).build()))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("one topic and queueId per batch");
            assertThatThrownBy(() -> p.sendBatch(List.of(Message.builder("b1").queueId(0).body(utf8("a")).build(),
                    Message.builder("b1").body(utf8("b")).build()))).isInstanceOf(IllegalArgumentException.class);
            List<SendResult> ok = p.sendBatch(List.of(Message.builder("b1").body(utf8("x")).build(),
                    Message.builder("b1").body(utf8("y")).build())).join();
            assertThat(ok).extracting(SendResult::queueId).containsOnly(ok.get(0).queueId());
            assertThat(ok).extracting(SendResult::queueOffset).containsExactly(ok.get(0).queueOffset(), ok.get(0).queueOffset() + 1);
            long stored = 0;
            for (String t : List.of("b1", "b2")) {
                for (int q = 0; q < 2; q++) {
                    stored += client.queueOffsets(t, q).maxOffset();
                }
            }
            assertThat(stored).isEqualTo(2);
        }
    }
}
