package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delayed delivery (incl. across a broker restart), tag and SQL filters and the subscribe-time SQL
 * check, through a real gateway and the real Java client, over binary (zero-copy fetch) and json.
 */
class DelayedAndFilteredTest {
    @TempDir
    Path dir;

    private static String text(Message m) {
        return StandardCharsets.UTF_8.decode(m.body()).toString();
    }

    private static List<Message> drain(Consumer c, int want, long ms) {
        List<Message> out = new ArrayList<>();
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (out.size() < want && System.nanoTime() < deadline) {
            out.addAll(c.poll(Duration.ofMillis(100)));
        }
        return out;
    }

    @Test
    void delayedMessagesArriveWhenDueAndOnceAcrossARestart() {
        Path data = dir.resolve("data");
        long due;
        try (BrokerFixture b = BrokerFixture.start(data); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("later", 2);
            long now = System.currentTimeMillis();
            for (int i = 0; i < 20; i++) {
                p.send(Message.builder("later").body(("soon-" + i).getBytes(StandardCharsets.UTF_8)).deliverAt(now + 400).build());
            }
            p.send(Message.builder("later").body("now".getBytes(StandardCharsets.UTF_8)).build());
            due = now + 1_500;
            for (int i = 0; i < 30; i++) {
                p.send(Message.builder("later").body(("after-restart-" + i).getBytes(StandardCharsets.UTF_8)).properties(Map.of("k", "v"))
                        .deliverAt(due).build());
            }
            assertThatThrownBy(() -> p.send(Message.builder("later").body(new byte[1]).deliverAt(now + 31L * 24 * 3600 * 1000).build()))
                    .hasMessageContaining("maxDelayMs");
            try (Consumer c = client.consumer(ConsumerConfig.builder("later", "g").build())) {
                List<Message> got = drain(c, 21, 5_000);
                long arrived = System.currentTimeMillis();
                assertThat(got).extracting(DelayedAndFilteredTest::text).contains("now", "soon-0", "soon-19").hasSize(21);
                for (Message m : got) {
                    if (text(m).startsWith("soon")) {
                        assertThat(m.storeTimestamp()).as("stored no earlier than due").isGreaterThanOrEqualTo(now + 400);
                        assertThat(m.storeTimestamp() - (now + 400)).as("lateness ms").isLessThan(1_000);
                        assertThat(m.flags()).isZero();
                    }
                }
                assertThat(arrived).isLessThan(due);
                c.commitSync();
            }
        } // stopped before the 30 were due
        sleepUntil(due + 300);
        try (BrokerFixture b = BrokerFixture.start(data); FerryClient client = b.client("json");
             Consumer c = client.consumer(ConsumerConfig.builder("later", "g").build())) {
            List<Message> got = drain(c, 30, 5_000);
            got.addAll(c.poll(Duration.ofMillis(500))); // none twice
            TreeSet<String> names = new TreeSet<>();
            for (Message m : got) {
                assertThat(names.add(text(m))).as("delivered twice: %s", text(m)).isTrue();
                assertThat(m.properties()).containsEntry("k", "v");
            }
            assertThat(names).hasSize(30).allMatch(n -> n.startsWith("after-restart-"));
            assertThat(b.broker.pendingDelayed()).isZero();
        }
    }

    @Test
    void filtersDeliverExactlyTheMatchingSet() {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary"); Producer p = client.producer()) {
            client.createTopic("f", 1);
            String[] tags = {"A", "B", "C", ""};
            for (int i = 0; i < 400; i++) {
                Map<String, String> props = new HashMap<>();
                props.put("n", Integer.toString(i));
                if (i % 3 == 0) {
                    props.put("region", i % 2 == 0 ? "eu" : "us");
                }
                p.send(Message.builder("f").body(Integer.toString(i).getBytes(StandardCharsets.UTF_8)).properties(props).tags(tags[i % 4])
                        .build());
            }
            Map<String, Integer> expect = new HashMap<>();
            expect.put("tags:A || B", 200);
            expect.put("tags:*", 400);
            expect.put("sql:n > 100 AND region IN ('eu') AND region IS NOT NULL", 50);
            expect.put("sql:region IS NULL", 266);
            expect.put("sql:NOT (region = 'us')", 67);
            expect.put("sql:n BETWEEN 10 AND 19 OR TAGS = 'C'", 110 - 3);
            for (String codec : List.of("binary", "json")) {
                try (FerryClient c2 = b.client(codec)) {
                    for (Map.Entry<String, Integer> e : expect.entrySet()) {
                        ConsumerConfig.Builder cb = ConsumerConfig.builder("f", "g-" + codec + e.getKey().hashCode());
                        String expr = e.getKey().substring(e.getKey().indexOf(':') + 1);
                        if (e.getKey().startsWith("tags:")) {
                            cb.tags(expr);
                        } else {
                            cb.sql(expr);
                        }
                        try (Consumer c = c2.consumer(cb.build())) {
                            List<Message> got = drain(c, e.getValue(), 3_000);
                            got.addAll(c.poll(Duration.ofMillis(200)));
                            assertThat(got).as("%s over %s", e.getKey(), codec).hasSize(e.getValue());
                        }
                    }
                }
            }
            assertThatThrownBy(() -> client.consumer(ConsumerConfig.builder("f", "bad").sql("n > AND x").build()))
                    .isInstanceOf(FerryException.class).hasMessageContaining("unexpected 'AND' at position 4");
        }
    }

    /**
     * ConsumerConfig promises the SQL filter is checked by the broker when the consumer is
     * created; an expression past the broker's limits (LIMIT_EXCEEDED: 1,000 operands, 100 levels,
     * 256 LIKE characters) passed that check, as only BAD_REQUEST failed it, and every poll then
     * threw instead.
     */
    @Test
    void anSqlFilterPastTheBrokersLimitsFailsWhenTheConsumerIsCreated() {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary")) {
            client.createTopic("lim", 1);
            for (String sql : List.of("a IN (" + "1, ".repeat(1_000) + "1)", "(".repeat(101) + "a = 1" + ")".repeat(101),
                    "a LIKE '" + "%".repeat(257) + "'")) {
                assertThatThrownBy(() -> client.consumer(ConsumerConfig.builder("lim", "g").sql(sql).build()).close())
                        .as(sql.substring(0, 20)).isInstanceOf(FerryException.class)
                        .satisfies(e -> assertThat(((FerryException) e).status()).hasValue(dev.ferry.protocol.Status.LIMIT_EXCEEDED));
            }
        }
    }

    /** A malformed tag expression fails the consumer's creation, as a malformed SQL one does; it failed every poll instead. */
    @Test
    void aMalformedTagExpressionFailsWhenTheConsumerIsCreated() {
        try (BrokerFixture b = BrokerFixture.start(dir); FerryClient client = b.client("binary")) {
            client.createTopic("tagged", 1);
            for (String tags : List.of("A || || B", "||", "A ||")) {
                assertThatThrownBy(() -> client.consumer(ConsumerConfig.builder("tagged", "g").tags(tags).build()).close())
                        .as(tags).isInstanceOf(FerryException.class)
                        .satisfies(e -> assertThat(((FerryException) e).status()).hasValue(dev.ferry.protocol.Status.BAD_REQUEST));
            }
            client.consumer(ConsumerConfig.builder("tagged", "g").tags(" A || B ").build()).close();
        }
    }

    private static void sleepUntil(long ms) {
        long left;
        while ((left = ms - System.currentTimeMillis()) > 0) {
            try {
                Thread.sleep(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
