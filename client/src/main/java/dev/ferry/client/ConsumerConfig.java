package dev.ferry.client;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of a {@link Consumer}. Immutable; validated when built.
 *
 * @param topic                   topic to consume
 * @param group                   consumer group whose offsets are read and committed, as the broker's COMMIT_OFFSET
 *                                takes it: a group's name (1..128 characters of [A-Za-z0-9._|-]), or a broadcasting
 *                                member's GROUP%CLIENT_ID (two such names joined by one '%')
 * @param queues                  queue ids to consume; empty = every queue of the topic (default)
 * @param startFrom               where to start each queue (default {@link StartPosition#COMMITTED_ELSE_EARLIEST})
 * @param autoCommit              commit consumed positions from {@link Consumer#poll} every
 *                                {@code autoCommitIntervalMs} and on close (default true)
 * @param autoCommitIntervalMs    default 1,000
 * @param maxWaitMs               how long one FETCH may wait on the broker for messages: the long poll (default 1,000)
 * @param maxFetchMessages        most messages one FETCH returns (default 4,096)
 * @param maxFetchBytes           most record bytes one FETCH returns (default 1 MiB)
 * @param maxBufferedBytesPerQueue fetched but not yet polled bytes per queue beyond which fetching pauses (default 4 MiB)
 * @param maxPollMessages         most messages one {@link Consumer#poll} returns (default 8,192)
 * @param tags                    broker-side tag filter such as {@code a || b}; empty = all (default). Checked by the broker
 *                                when the consumer is created.
 * @param retryBackoffMs          pause after a failed fetch or a lost connection (default 100)
 * @param sql                     broker-side SQL92 filter over properties such as {@code a > 5 AND region IN ('eu','us')};
 *                                empty = none (default). Checked by the broker when the consumer is created.
 */
public record ConsumerConfig(String topic, String group, List<Integer> queues, StartPosition startFrom, boolean autoCommit,
                             long autoCommitIntervalMs, long maxWaitMs, int maxFetchMessages, int maxFetchBytes,
                             long maxBufferedBytesPerQueue, int maxPollMessages, String tags, long retryBackoffMs, String sql) {

    public ConsumerConfig {
        Checks.topic(topic);
        Checks.nonEmpty("group", group);
        if (!GROUP_NAME.matcher(group).matches()) {
            // the broker checks it only in COMMIT_OFFSET (GET_OFFSET and FETCH take any name): a consumer of a name it
            // refuses would read everything and commit nothing, and read everything again at each restart
            throw new IllegalArgumentException("group: '" + group + "' (expected: a group's name, 1..128 characters of [A-Za-z0-9._|-],"
                    + " or GROUP%CLIENT_ID, two such names joined by one %: the broker's rule for COMMIT_OFFSET)");
        }
        queues = List.copyOf(Objects.requireNonNull(queues, "queues"));
        for (int q : queues) {
            Checks.range("queues[]", q, 0, Integer.MAX_VALUE);
        }
        if (queues.stream().distinct().count() != queues.size()) {
            throw new IllegalArgumentException("queues: " + queues + " (expected: distinct queue ids)");
        }
        Objects.requireNonNull(startFrom, "startFrom");
        Objects.requireNonNull(tags, "tags");
        Objects.requireNonNull(sql, "sql");
        Checks.range("autoCommitIntervalMs", autoCommitIntervalMs, 1, Long.MAX_VALUE / 4);
        Checks.range("maxWaitMs", maxWaitMs, 0, 30_000);
        Checks.range("maxFetchMessages", maxFetchMessages, 1, Integer.MAX_VALUE);
        Checks.range("maxFetchBytes", maxFetchBytes, 1, Integer.MAX_VALUE);
        Checks.range("maxBufferedBytesPerQueue", maxBufferedBytesPerQueue, 1, Long.MAX_VALUE / 4);
        Checks.range("maxPollMessages", maxPollMessages, 1, Integer.MAX_VALUE);
        Checks.range("retryBackoffMs", retryBackoffMs, 1, 3_600_000);
    }

    /**
     * The broker's rule for a group name whose offsets are committed (the gateway's COMMIT_OFFSET):
     * a group's name, or a broadcasting member's GROUP%CLIENT_ID. It was 1..200 characters of
     * [A-Za-z0-9._%|-], the broker's older, looser rule: since the gateway refuses a name that is
     * neither (over 128 characters, two '%', an empty half), a consumer built with one read
     * everything and committed nothing.
     */
    private static final Pattern GROUP_NAME = Pattern.compile("[A-Za-z0-9._|-]{1,128}(%[A-Za-z0-9._|-]{1,128})?");

    public static Builder builder(String topic, String group) {
        return new Builder(topic, group);
    }

    /** Builds a {@link ConsumerConfig} from the defaults; not thread-safe. */
    public static final class Builder {
        private final String topic;
        private final String group;
        private List<Integer> queues = List.of();
        private StartPosition startFrom = StartPosition.COMMITTED_ELSE_EARLIEST;
        private boolean autoCommit = true;
        private long autoCommitIntervalMs = 1_000;
        private long maxWaitMs = 1_000;
        private int maxFetchMessages = 4_096;
        private int maxFetchBytes = 1 << 20;
        private long maxBufferedBytesPerQueue = 4 << 20;
        private int maxPollMessages = 8_192;
        private String tags = "";
        private long retryBackoffMs = 100;
        private String sql = "";

        private Builder(String topic, String group) {
            this.topic = topic;
            this.group = group;
        }

        public Builder queues(List<Integer> v) { queues = v; return this; }
        public Builder queues(Integer... v) { queues = List.of(v); return this; }
        public Builder startFrom(StartPosition v) { startFrom = v; return this; }
        public Builder autoCommit(boolean v) { autoCommit = v; return this; }
        public Builder autoCommitIntervalMs(long v) { autoCommitIntervalMs = v; return this; }
        public Builder maxWaitMs(long v) { maxWaitMs = v; return this; }
        public Builder maxFetchMessages(int v) { maxFetchMessages = v; return this; }
        public Builder maxFetchBytes(int v) { maxFetchBytes = v; return this; }
        public Builder maxBufferedBytesPerQueue(long v) { maxBufferedBytesPerQueue = v; return this; }
        public Builder maxPollMessages(int v) { maxPollMessages = v; return this; }
        public Builder tags(String v) { tags = v; return this; }
        public Builder retryBackoffMs(long v) { retryBackoffMs = v; return this; }
        public Builder sql(String v) { sql = v; return this; }

        public ConsumerConfig build() {
            return new ConsumerConfig(topic, group, queues, startFrom, autoCommit, autoCommitIntervalMs, maxWaitMs, maxFetchMessages,
                    maxFetchBytes, maxBufferedBytesPerQueue, maxPollMessages, tags, retryBackoffMs, sql);
        }
    }
}
