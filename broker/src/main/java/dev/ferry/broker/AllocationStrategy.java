package dev.ferry.broker;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Shares the queues of one topic among the members of a clustering group. Called by the
 * coordinator on every rebalance with the members sorted by client id, so every call with the
 * same input gives the same answer; each queue goes to exactly one member.
 *
 * <p>Implementations must be thread-safe, and give answers that depend on their arguments only
 * (a cache of what they computed is fine).
 */
public interface AllocationStrategy {
    /** Queue ids per member, for queues {@code 0..queueCount-1} of {@code topic}; every member is a key. */
    Map<String, List<Integer>> allocate(String topic, int queueCount, List<String> sortedMembers);

    /** The strategy's wire name ({@code AVERAGE}, {@code CONSISTENT_HASH}). */
    String name();

    /** The built-in strategy named {@code name}. */
    static AllocationStrategy named(String name) {
        return switch (name) {
            case "AVERAGE" -> Averaged.INSTANCE;
            case "CONSISTENT_HASH" -> ConsistentHash.INSTANCE;
            default -> throw new BrokerException("strategy: '" + name + "' (expected: AVERAGE or CONSISTENT_HASH)");
        };
    }

    /**
     * Contiguous ranges, like RocketMQ's AllocateMessageQueueAveragely: with q queues and m
     * members the first {@code q mod m} members get {@code q/m + 1} queues, the others
     * {@code q/m}; member i's range starts where member i-1's ended. Minimal skew, but a join
     * moves most queues.
     */
    final class Averaged implements AllocationStrategy {
        static final Averaged INSTANCE = new Averaged();

        @Override
        public Map<String, List<Integer>> allocate(String topic, int queueCount, List<String> members) {
            Map<String, List<Integer>> out = new LinkedHashMap<>();
            int m = members.size();
            int next = 0;
            for (int i = 0; i < m; i++) {
                int n = queueCount / m + (i < queueCount % m ? 1 : 0);
                List<Integer> qs = new ArrayList<>(n);
                for (int k = 0; k < n; k++) {
                    qs.add(next++);
                }
                out.put(members.get(i), qs);
            }
            return out;
        }

        @Override
        public String name() {
            return "AVERAGE";
        }
    }

    /**
     * Consistent hashing with {@value #VIRTUAL_NODES} virtual nodes per member on a 64-bit ring
     * (FNV-1a of {@code member#i}); a queue goes to the first node at or after the hash of
     * {@code topic#queue}. A join or a leave moves only about 1/m of the queues, at the price of
     * some skew with few queues.
     */
    final class ConsistentHash implements AllocationStrategy {
        static final ConsistentHash INSTANCE = new ConsistentHash();
        static final int VIRTUAL_NODES = 64;

        /** A ring, kept for the next call: a rebalance allocates every topic of a group, mostly to the same members. */
        private record Ring(List<String> members, TreeMap<Long, String> nodes) {}

        /** The last ring built; never changed once published, so any thread may read it. */
        private volatile Ring last;

        @Override
        public Map<String, List<Integer>> allocate(String topic, int queueCount, List<String> members) {
            TreeMap<Long, String> ring = ring(members);
            Map<String, List<Integer>> out = new LinkedHashMap<>();
            members.forEach(mb -> out.put(mb, new ArrayList<>()));
            for (int q = 0; q < queueCount && !ring.isEmpty(); q++) {
                Map.Entry<Long, String> e = ring.ceilingEntry(hash(topic + "#" + q));
                out.get((e != null ? e : ring.firstEntry()).getValue()).add(q);
            }
            return out;
        }

        /**
         * The ring of {@code members}: built again only when they differ from the last call's
         * (64 hashes a member: 1,000 members and 256 topics were 16 million hashes a rebalance,
         * under the coordinator's monitor).
         */
        private TreeMap<Long, String> ring(List<String> members) {
            Ring r = last;
            if (r != null && r.members.equals(members)) {
                return r.nodes;
            }
            TreeMap<Long, String> ring = new TreeMap<>();
            for (String member : members) {
                for (int i = 0; i < VIRTUAL_NODES; i++) {
                    ring.putIfAbsent(hash(member + "#" + i), member);
                }
            }
            last = new Ring(List.copyOf(members), ring);
            return ring;
        }

        @Override
        public String name() {
            return "CONSISTENT_HASH";
        }

        static long hash(String s) {
            long h = 0xcbf29ce484222325L;
            for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
                h ^= b & 0xff;
                h *= 0x100000001b3L;
            }
            // FNV's low bits mix poorly for short keys differing in the last byte: finish with a murmur3 fmix64
            h ^= h >>> 33;
            h *= 0xff51afd7ed558ccdL;
            h ^= h >>> 33;
            h *= 0xc4ceb9fe1a85ec53L;
            return h ^ (h >>> 33);
        }
    }
}
