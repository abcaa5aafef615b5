package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.tuple;

import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Membership, sessions, fencing, locks and allocation of {@link GroupCoordinator}, on an injected clock. */
class GroupCoordinatorTest {
    @TempDir
    Path dir;

    /** A clock that moves only when told. */
    static final class ManualClock extends Clock {
        final AtomicLong millis = new AtomicLong(1_000_000);

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }

        void advance(long ms) {
            millis.addAndGet(ms);
        }
    }

    private final ManualClock clock = new ManualClock();
    private Broker broker;
    private GroupCoordinator groups;

    @BeforeEach
    void open() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.builder().sessionTimeoutMs(10_000).lockTimeoutMs(5_000).sweepIntervalMs(3_600_000).clock(clock).build());
        broker.createTopic("t", 8);
        groups = broker.groups();
    }

    @AfterEach
    void close() {
        broker.close();
    }

    private static List<Integer> queuesOf(GroupCoordinator.Assignment a, String topic) {
        return a.queues().stream().filter(q -> q.topic().equals(topic)).map(GroupCoordinator.AssignedQueue::queueId).toList();
    }

    @Test
    void averagedAllocationGivesContiguousRanges() {
        Map<String, List<Integer>> a = AllocationStrategy.named("AVERAGE").allocate("t", 8, List.of("a", "b", "c"));
        assertThat(a).containsExactly(Map.entry("a", List.of(0, 1, 2)), Map.entry("b", List.of(3, 4, 5)), Map.entry("c", List.of(6, 7)));
        assertThat(AllocationStrategy.named("AVERAGE").allocate("t", 2, List.of("a", "b", "c")).get("c")).isEmpty();
    }

    @Test
    void consistentHashingAssignsEveryQueueOnceAndMovesFewOnAJoin() {
        AllocationStrategy s = AllocationStrategy.named("CONSISTENT_HASH");
        List<String> three = List.of("m1", "m2", "m3");
        Map<String, List<Integer>> before = s.allocate("t", 64, three);
        List<Integer> all = new ArrayList<>();
        before.values().forEach(all::addAll);
        assertThat(all).hasSize(64).doesNotHaveDuplicates();
        Map<String, List<Integer>> after = s.allocate("t", 64, List.of("m1", "m2", "m3", "m4"));
        int moved = 0;
        for (String m : three) {
            Set<Integer> kept = new HashSet<>(after.get(m));
            moved += (int) before.get(m).stream().filter(q -> !kept.contains(q)).count();
        }
        assertThat(moved).as("queues moved by a 4th member; all moved ones go to it").isEqualTo(after.get("m4").size()).isLessThan(32);
        // the ring is kept between calls: going back to three members gives the first answer again, for any topic
        assertThat(s.allocate("t", 64, new ArrayList<>(three))).isEqualTo(before);
        assertThat(s.allocate("u", 64, three)).isEqualTo(new AllocationStrategy.ConsistentHash().allocate("u", 64, three));
    }

    @Test
    void aJoinRebalancesAndAStaleGenerationIsFenced() {
        GroupCoordinator.Assignment a1 = groups.join("g", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(queuesOf(a1, "t")).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(queuesOf(a1, "%RETRY%g")).containsExactly(0);
        GroupCoordinator.Assignment joined = groups.join("g", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(joined.generation()).isEqualTo(a1.generation() + 1);
        assertThat(queuesOf(joined, "t")).as("queues 4-7 wait until a heard of the rebalance").isEmpty();
        assertThatThrownBy(() -> groups.checkConsume("g", "b", joined.generation(), "t", 5)).isInstanceOf(FencedException.class)
                .hasMessageContaining("handed over from 'a'");
        assertThat(queuesOf(groups.heartbeat("g", "a"), "t")).containsExactly(0, 1, 2, 3);
        GroupCoordinator.Assignment b = groups.heartbeat("g", "b");
        assertThat(queuesOf(b, "t")).containsExactly(4, 5, 6, 7);
        // a has not heard of the rebalance: its fetch of a queue b now owns is refused
        assertThatThrownBy(() -> groups.checkConsume("g", "a", a1.generation(), "t", 5)).isInstanceOf(FencedException.class)
                .hasMessageContaining("assigned to 'b'");
        groups.checkConsume("g", "a", a1.generation(), "t", 1); // still a's since generation 1
        groups.checkConsume("g", "b", b.generation(), "t", 5);
        assertThatThrownBy(() -> groups.checkConsume("g", "b", a1.generation(), "t", 5)).isInstanceOf(FencedException.class)
                .hasMessageContaining("stale");
        assertThatThrownBy(() -> groups.join("g", "c", List.of("t"), MessageModel.BROADCASTING, "AVERAGE", false))
                .isInstanceOf(BrokerException.class).hasMessageContaining("mode");
    }

    @Test
    void aMemberThatStopsHeartbeatingIsRemovedAfterTheSessionTimeout() {
        groups.join("g", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.join("g", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        clock.advance(6_000);
        groups.heartbeat("g", "a");
        clock.advance(4_000); // b silent for 10 s, a for 4 s
        groups.tick();
        GroupDescription d = groups.describe("g");
        assertThat(d.members()).extracting(GroupDescription.Member::clientId).containsExactly("a");
        assertThat(queuesOf(groups.heartbeat("g", "a"), "t")).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThatThrownBy(() -> groups.heartbeat("g", "b")).isInstanceOf(UnknownMemberException.class);
    }

    @Test
    void orderlyLocksAreExclusiveRenewedByHeartbeatsAndExpire() {
        GroupCoordinator.Assignment a = groups.join("o", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true);
        assertThat(queuesOf(a, "%RETRY%o")).as("orderly members retry in place").isEmpty();
        groups.lock("o", "a", a.generation(), "t", 6);
        assertThatThrownBy(() -> groups.checkConsume("o", "a", a.generation(), "t", 7)).isInstanceOf(FencedException.class)
                .hasMessageContaining("not locked");
        groups.join("o", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true);
        groups.heartbeat("o", "a");
        GroupCoordinator.Assignment b = groups.heartbeat("o", "b");
        assertThat(queuesOf(b, "t")).contains(6);
        assertThatThrownBy(() -> groups.lock("o", "b", b.generation(), "t", 6)).isInstanceOf(QueueLockedException.class)
                .hasMessageContaining("locked by 'a'");
        GroupCoordinator.Assignment a2 = groups.heartbeat("o", "a");
        groups.lock("o", "a", a2.generation(), "t", 0); // a queue a kept
        clock.advance(4_000);
        groups.heartbeat("o", "a"); // renews a's lock of queue 0 for 5 s more, not that of queue 6, which moved away
        groups.heartbeat("o", "b");
        assertThatThrownBy(() -> groups.lock("o", "b", b.generation(), "t", 6)).isInstanceOf(QueueLockedException.class);
        clock.advance(4_000);
        groups.checkConsume("o", "a", a2.generation(), "t", 0); // 8 s after it was taken: renewed
        groups.heartbeat("o", "b");
        groups.lock("o", "b", b.generation(), "t", 6); // 8 s after its last renewal: expired
        groups.checkConsume("o", "b", b.generation(), "t", 6);
    }

    /**
     * A member that joined not orderly gets no lock: it needs none, and one it held, renewed by its
     * heartbeats and never released, kept the queue's next orderly owner LOCKED (found by a reviewer).
     */
    @Test
    void onlyAnOrderlyMemberMayLockAQueue() {
        GroupCoordinator.Assignment a = groups.join("g", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThatThrownBy(() -> groups.lock("g", "a", a.generation(), "t", 5)).isInstanceOf(BrokerException.class)
                .isNotInstanceOf(FencedException.class).hasMessageContaining("joined not orderly");
        GroupCoordinator.Assignment b = groups.join("b", "x", List.of("t"), MessageModel.BROADCASTING, "AVERAGE", false);
        assertThatThrownBy(() -> groups.lock("b", "x", b.generation(), "t", 5)).hasMessageContaining("joined not orderly");
    }

    /**
     * A broadcasting member's position is kept under {@code GROUP%CLIENT_ID}, up to 128 + 1 + 128
     * characters. Checked as a topic name (1..200), a member whose two names came to more than 199
     * joined but could not commit its position: each commit was refused, and it read everything
     * again after a restart.
     */
    @Test
    void aBroadcastingMemberWithTheLongestNamesKeepsItsPosition() {
        String group = "g".repeat(128);
        String client = "c".repeat(128);
        groups.join(group, client, List.of("t"), MessageModel.BROADCASTING, "AVERAGE", false);
        String offsetGroup = group + "%" + client;
        broker.commitOffset(offsetGroup, "t", 3, 0);
        assertThat(broker.committedOffset(offsetGroup, "t", 3)).hasValue(0);
        assertThatThrownBy(() -> broker.commitOffset(offsetGroup + "x", "t", 3, 0)).isInstanceOf(BrokerException.class)
                .hasMessageContaining("two such names joined by one %");
    }

    /**
     * Orderly broadcasting members each read every queue: each gets the lock at once. One lock for
     * the group kept every member but the first LOCKED for as long as it heartbeated (found by a
     * reviewer; end to end: the client's OrderlyBroadcastTest).
     */
    @Test
    void everyOrderlyBroadcastingMemberGetsEveryQueuesLock() {
        broker.createTopic("b", 1);
        groups.join("bo", "a", List.of("b"), MessageModel.BROADCASTING, "AVERAGE", true);
        GroupCoordinator.Assignment b = groups.join("bo", "b", List.of("b"), MessageModel.BROADCASTING, "AVERAGE", true);
        groups.lock("bo", "a", b.generation(), "b", 0);
        assertThat(groups.lock("bo", "b", b.generation(), "b", 0)).as("b reads every queue too").isEqualTo(clock.millis() + 5_000);
        groups.checkConsume("bo", "b", b.generation(), "b", 0);
    }

    /**
     * A lock on a queue that moved away is not renewed by its old holder's heartbeats: it lapses
     * a lock timeout after the move, UNLOCK_QUEUE or not (renewed, the new owner stayed LOCKED for
     * as long as the old one lived; found by a reviewer).
     */
    @Test
    void aLockOnAQueueThatMovedAwayLapsesOneLockTimeoutAfterTheMove() {
        broker.createTopic("o", 2);
        groups.join("og", "a", List.of("o"), MessageModel.CLUSTERING, "AVERAGE", true);
        GroupCoordinator.Assignment a = groups.heartbeat("og", "a");
        groups.lock("og", "a", a.generation(), "o", 1);
        groups.join("og", "b", List.of("o"), MessageModel.CLUSTERING, "AVERAGE", true); // queue 1 moves to b
        groups.heartbeat("og", "a"); // a hears it: the handover is confirmed
        GroupCoordinator.Assignment b = groups.heartbeat("og", "b");
        assertThatThrownBy(() -> groups.lock("og", "b", b.generation(), "o", 1)).as("a may still finish the message in hand")
                .isInstanceOf(QueueLockedException.class);
        GroupCoordinator.Assignment latest = b;
        for (int i = 0; i < 3; i++) { // 6 s: more than the 5 s lock timeout, a heartbeating throughout
            clock.advance(2_000);
            groups.heartbeat("og", "a");
            latest = groups.heartbeat("og", "b");
        }
        long gen = latest.generation();
        assertThat(groups.lock("og", "b", gen, "o", 1)).isPositive();
        groups.lock("og", "a", gen, "o", 0); // a's lock on the queue it kept is still its own
    }

    /**
     * A topic deleted (its records and offsets stay) and created again while a group subscribes to
     * it: the group starts at the queue's end as the topic was created again, not at its first
     * offset, the deleted topic's first record (found by a reviewer: acked messages of the deleted
     * topic were handed out again).
     */
    @Test
    void aTopicDeletedAndCreatedAgainIsReadFromItsCreationNotFromTheDeletedRecords() {
        broker.createTopic("d", 1);
        for (int i = 0; i < 3; i++) {
            broker.send(List.of(LogMessage.builder("d", 0, new byte[] {(byte) i}).build())).join();
        }
        GroupCoordinator.Assignment a = groups.join("g", "m", List.of("d"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(groups.delivered("g", "m", a.generation(), "d", 0, 0, 3, new long[] {0, 1, 2})).isTrue();
        groups.ack("g", "m", a.generation(), "d", 0, new long[] {0, 1, 2});
        broker.deleteTopic("d");
        groups.heartbeat("g", "m");
        broker.createTopic("d", 1);
        broker.send(List.of(LogMessage.builder("d", 0, new byte[] {9}).build())).join(); // sent for the new topic
        groups.heartbeat("g", "m");
        assertThat(broker.committedOffset("g", "d", 0)).as("the new topic's first message, not the deleted topic's").hasValue(3);
    }

    @Test
    void aQueueThatComesBackToItsReaderBeforeItHeardKeepsItsTenure() {
        GroupCoordinator.Assignment a1 = groups.join("g", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true);
        groups.lock("g", "a", a1.generation(), "t", 5);
        groups.join("g", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true); // 4-7 to b, pending from a
        groups.leave("g", "b"); // before a heard: 4-7 come back to a
        GroupCoordinator.Assignment a2 = groups.heartbeat("g", "a");
        assertThat(a2.queues()).filteredOn(q -> q.queueId() == 5).extracting(GroupCoordinator.AssignedQueue::since)
                .as("a never stopped reading queue 5: it goes on, rather than restarting at the committed offset")
                .containsExactly(a1.generation());
        groups.checkConsume("g", "a", a1.generation(), "t", 5);
    }

    /** Orderly member "a" of group "o" locks queue 6, is handed offsets 0-2 and acks them: committed 3. */
    private GroupCoordinator.Assignment orderlyMemberAHandledThreeOfQueue6() {
        GroupCoordinator.Assignment a = groups.join("o", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true);
        groups.lock("o", "a", a.generation(), "t", 6);
        groups.delivered("o", "a", a.generation(), "t", 6, 0, 3, new long[] {0, 1, 2});
        groups.ack("o", "a", a.generation(), "t", 6, new long[] {0, 1, 2});
        assertThat(broker.committedOffset("o", "t", 6)).hasValue(3);
        return a;
    }

    @Test
    void aLatePollOfAnEarlierTenureDoesNotPullTheCommittedOffsetBack() {
        GroupCoordinator.Assignment a1 = orderlyMemberAHandledThreeOfQueue6();
        // queue 6 goes to b and comes back to a after a heard and let go: a new tenure, from the committed offset 3
        groups.join("o", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true);
        groups.heartbeat("o", "a");
        groups.unlock("o", "a", "t", 6);
        groups.leave("o", "b");
        GroupCoordinator.Assignment a3 = groups.heartbeat("o", "a");
        assertThat(a3.queues()).filteredOn(q -> q.queueId() == 6).extracting(GroupCoordinator.AssignedQueue::since)
                .containsExactly(a3.generation());
        groups.lock("o", "a", a3.generation(), "t", 6);
        assertThat(groups.delivered("o", "a", a3.generation(), "t", 6, 3, 5, new long[] {3, 4})).as("a fetch of the new tenure").isTrue();
        // a long poll of the first tenure (from offset 0) answers only now: it must not count, and it is not
        // handed out (the gateway answers FENCED): a member that got its new tenure without hearing of it (an
        // offset reset does that) would otherwise handle 0-2 again and ack them in vain
        assertThat(groups.delivered("o", "a", a1.generation(), "t", 6, 0, 3, new long[] {0, 1, 2}))
                .as("a fetch of the earlier tenure answered late").isFalse();
        assertThat(broker.committedOffset("o", "t", 6)).hasValue(3);
        groups.ack("o", "a", a3.generation(), "t", 6, new long[] {3, 4});
        assertThat(broker.committedOffset("o", "t", 6)).hasValue(5);
    }

    @Test
    void anOrderlyFetchAnsweredAfterItsLockWentIsNotHandedOut() {
        GroupCoordinator.Assignment a = orderlyMemberAHandledThreeOfQueue6();
        groups.unlock("o", "a", "t", 6);
        groups.join("o", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", true); // queue 6 to b, pending from a
        groups.heartbeat("o", "a"); // a heard: b owns it now
        assertThat(groups.delivered("o", "a", a.generation(), "t", 6, 3, 5, new long[] {3, 4}))
                .as("a late fetch of a, which no longer reads queue 6 nor holds its lock").isFalse();
        assertThat(broker.committedOffset("o", "t", 6)).hasValue(3);
    }

    @Test
    void aNonOrderlyFetchAnsweredAfterItsQueueMovedIsFencedAndTheNewOwnerReadsItsMessages() {
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.join("n", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false); // 4-7 to b, pending from a
        groups.heartbeat("n", "a"); // a heard: b reads queue 6 now
        assertThat(groups.delivered("n", "a", a.generation(), "t", 6, 0, 2, new long[] {0, 1}))
                .as("a's long poll answered after queue 6 went to b: not handed out, or a and b both get 0 and 1").isFalse();
        assertThat(broker.committedOffset("n", "t", 6).orElse(0)).as("nothing tracked for a").isZero();
        long bGeneration = groups.heartbeat("n", "b").generation();
        assertThat(groups.delivered("n", "b", bGeneration, "t", 6, 0, 2, new long[] {0, 1}))
                .as("the new owner's fetch from the start").isTrue();
        groups.ack("n", "b", bGeneration, "t", 6, new long[] {0, 1});
        assertThat(broker.committedOffset("n", "t", 6)).hasValue(2);
    }

    /** A long poll of the member a queue is being handed over from, sent before an offset reset, must not undo the reset. */
    @Test
    void aLongPollSentBeforeAnOffsetResetDoesNotCommitTheOldPosition() {
        for (int i = 0; i < 10; i++) {
            broker.send(List.of(LogMessage.builder("t", 6, new byte[] {(byte) i}).build())).join();
        }
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(groups.delivered("n", "a", a.generation(), "t", 6, 0, 5, new long[] {0, 1, 2, 3, 4})).isTrue();
        groups.ack("n", "a", a.generation(), "t", 6, new long[] {0, 1, 2, 3, 4});
        assertThat(broker.committedOffset("n", "t", 6)).hasValue(5);
        groups.join("n", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false); // 4-7 to b, pending from a
        groups.resetOffsets("n", "t", 6, GroupCoordinator.ResetTarget.EARLIEST, 0);
        assertThat(broker.committedOffset("n", "t", 6)).hasValue(0);
        assertThat(groups.delivered("n", "a", a.generation(), "t", 6, 5, 6, new long[] {5}))
                .as("a's long poll from 5, parked before the reset, answering now").isFalse();
        assertThat(broker.committedOffset("n", "t", 6)).as("the reset to 0 stays").hasValue(0);
    }

    /**
     * An ACK sent before its member heard of an offset reset of the queue, arriving after the read
     * begun since the reset has the same offsets in flight, must not undo the reset. Before, the
     * broker took it against the new read's copies (a late ack is taken whatever its generation):
     * committed 5, with nothing handled since the reset.
     */
    @Test
    void anAckSentBeforeAnOffsetResetDoesNotCountForTheReadSinceTheReset() {
        ReadAcrossAReset r = readAcrossAReset("r", 10);
        GroupCoordinator.Assignment a = r.before();
        GroupCoordinator.Assignment heard = r.heard();
        groups.ack("r", "a", a.generation(), "t", 6, new long[] {0, 1, 2, 3, 4});
        assertThat(broker.committedOffset("r", "t", 6)).as("the reset to 0 stays").hasValue(0);
        groups.ack("r", "a", heard.generation(), "t", 6, new long[] {0, 1});
        assertThat(broker.committedOffset("r", "t", 6)).as("the new read's acks count").hasValue(2);
    }

    /** Member a's assignment when it read offsets 0-4 before the reset, and after it heard of the reset. */
    private record ReadAcrossAReset(GroupCoordinator.Assignment before, GroupCoordinator.Assignment heard) {}

    /**
     * Sends {@code count} messages to t/6; member a of {@code group} is handed offsets 0-4, the
     * queue is reset to the earliest, and a, told at its heartbeat, is handed 0-4 again.
     */
    private ReadAcrossAReset readAcrossAReset(String group, int count) {
        for (int i = 0; i < count; i++) {
            broker.send(List.of(LogMessage.builder("t", 6, new byte[] {(byte) i}).build())).join();
        }
        GroupCoordinator.Assignment a = groups.join(group, "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(groups.delivered(group, "a", a.generation(), "t", 6, 0, 5, new long[] {0, 1, 2, 3, 4})).isTrue();
        groups.resetOffsets(group, "t", 6, GroupCoordinator.ResetTarget.EARLIEST, 0);
        GroupCoordinator.Assignment heard = groups.heartbeat(group, "a");
        assertThat(heard.generation()).isGreaterThan(a.generation());
        assertThat(groups.delivered(group, "a", heard.generation(), "t", 6, 0, 5, new long[] {0, 1, 2, 3, 4}))
                .as("the read since the reset").isTrue();
        return new ReadAcrossAReset(a, heard);
    }

    /**
     * A NACK sent at the generation of a FETCH from before an offset reset of the queue (a message
     * handed out before the reset, failed after it) is answered OK and ignored, as such an ACK is:
     * the read begun since the reset has the same offset in flight, and moved to the retry topic it
     * would be handled twice. Before, it was FENCED (the queue's {@code since} is the reset's); sent
     * at the current generation, as clients did, it moved the new read's copy.
     */
    @Test
    void aNackSentBeforeAnOffsetResetIsIgnoredAndLeavesTheReadSinceTheReset() {
        ReadAcrossAReset r = readAcrossAReset("rn", 5);
        GroupCoordinator.Assignment a = r.before();
        GroupCoordinator.Assignment heard = r.heard();
        groups.nack("rn", "a", a.generation(), "t", 6, 0, -1).join(); // answered OK
        String retry = GroupCoordinator.retryTopic("rn");
        int retryQueues = broker.describeTopic(retry).orElseThrow().queueCount();
        for (int q = 0; q < retryQueues; q++) {
            assertThat(broker.store().nextOffset(retry, q)).as("nothing moved to the retry topic").isZero();
        }
        groups.ack("rn", "a", heard.generation(), "t", 6, new long[] {1, 2, 3, 4});
        assertThat(broker.committedOffset("rn", "t", 6)).as("the new read's copy of 0 is still in flight").hasValue(0);
        groups.ack("rn", "a", heard.generation(), "t", 6, new long[] {0});
        assertThat(broker.committedOffset("rn", "t", 6)).as("handled since the reset, then acked").hasValue(5);
    }

    /**
     * A DELETE_GROUP that ran while the group was being joined (between the join's two steps)
     * leaves a live member without a retry topic; its first NACK makes the topic again, and the
     * group starts it after the deleted group's copies, as a join does. Before, the move made it
     * with no offset, and the member's next heartbeat started it at its beginning, among them.
     */
    @Test
    void aRetryTopicMadeAgainByAMoveStartsAfterTheDeletedGroupsCopies() {
        broker.createTopic("one", 1);
        broker.send(List.of(LogMessage.builder("one", 0, new byte[] {1}).build())).join();
        GroupCoordinator.Assignment a = groups.join("r", "m1", List.of("one"), MessageModel.CLUSTERING, "AVERAGE", false);
        String retry = GroupCoordinator.retryTopic("r");
        for (int i = 0; i < 3; i++) {
            broker.send(List.of(LogMessage.builder(retry, 0, new byte[] {2}).build())).join(); // the old group's copies
        }
        broker.deleteTopic(retry); // what the racing DELETE_GROUP left: a live member, no retry topic
        assertThat(groups.delivered("r", "m1", a.generation(), "one", 0, 0, 1, new long[] {0})).isTrue();
        groups.nack("r", "m1", a.generation(), "one", 0, 0, -1).join();
        assertThat(broker.committedOffset("r", retry, 0)).as("the group starts the retry topic after the old copies").hasValue(3);
    }

    /**
     * The last member's session expires while it is handling messages (a GC pause, a stalled
     * connection): its group goes. When it joins again, every queue has a new {@code since}, so it
     * restarts at the committed offset, and its NACK of a message of the old group is fenced.
     * Before, generations counted from 1 again: the same {@code since} told it to read on from its
     * own position, the new group committed that position past 0..2, never acked, and a NACK of
     * one of them was answered OK and dropped.
     */
    @Test
    void aGroupMadeAgainAfterItsLastMemberExpiredNeverReusesAGeneration() {
        broker.createTopic("one", 1);
        GroupCoordinator.Assignment first = groups.join("x", "m1", List.of("one"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(groups.delivered("x", "m1", first.generation(), "one", 0, 0, 3, new long[] {0, 1, 2})).isTrue();
        clock.advance(10_001);
        GroupCoordinator.Assignment again = groups.join("x", "m1", List.of("one"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(again.generation()).isGreaterThan(first.generation());
        long sinceBefore = first.queues().stream().filter(q -> q.topic().equals("one")).findFirst().orElseThrow().since();
        long sinceNow = again.queues().stream().filter(q -> q.topic().equals("one")).findFirst().orElseThrow().since();
        assertThat(sinceNow).as("a new since: restart at the committed offset").isGreaterThan(sinceBefore);
        assertThat(broker.committedOffset("x", "one", 0).orElse(0)).as("0..2 were never acked").isZero();
        assertThatThrownBy(() -> groups.nack("x", "m1", first.generation(), "one", 0, 1, -1))
                .as("a NACK sent at the old group's generation").isInstanceOf(FencedException.class);
    }

    @Test
    void aFetchOfAMemberThatLeftIsNotHandedOut() {
        GroupCoordinator.Assignment a = groups.join("n", "a", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.join("n", "b", List.of("t"), MessageModel.CLUSTERING, "AVERAGE", false);
        groups.leave("n", "a");
        assertThat(groups.delivered("n", "a", a.generation(), "t", 6, 0, 2, new long[] {0, 1})).isFalse();
        groups.leave("n", "b"); // the last member: the group goes
        assertThat(groups.delivered("n", "b", a.generation(), "t", 2, 0, 2, new long[] {0, 1})).as("after the last member left")
                .isFalse();
    }

    @Test
    void aLateFetchBelowTheCommittedOffsetChangesNothing() {
        GroupCoordinator.Assignment a = orderlyMemberAHandledThreeOfQueue6();
        // a fetch parked before a reconnect, of the same tenure, answers after the member read and acked past it
        groups.delivered("o", "a", a.generation(), "t", 6, 0, 4, new long[] {0, 1, 2, 3});
        assertThat(broker.committedOffset("o", "t", 6)).hasValue(3);
        groups.ack("o", "a", a.generation(), "t", 6, new long[] {3});
        assertThat(broker.committedOffset("o", "t", 6)).hasValue(4);
    }

    // ---- broadcasting members' positions ---------------------------------------------------------

    private void send(String topic, int queueId, int count) {
        for (int i = 0; i < count; i++) {
            broker.send(List.of(LogMessage.builder(topic, queueId, ("m" + i).getBytes(StandardCharsets.UTF_8)).build())).join();
        }
    }

    private GroupCoordinator.Assignment broadcasting(String group, String clientId, String topic) {
        return groups.join(group, clientId, List.of(topic), MessageModel.BROADCASTING, "AVERAGE", false);
    }

    /**
     * RESET_OFFSETS of a broadcasting group moves the positions of its members that are not live
     * too (resetting with the consumers stopped is the usual practice), with a member live and with
     * none, and writes nothing under the group's own name, which no broadcasting member reads.
     */
    @Test
    void aResetOfABroadcastingGroupMovesThePositionsOfMembersNotLive() {
        broker.createTopic("orders", 2);
        send("orders", 0, 5);
        broadcasting("b", "m1", "orders");
        broadcasting("b", "m2", "orders");
        broker.commitOffset("b%m1", "orders", 0, 1);
        broker.commitOffset("b%m2", "orders", 0, 2);
        groups.leave("b", "m1");

        // m2 live: a reset to the latest skips the backlog for m1 as well
        assertThat(groups.resetOffsets("b", "orders", -1, GroupCoordinator.ResetTarget.LATEST, 0))
                .containsExactly(entry(0, 5L), entry(1, 0L));
        assertThat(broker.committedOffset("b%m1", "orders", 0)).as("the member not live").hasValue(5);
        assertThat(broker.committedOffset("b%m2", "orders", 0)).as("the live member").hasValue(5);
        assertThat(broker.committedOffset("b%m1", "orders", 1)).as("every queue of the topic").hasValue(0);

        // no member live
        groups.leave("b", "m2");
        assertThat(groups.resetOffsets("b", "orders", 0, GroupCoordinator.ResetTarget.OFFSET, 3)).containsExactly(entry(0, 3L));
        assertThat(broker.committedOffset("b%m1", "orders", 0)).hasValue(3);
        assertThat(broker.committedOffset("b%m2", "orders", 0)).hasValue(3);
        assertThat(broker.committedOffsets("b")).as("offsets under the group's own name").isEmpty();
        assertThat(groups.join("b", "m1", List.of("orders"), MessageModel.BROADCASTING, "AVERAGE", false).queues()).hasSize(2);
        assertThat(broker.committedOffset("b%m1", "orders", 0)).as("where m1 reads on when it comes back").hasValue(3);

        // a topic none of its members reads: nothing to move, and nothing written
        broker.createTopic("other", 1);
        assertThat(groups.resetOffsets("b", "other", -1, GroupCoordinator.ResetTarget.EARLIEST, 0)).isEmpty();
        assertThat(broker.committedOffsets().stream().filter(c -> c.topic().equals("other"))).isEmpty();
    }

    /**
     * A group not live with offsets of its own beside its members' positions (broadcasting once,
     * clustering now) has both moved: its reset is no less than a clustering group's. A clustering
     * group's, live or unknown, is as it was.
     */
    @Test
    void aGroupNotLiveWithOffsetsOfItsOwnAndMembersPositionsHasBothMoved() {
        broker.createTopic("orders", 1);
        send("orders", 0, 4);
        broker.commitOffset("c", "orders", 0, 1);
        broker.commitOffset("c%old", "orders", 0, 2);
        assertThat(groups.resetOffsets("c", "orders", -1, GroupCoordinator.ResetTarget.LATEST, 0)).containsExactly(entry(0, 4L));
        assertThat(broker.committedOffset("c", "orders", 0)).hasValue(4);
        assertThat(broker.committedOffset("c%old", "orders", 0)).hasValue(4);
        assertThat(groups.describe("c").queues()).as("both, the member's position owned by it")
                .extracting(GroupDescription.QueueState::owner, GroupDescription.QueueState::committed)
                .containsExactly(tuple("old", 4L), tuple("", 4L));

        groups.join("k", "a", List.of("orders"), MessageModel.CLUSTERING, "AVERAGE", false);
        assertThat(groups.resetOffsets("k", "orders", -1, GroupCoordinator.ResetTarget.OFFSET, 2)).containsExactly(entry(0, 2L));
        assertThat(broker.committedOffset("k", "orders", 0)).hasValue(2);
        assertThat(groups.resetOffsets("unknown", "orders", 0, GroupCoordinator.ResetTarget.EARLIEST, 0)).containsExactly(entry(0, 0L));
        assertThat(broker.committedOffset("unknown", "orders", 0)).hasValue(0);
    }

    /** Moves the clock by {@code ms} in sweeps 5 s apart, each after a heartbeat of the {@code live} members of {@code group}. */
    private void sweepFor(long ms, String group, String... live) {
        for (long t = 0; t < ms; t += 5_000) {
            clock.advance(5_000);
            for (String m : live) {
                groups.heartbeat(group, m);
            }
            groups.tick();
        }
    }

    /**
     * The positions of a broadcasting member not live for longer than the retention are forgotten
     * (exactly its own: not another name's that begins with it); a live member's, and those of one
     * gone for less, stay. Positions with no record of when their member was live (stored before a
     * restart) count from when the sweep first sees them.
     */
    @Test
    void thePositionsOfABroadcastingMemberNotLiveForTheRetentionAreForgotten() {
        broker.close();
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.builder().sessionTimeoutMs(10_000).sweepIntervalMs(3_600_000).broadcastPositionRetentionMs(600_000)
                        .clock(clock).build());
        groups = broker.groups();
        broadcasting("b", "gone", "t");
        broadcasting("b", "brief", "t");
        broadcasting("b", "live", "t");
        broadcasting("b", "gone.x", "t"); // its name begins with gone's: live all along, its position stays
        broker.commitOffset("b%gone", "t", 0, 1);
        broker.commitOffset("b%gone", "t", 1, 1);
        broker.commitOffset("b%brief", "t", 0, 2);
        broker.commitOffset("b%live", "t", 0, 3);
        broker.commitOffset("b%gone.x", "t", 0, 4);
        groups.tick();
        groups.leave("b", "gone");

        sweepFor(300_000, "b", "brief", "live", "gone.x");
        groups.leave("b", "brief");
        broker.commitOffset("b%restarted", "t", 0, 5); // no record of when its member was live: counts from the next check
        sweepFor(360_000, "b", "live", "gone.x"); // 11 min: gone 11 min, brief 6 min, restarted seen for 5 min
        assertThat(broker.committedOffsets("b%gone")).as("not live for 11 min").isEmpty();
        assertThat(broker.committedOffset("b%brief", "t", 0)).as("not live for 6 min").hasValue(2);
        assertThat(broker.committedOffset("b%restarted", "t", 0)).as("seen for 5 min").hasValue(5);
        assertThat(broker.committedOffset("b%live", "t", 0)).hasValue(3);
        assertThat(broker.committedOffset("b%gone.x", "t", 0)).as("another name's").hasValue(4);

        sweepFor(360_000, "b", "live", "gone.x"); // 17 min
        assertThat(broker.committedOffsets("b%brief")).as("not live for 12 min").isEmpty();
        assertThat(broker.committedOffsets("b%restarted")).as("seen for 11 min").isEmpty();
        assertThat(broker.committedOffset("b%live", "t", 0)).as("live all along").hasValue(3);
        assertThat(broker.committedOffset("b%gone.x", "t", 0)).hasValue(4);
        assertThat(groups.listGroups()).containsExactly("b");
    }

    /** The sweep looks for positions past their retention about once a minute, not at every sweep. */
    @Test
    void positionsPastTheirRetentionAreLookedForAboutOnceAMinute() {
        long retention = GroupConfig.DEFAULT_BROADCAST_POSITION_RETENTION_MS;
        groups.tick();
        broadcasting("b", "m", "t");
        broker.commitOffset("b%m", "t", 0, 7);
        groups.leave("b", "m");
        clock.advance(retention - 1);
        groups.tick();
        assertThat(broker.committedOffset("b%m", "t", 0)).as("1 ms short of the retention").hasValue(7);
        clock.advance(2);
        groups.tick();
        assertThat(broker.committedOffset("b%m", "t", 0)).as("past the retention, 2 ms after the last check").hasValue(7);
        clock.advance(60_000);
        groups.tick();
        assertThat(broker.committedOffsets("b%m")).isEmpty();
    }

    /**
     * LIST_GROUPS and DESCRIBE_GROUP show a broadcasting member's positions when it is not live:
     * beside a live member, and with no member live (where DESCRIBE_GROUP was NOT_FOUND).
     */
    @Test
    void aBroadcastingMemberNotLiveIsListedAndDescribedByItsPositions() {
        broker.createTopic("orders", 2);
        send("orders", 1, 3);
        broadcasting("b", "m1", "orders");
        broadcasting("b", "m2", "orders");
        broker.commitOffset("b%m1", "orders", 1, 2);
        groups.leave("b", "m1");

        GroupDescription d = groups.describe("b");
        assertThat(d.members()).extracting(GroupDescription.Member::clientId).containsExactly("m2");
        assertThat(d.queues()).containsExactly(
                new GroupDescription.QueueState("orders", 1, "m1", 2, 3, 1, ""),
                new GroupDescription.QueueState("orders", 0, "m2", -1, 0, 0, ""),
                new GroupDescription.QueueState("orders", 1, "m2", -1, 3, 3, ""));

        groups.leave("b", "m2");
        assertThat(groups.listGroups()).containsExactly("b");
        d = groups.describe("b");
        assertThat(d.model()).isNull();
        assertThat(d.members()).isEmpty();
        assertThat(d.queues()).containsExactly(new GroupDescription.QueueState("orders", 1, "m1", 2, 3, 1, ""));
    }
}
