package dev.ferry.gateway;

import dev.ferry.broker.Broker;
import dev.ferry.broker.FencedException;
import dev.ferry.broker.GroupCoordinator;
import dev.ferry.broker.GroupDescription;
import dev.ferry.broker.MessageModel;
import dev.ferry.protocol.Command;
import dev.ferry.protocol.Headers;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The consumer-group request codes (JOIN_GROUP .. DELETE_GROUP, ACK, NACK) and the group part of
 * FETCH and COMMIT_OFFSET: a member's fetch is checked against its assignment (FENCED if it does
 * not own the queue at its generation) and what it hands out is tracked for acks
 * ({@link GroupCoordinator}). docs/PROTOCOL.md, "Consumer groups", has the formats.
 *
 * <p><b>Thread safety.</b> Stateless; the coordinator synchronizes.
 */
final class GroupRequests {
    private final Broker broker;
    private final GroupCoordinator groups;
    private final GatewayMetrics metrics;

    GroupRequests(Broker broker, GatewayMetrics metrics) {
        this.broker = broker;
        this.groups = broker.groups();
        this.metrics = metrics;
    }

    Command handle(Command req) {
        return switch (req.code()) {
            case JOIN_GROUP -> join(req);
            case LEAVE_GROUP -> {
                groups.leave(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID));
                yield Command.response(req, Status.OK).build();
            }
            case GROUP_HEARTBEAT -> assignment(req, groups.heartbeat(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID)))
                    .build();
            case LIST_GROUPS -> {
                List<String> names = groups.listGroups();
                yield Command.response(req, Status.OK).header(Headers.COUNT, names.size())
                        .body(String.join("\n", names).getBytes(StandardCharsets.UTF_8)).build();
            }
            case DESCRIBE_GROUP -> describe(req);
            case DELETE_GROUP -> {
                String group = required(req, Headers.GROUP);
                if (groups.deleteGroup(group)) {
                    metrics.topicDeleted(GroupCoordinator.retryTopic(group));
                }
                yield Command.response(req, Status.OK).build();
            }
            case RESET_OFFSETS -> reset(req);
            case ACK -> ack(req);
            case LOCK_QUEUE -> {
                long expires = groups.lock(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID), generation(req),
                        required(req, Headers.TOPIC), queueId(req));
                yield Command.response(req, Status.OK).header(Headers.LOCK_EXPIRES_AT, expires).build();
            }
            case UNLOCK_QUEUE -> {
                groups.unlock(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID), required(req, Headers.TOPIC), queueId(req));
                yield Command.response(req, Status.OK).build();
            }
            default -> throw new IllegalArgumentException(req.code().toString());
        };
    }

    /**
     * JOIN_GROUP. The {@code topics} header is at most a header value long (the codec checked it), so
     * its list is bounded before the coordinator checks it against its limit of topics per member,
     * before it creates anything; a join beyond a limit is LIMIT_EXCEEDED.
     */
    private Command join(Command req) {
        String topics = required(req, Headers.TOPICS);
        List<String> list = Arrays.stream(topics.split(",")).map(String::trim).filter(t -> !t.isEmpty()).distinct().toList();
        MessageModel model;
        try {
            model = MessageModel.valueOf(header(req, Headers.MODE, "CLUSTERING").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "header mode: '" + req.header(Headers.MODE)
                    + "' (expected: CLUSTERING or BROADCASTING)");
        }
        String strategy = header(req, Headers.STRATEGY, "AVERAGE").toUpperCase(Locale.ROOT);
        boolean orderly = orderly(req);
        GroupCoordinator.Assignment a;
        try {
            a = groups.join(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID), list, model, strategy, orderly);
        } catch (GroupCoordinator.GroupLimitException e) {
            throw new Requests.RequestException(Status.LIMIT_EXCEEDED, e.getMessage());
        }
        return assignment(req, a).header(Headers.SESSION_TIMEOUT_MS, groups.config().sessionTimeoutMs()).build();
    }

    /** Response with the generation and a body of {@code topic queueId since} lines. */
    private static Command.Builder assignment(Command req, GroupCoordinator.Assignment a) {
        StringBuilder body = new StringBuilder();
        for (GroupCoordinator.AssignedQueue q : a.queues()) {
            body.append(q.topic()).append(' ').append(q.queueId()).append(' ').append(q.since()).append('\n');
        }
        return Command.response(req, Status.OK).header(Headers.GENERATION, a.generation())
                .body(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private Command describe(Command req) {
        GroupDescription d = groups.describe(required(req, Headers.GROUP));
        StringBuilder body = new StringBuilder();
        for (GroupDescription.Member m : d.members()) {
            body.append("member ").append(m.clientId()).append(' ').append(String.join(",", m.topics())).append(' ')
                    .append(m.orderly()).append(' ').append(m.lastHeartbeatMs()).append('\n');
        }
        for (GroupDescription.QueueState q : d.queues()) {
            body.append("queue ").append(q.topic()).append(' ').append(q.queueId()).append(' ').append(dash(q.owner())).append(' ')
                    .append(q.committed()).append(' ').append(q.maxOffset()).append(' ').append(q.lag()).append(' ')
                    .append(dash(q.lockedBy())).append('\n');
        }
        return Command.response(req, Status.OK).header(Headers.GROUP, d.group())
                .header(Headers.MODE, d.model() == null ? "-" : d.model().name()).header(Headers.STRATEGY, dash(d.strategy()))
                .header(Headers.GENERATION, d.generation()).header(Headers.MEMBERS, d.members().size())
                .body(body.toString().getBytes(StandardCharsets.UTF_8)).build();
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    private Command reset(Command req) {
        String to = required(req, Headers.TO).toUpperCase(Locale.ROOT);
        GroupCoordinator.ResetTarget target;
        try {
            target = GroupCoordinator.ResetTarget.valueOf(to);
        } catch (IllegalArgumentException e) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "header to: '" + req.header(Headers.TO)
                    + "' (expected: earliest, latest, timestamp or offset)");
        }
        long value = switch (target) {
            case TIMESTAMP -> number(req, Headers.TIMESTAMP, required(req, Headers.TIMESTAMP));
            case OFFSET -> number(req, Headers.OFFSET, required(req, Headers.OFFSET));
            default -> 0;
        };
        int queueId = req.header(Headers.QUEUE_ID) == null ? -1 : queueId(req);
        Map<Integer, Long> done = groups.resetOffsets(required(req, Headers.GROUP), required(req, Headers.TOPIC), queueId, target, value);
        StringBuilder body = new StringBuilder();
        done.forEach((q, o) -> body.append(q).append(' ').append(o).append('\n'));
        return Command.response(req, Status.OK).header(Headers.COUNT, done.size())
                .body(body.toString().getBytes(StandardCharsets.UTF_8)).build();
    }

    private Command ack(Command req) {
        String list = req.header(Headers.OFFSETS);
        long[] offsets;
        if (list != null) {
            String[] parts = list.split(",");
            offsets = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                offsets[i] = number(req, Headers.OFFSETS, parts[i]);
            }
        } else {
            offsets = new long[] {number(req, Headers.OFFSET, required(req, Headers.OFFSET))};
        }
        groups.ack(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID), generation(req), required(req, Headers.TOPIC),
                queueId(req), offsets);
        return Command.response(req, Status.OK).build();
    }

    CompletableFuture<Reply> nack(Command req) {
        int reconsume = -1;
        if (req.header(Headers.RECONSUME_TIMES) != null) {
            long n = number(req, Headers.RECONSUME_TIMES, req.header(Headers.RECONSUME_TIMES));
            if (n < 0) { // taken as 0 it restarted the count: a client sending it kept a failing message retrying for ever
                throw new Requests.RequestException(Status.BAD_REQUEST, "header " + Headers.RECONSUME_TIMES + ": " + n + " (expected: >= 0)");
            }
            reconsume = (int) Math.min(Integer.MAX_VALUE, n);
        }
        int maxReconsume = -1; // the broker's
        if (req.header(Headers.MAX_RECONSUME_TIMES) != null) {
            long n = number(req, Headers.MAX_RECONSUME_TIMES, req.header(Headers.MAX_RECONSUME_TIMES));
            if (n < 0 || n > Headers.MAX_RECONSUME_TIMES_LIMIT) {
                throw new Requests.RequestException(Status.BAD_REQUEST, "header " + Headers.MAX_RECONSUME_TIMES + ": " + n
                        + " (expected: 0.." + Headers.MAX_RECONSUME_TIMES_LIMIT + ")");
            }
            maxReconsume = (int) n;
        }
        return groups.nack(required(req, Headers.GROUP), required(req, Headers.CLIENT_ID), generation(req), required(req, Headers.TOPIC),
                queueId(req), number(req, Headers.OFFSET, required(req, Headers.OFFSET)), reconsume, maxReconsume)
                .thenApply(v -> new Reply.Plain(Command.response(req, Status.OK).build()));
    }

    /**
     * FETCH: a plain fetch unless it names a member ({@code group} and {@code clientId}); a member's
     * is checked against its assignment, and what it returns is recorded as in flight.
     */
    CompletableFuture<Reply> fetch(Command req, Function<Command, CompletableFuture<Reply>> plainFetch) {
        String group = req.header(Headers.GROUP);
        String clientId = req.header(Headers.CLIENT_ID);
        if (group == null || clientId == null) {
            return plainFetch.apply(req);
        }
        String topic = required(req, Headers.TOPIC);
        int queueId = queueId(req);
        long from = number(req, Headers.OFFSET, required(req, Headers.OFFSET));
        groups.checkConsume(group, clientId, generation(req), topic, queueId);
        if (groups.model(group) != MessageModel.CLUSTERING) {
            return plainFetch.apply(req);
        }
        return plainFetch.apply(req).thenApply(reply -> {
            Command c = reply instanceof Reply.Records r ? r.command() : ((Reply.Plain) reply).command();
            if (c.status() != Status.OK || c.header(Headers.NEXT_OFFSET) == null) {
                return reply;
            }
            long next = Long.parseLong(c.header(Headers.NEXT_OFFSET));
            long[] offsets;
            if (reply instanceof Reply.Records r) {
                offsets = new long[r.records().messageCount()];
                for (int i = 0; i < offsets.length; i++) {
                    offsets[i] = r.records().queueOffset(i);
                }
            } else {
                List<Message> ms = c.messages();
                offsets = new long[ms.size()];
                for (int i = 0; i < offsets.length; i++) {
                    offsets[i] = ms.get(i).queueOffset();
                }
            }
            boolean counted = false;
            try {
                counted = groups.delivered(group, clientId, generation(req), topic, queueId, from, next, offsets);
            } finally {
                if (!counted && reply instanceof Reply.Records r) {
                    r.records().close(); // its file regions are never written
                }
            }
            if (!counted) {
                throw new FencedException(topic + "/" + queueId + ": while the fetch waited, the member left, got the queue again at a"
                        + " later generation, or (orderly) lost it and its lock; nothing handed out (expected: heartbeat and follow"
                        + " the assignment)");
            }
            return reply;
        });
    }

    /**
     * COMMIT_OFFSET by a member ({@code clientId} given): of a live clustering group, only on a
     * queue it owns; of a broadcasting group, its own position ({@code group} GROUP%CLIENT_ID) only
     * from a read begun at a {@code generation} of its current session and not before the queue's
     * last offset reset ({@link GroupCoordinator#checkPositionCommit}). The check and {@code commit}
     * (the store) run under one hold of the coordinator ({@link GroupCoordinator#checkedCommit}):
     * checked first and stored after, a reset could land between and be undone by the store.
     */
    Command checkedCommit(Command req, java.util.function.Supplier<Command> commit) {
        String group = req.header(Headers.GROUP);
        String clientId = req.header(Headers.CLIENT_ID);
        if (group == null || clientId == null) {
            return commit.get();
        }
        long generation = generation(req);
        String topic = required(req, Headers.TOPIC);
        int queueId = queueId(req);
        // checked and stored under one hold of the coordinator, so that no offset reset lands between them
        return groups.checkedCommit(() -> {
            if (groups.model(group) == MessageModel.CLUSTERING) {
                groups.checkConsume(group, clientId, generation, topic, queueId);
            } else {
                groups.checkPositionCommit(group, clientId, generation, topic, queueId);
            }
            return commit.get();
        });
    }

    private static long generation(Command req) {
        return number(req, Headers.GENERATION, header(req, Headers.GENERATION, "0"));
    }

    private static int queueId(Command req) {
        long v = number(req, Headers.QUEUE_ID, required(req, Headers.QUEUE_ID));
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "header queueId: " + v + " (expected: 0.." + Integer.MAX_VALUE + ")");
        }
        return (int) v;
    }

    /**
     * JOIN_GROUP's {@code orderly}: {@code true} or {@code false} (any case), absent = false. Anything
     * else is BAD_REQUEST, as a bad {@code mode} or {@code strategy} is: it was read with
     * {@code Boolean.parseBoolean}, so a client sending {@code yes} or {@code 1} joined as a
     * non-orderly member, without queue locks and with a retry topic, and was never told.
     */
    private static boolean orderly(Command req) {
        String v = header(req, Headers.ORDERLY, "false");
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new Requests.RequestException(Status.BAD_REQUEST, "header orderly: '" + v + "' (expected: true or false)");
    }

    private static String header(Command req, String name, String otherwise) {
        String v = req.header(name);
        return v == null ? otherwise : v;
    }

    private static String required(Command req, String name) {
        String v = req.header(name);
        if (v == null) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "header " + name + ": missing (expected for " + req.code() + ")");
        }
        return v;
    }

    private static long number(Command req, String name, String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new Requests.RequestException(Status.BAD_REQUEST, "header " + name + ": '" + value + "' (expected: a decimal integer)");
        }
    }

    static List<String> lines(String body) {
        List<String> out = new ArrayList<>();
        for (String l : body.split("\n")) {
            if (!l.isEmpty()) {
                out.add(l);
            }
        }
        return out;
    }
}
