package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Orderly broadcasting members each read every queue, one message at a time each (RocketMQ locks
 * only in clustering): one broker lock per queue for the whole group gave all 50 messages to the
 * first member and none to the second, for as long as the first ran (found by a reviewer).
 */
class OrderlyBroadcastTest {
    @TempDir
    Path dir;

    @Test
    void everyOrderlyBroadcastMemberGetsEveryMessage() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient client = server.client("json"); Producer p = client.producer()) {
            client.createTopic("bo", 2);
            List<Set<String>> got = new ArrayList<>();
            List<Subscription> members = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Set<String> s = ConcurrentHashMap.newKeySet();
                got.add(s);
                members.add(client.subscribe(GroupConsumerConfig.builder("bo", "bog").clientId("b" + i).heartbeatIntervalMs(50)
                        .maxWaitMs(200).retryBackoffMs(50).broadcasting().orderly(true).build(),
                        m -> s.add(StandardCharsets.UTF_8.decode(m.body()).toString())));
            }
            for (int i = 0; i < 50; i++) {
                p.sendAsync("bo", ("m" + i).getBytes(StandardCharsets.UTF_8));
            }
            p.flush();
            try {
                ConsumerGroupTest.await("every member has every message", Duration.ofSeconds(10),
                        () -> got.stream().allMatch(s -> s.size() == 50));
            } finally {
                members.forEach(Subscription::close);
            }
            assertThat(got).allMatch(s -> s.size() == 50);
        }
    }
}
