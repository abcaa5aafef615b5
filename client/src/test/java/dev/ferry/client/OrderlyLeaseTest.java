package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.GroupConfig;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An orderly member whose heartbeats stop (its client's event loop is blocked, as in a long GC
 * pause or a lost network) while it still has fetched messages in hand must stop handling them
 * before the broker can expire its session and give its locked queue to another member: the two
 * never handle the queue at the same time.
 */
class OrderlyLeaseTest {
    @TempDir
    Path dir;

    @Test
    void aStalledOrderlyMemberStopsHandlingBeforeAnotherMemberGetsItsQueue() throws Exception {
        GroupConfig groups = GroupConfig.builder().sessionTimeoutMs(1_200).sweepIntervalMs(50).build();
        try (BrokerFixture server = BrokerFixture.start(dir, groups); FerryClient stalled = server.client("binary");
             FerryClient healthy = server.client("binary"); Producer p = healthy.producer()) {
            healthy.createTopic("ol", 1);
            for (int i = 0; i < 300; i++) {
                p.sendAsync(Message.builder("ol").body(("m" + i).getBytes(StandardCharsets.UTF_8)).build());
            }
            p.flush();
            List<Long> stalledStarts = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicLong healthyFirst = new AtomicLong(Long.MAX_VALUE);
            Set<String> handled = ConcurrentHashMap.newKeySet();
            AtomicBoolean blocked = new AtomicBoolean();
            CountDownLatch unblock = new CountDownLatch(1);
            Subscription a = stalled.subscribe(member("a"), m -> {
                stalledStarts.add(System.nanoTime());
                handled.add(text(m));
                if (!blocked.getAndSet(true)) {
                    // from now on no heartbeat, fetch or ack of this client leaves: its one event loop is busy
                    stalled.transport().nextLoop().execute(() -> awaitQuietly(unblock));
                }
                Thread.sleep(30); // ~100 messages in hand: 3 s of work, well past the 1.2 s session
            });
            Subscription b = healthy.subscribe(member("b"), m -> {
                healthyFirst.compareAndSet(Long.MAX_VALUE, System.nanoTime());
                handled.add(text(m));
            });
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (healthyFirst.get() == Long.MAX_VALUE && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(healthyFirst.get()).as("the healthy member got the queue once the stalled one's session expired")
                        .isNotEqualTo(Long.MAX_VALUE);
                Thread.sleep(500); // the stalled member's batch would still be in hand now
                List<Long> starts;
                synchronized (stalledStarts) {
                    starts = List.copyOf(stalledStarts);
                }
                assertThat(starts).as("messages the stalled member started after the healthy one started").noneMatch(t -> t > healthyFirst.get());
                while (handled.size() < 300 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(handled).as("every message handled by one of them").hasSize(300);
            } finally {
                unblock.countDown();
                b.close();
                a.close();
            }
        }
    }

    private static GroupConsumerConfig member(String clientId) {
        return GroupConsumerConfig.builder("ol", "lease").clientId(clientId).orderly(true).heartbeatIntervalMs(100).maxWaitMs(200)
                .retryBackoffMs(50).maxFetchMessages(100).build();
    }

    private static String text(Message m) {
        return StandardCharsets.UTF_8.decode(m.body()).toString();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
