package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CREATE_TOPIC of a topic that exists, racing a DELETE_TOPIC of it (two admin clients): the
 * create that succeeds is a creation of a deleted topic and must start it empty. Broker.register
 * asked "was it deleted?" and then registered it, two steps with nothing held between: a delete
 * that ran between them left the create to register the topic as a new one, without its queue
 * floors, and the deleted topic's records were served as the new topic's.
 */
class RecreatedTopicDeleteRaceTest {
    @TempDir
    Path dir;
    private Broker broker;

    @BeforeEach
    void open() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.defaults());
    }

    @AfterEach
    void close() {
        broker.close();
    }

    @Test
    void aCreateRacingADeleteStartsTheTopicEmpty() throws Exception {
        broker.createTopic("t", 1);
        int creators = 3;
        ExecutorService pool = Executors.newFixedThreadPool(creators + 1);
        try {
            List<String> failures = new ArrayList<>();
            for (int round = 0; round < 200 && failures.isEmpty(); round++) {
                broker.send(List.of(LogMessage.builder("t", 0, new byte[] {(byte) round}).build())).join();
                long end = broker.store().nextOffset("t", 0);
                CountDownLatch go = new CountDownLatch(1);
                AtomicBoolean deleted = new AtomicBoolean();
                List<Future<?>> tasks = new ArrayList<>();
                for (int c = 0; c < creators; c++) {
                    tasks.add(pool.submit(() -> {
                        go.await();
                        for (;;) {
                            try {
                                broker.createTopic("t", 1);
                                return null;
                            } catch (TopicExistsException e) {
                                if (deleted.get()) {
                                    return null; // created again by another creator
                                }
                            }
                        }
                    }));
                }
                tasks.add(pool.submit(() -> {
                    go.await();
                    broker.deleteTopic("t");
                    deleted.set(true);
                    return null;
                }));
                go.countDown();
                for (Future<?> f : tasks) {
                    f.get(30, TimeUnit.SECONDS);
                }
                long min = broker.store().minOffset("t", 0);
                if (min != end) {
                    failures.add("round " + round + ": created again at first offset " + min + ", the deleted topic ended at " + end);
                }
            }
            assertThat(failures).as("a creation that follows a deletion starts the topic empty").isEmpty();
        } finally {
            pool.shutdownNow();
        }
    }
}
