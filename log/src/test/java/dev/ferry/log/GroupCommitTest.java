package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.readAll;
import static dev.ferry.log.StoreTestSupport.smallConfig;
import static dev.ferry.log.StoreTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group commit under {@link FlushMode#SYNC}: eight threads append concurrently (two per queue);
 * every record lands exactly once, each queue's offsets are contiguous, each producer's records
 * keep its order, and one fsync serves many appends.
 */
class GroupCommitTest {
    private static final int THREADS = 8;
    private static final int PER_THREAD = 2_000;
    private static final int QUEUES = 4;

    @TempDir
    Path dir;

    @Test
    void concurrentSyncAppendsShareFsyncsAndLandExactlyOnce() throws Exception {
        LogConfig config = smallConfig(dir).segmentBytes(1 << 20).indexEntriesPerFile(1_000).flushMode(FlushMode.SYNC)
                .preTouch(true).build(); // the default: the page warmer runs beside the appenders
        try (MessageStore store = MessageStore.open(config)) {
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<AppendResult>>> futures = new ArrayList<>();
            try {
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    Callable<List<AppendResult>> writer = () -> {
                        start.await();
                        List<AppendResult> out = new ArrayList<>(PER_THREAD);
                        for (int i = 0; i < PER_THREAD; i++) {
                            AppendResult a = store.append(StoreTestSupport.message("g", thread % QUEUES, thread + ":" + i));
                            assertThat(a.physicalOffset() + a.size())
                                    .as("thread %d append %d returned before its bytes were flushed", thread, i)
                                    .isLessThanOrEqualTo(store.flushedOffset());
                            out.add(a);
                        }
                        return out;
                    };
                    futures.add(pool.submit(writer));
                }
                start.countDown();
                for (Future<List<AppendResult>> f : futures) {
                    assertThat(f.get(60, TimeUnit.SECONDS)).hasSize(PER_THREAD);
                }
            } finally {
                pool.shutdownNow();
            }

            int appends = THREADS * PER_THREAD;
            long fsyncs = store.fsyncCount();
            assertThat(fsyncs).as("fsyncs for %d SYNC appends from %d threads (group commit)", appends, THREADS)
                    .isPositive().isLessThan(appends / 2);

            Map<String, Integer> seen = new HashMap<>();
            for (int q = 0; q < QUEUES; q++) {
                List<StoredMessage> all = readAll(store, "g", q);
                assertThat(all).as("records in g/%d", q).hasSize(THREADS / QUEUES * PER_THREAD);
                int[] lastOfThread = new int[THREADS];
                java.util.Arrays.fill(lastOfThread, -1);
                for (int i = 0; i < all.size(); i++) {
                    StoredMessage m = all.get(i);
                    assertThat(m.queueOffset()).as("g/%d record %d: offsets contiguous from 0", q, i).isEqualTo(i);
                    String[] id = text(m).split(":");
                    int thread = Integer.parseInt(id[0]);
                    int n = Integer.parseInt(id[1]);
                    assertThat(thread % QUEUES).as("g/%d holds %s", q, text(m)).isEqualTo(q);
                    assertThat(seen.put(text(m), i)).as("%s stored twice", text(m)).isNull();
                    assertThat(n).as("g/%d: thread %d's records in the order it appended them", q, thread)
                            .isGreaterThan(lastOfThread[thread]);
                    lastOfThread[thread] = n;
                }
            }
            assertThat(seen).as("distinct records stored").hasSize(appends);
        }
    }
}
