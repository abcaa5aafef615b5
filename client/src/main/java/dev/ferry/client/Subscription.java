package dev.ferry.client;

import dev.ferry.protocol.Message;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A push-style consumer: a thread of its own polls a {@link Consumer} and calls a
 * {@link MessageHandler} for each message, then commits what was handled. Made by
 * {@link FerryClient#subscribe}.
 *
 * <p>At-least-once: a message is committed only after its handler returned. A handler that
 * throws gets the same message again after the consumer's retry backoff, and the messages after
 * it in that queue wait; other queues go on.
 *
 * <p>Made with a {@link GroupConsumerConfig}, it is a group member ({@link GroupConsumer}): a
 * handler that returns acks the message; one that throws nacks it (clustering: the broker
 * redelivers it through the group's retry topic with a growing delay, and after too many
 * failures moves it to the dead-letter topic {@code %DLQ%GROUP}). An orderly or broadcasting
 * member instead retries a failed message in place after
 * {@link GroupConsumerConfig#retryBackoffMs()}, blocking its queue (and, one thread, the others), up
 * to {@link GroupConsumerConfig#inPlaceRetries()} times; then an orderly clustering member nacks it
 * to the dead-letter topic and a broadcasting one, orderly or not, skips it (acks it): a
 * broadcasting group has no retry or dead-letter topic, as in RocketMQ.
 *
 * <p><b>Thread safety.</b> {@link #close()} may be called from any thread; from the handler, or
 * on the client's event loop (a callback of a future), it only asks the thread to stop after the
 * handler returns. The consumer is used only by the subscription's thread.
 */
public final class Subscription implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Subscription.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final Consumer consumer;
    private final GroupConsumer member;
    private final MessageHandler handler;
    private final Thread thread;
    /** The client's event loops, on which {@link #close(Duration)} must not wait. */
    private final Transport transport;
    /** Cleared by close(); volatile because close runs on another thread than the loop it stops. */
    private volatile boolean running = true;

    Subscription(Consumer consumer, MessageHandler handler) {
        this.consumer = consumer;
        this.member = null;
        this.handler = handler;
        this.transport = consumer.client().transport();
        this.thread = new Thread(this::run, "ferry-subscription-" + consumer.queues());
        thread.setDaemon(true);
        thread.start();
    }

    Subscription(GroupConsumer member, MessageHandler handler) {
        this.consumer = null;
        this.member = member;
        this.handler = handler;
        this.transport = member.client().transport();
        this.thread = new Thread(this::runMember, "ferry-subscription-" + member.config().group() + "-" + member.config().clientId());
        thread.setDaemon(true);
        thread.start();
    }

    private static final long FAILURE_PAUSE_MS = 200;

    private static void pauseAfterFailure() {
        try {
            Thread.sleep(FAILURE_PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (running) {
                List<Message> batch;
                try {
                    batch = consumer.poll(POLL);
                } catch (FerryException e) {
                    LOG.warn("subscription: {}", e.getMessage());
                    pauseAfterFailure(); // a failure that repeats (corrupt records, a deleted topic) must not spin
                    continue;
                }
                Set<Integer> stalled = new HashSet<>();
                for (int i = 0; i < batch.size(); i++) {
                    Message m = batch.get(i);
                    if (!running) {
                        rewind(batch.subList(i, batch.size()), stalled);
                        break;
                    }
                    if (stalled.contains(m.queueId())) {
                        continue;
                    }
                    try {
                        handler.handle(m);
                    } catch (Exception | AssertionError e) {
                        LOG.warn("subscription: handler failed on {}/{}@{}, redelivering: {}", m.topic(), m.queueId(),
                                m.queueOffset(), e.toString());
                        stalled.add(m.queueId());
                        consumer.seek(m.queueId(), m.queueOffset());
                    } catch (Error e) {
                        // the thread ends with it; close() below commits, and must not pass this message and the rest
                        LOG.error("subscription: handler failed on {}/{}@{}; stopping", m.topic(), m.queueId(), m.queueOffset(), e);
                        rewind(batch.subList(i, batch.size()), stalled);
                        throw e;
                    }
                }
                if (!batch.isEmpty()) {
                    consumer.autoCommit(); // a failure is logged, and one refused for good thrown by the next poll
                }
                if (!stalled.isEmpty()) {
                    Thread.sleep(100);
                }
            }
        } catch (InterruptedException e) {
            // close() interrupted a handler that did not return in time: the thread ends here
        } finally {
            Thread.interrupted(); // close()'s interrupt must not fail the commit below
            consumer.close();
        }
    }

    /**
     * Closing in the middle of a batch: each queue goes back to its first message not handled, so
     * that the commits (below, and close()'s) stop there; the consumer's positions covered the whole
     * batch. A stalled queue went back to its failed message already.
     */
    private void rewind(List<Message> unhandled, Set<Integer> stalled) {
        Set<Integer> rewound = new HashSet<>(stalled);
        for (Message m : unhandled) {
            if (rewound.add(m.queueId())) {
                consumer.seek(m.queueId(), m.queueOffset());
            }
        }
    }

    private void runMember() {
        GroupConsumerConfig config = member.config();
        boolean broadcasting = config.model() == GroupConsumerConfig.Model.BROADCASTING;
        boolean inPlace = config.orderly() || broadcasting;
        // An orderly broadcasting member skips too: its NACK, which the broker answers OK and ignores in a
        // broadcasting group, left the message unacked, so the member's position stayed before it when it was
        // the last of its queue, and the member got it again (and failed it as often again) when it came back
        // (found by a reviewer; BroadcastFailureTest)
        boolean deadLetter = config.orderly() && !broadcasting;
        try {
            while (running) {
                List<Message> batch;
                try {
                    batch = member.poll(POLL);
                } catch (FerryException e) {
                    LOG.warn("subscription: {}", e.getMessage());
                    pauseAfterFailure(); // a failure that repeats (corrupt records, a deleted topic) must not spin
                    continue;
                }
                for (Message m : batch) {
                    if (!running) {
                        break;
                    }
                    if (!member.owns(m)) {
                        continue; // a rebalance gave its queue to another member, which reads it from the committed offset
                    }
                    if (!inPlace) {
                        try {
                            handler.handle(m);
                            member.ack(m);
                        } catch (Exception | AssertionError e) {
                            if (!running) {
                                // interrupted by close(): left unacked, the member's next owner reads it again from the
                                // committed offset, with no failed delivery counted against it
                                LOG.debug("subscription: handler stopped by close on {}/{}: {}", m.topic(), m.queueId(), e.toString());
                                break;
                            }
                            LOG.debug("subscription: handler failed on {}/{}@{}, nack: {}", m.topic(), m.queueId(), m.queueOffset(), e.toString());
                            member.nack(m);
                        }
                        continue;
                    }
                    for (int failures = 0; running && member.owns(m); ) {
                        try {
                            handler.handle(m);
                            member.ack(m);
                            break;
                        } catch (Exception | AssertionError e) {
                            if (!running) {
                                break; // interrupted by close(): not counted, and never dead-lettered for it
                            }
                            failures++;
                            if (failures > config.inPlaceRetries()) {
                                LOG.warn("subscription: {}/{}@{} failed {} times, {}: {}", m.topic(), m.queueId(), m.queueOffset(), failures,
                                        deadLetter ? "moving it to the dead-letter topic" : "skipping it", e.toString());
                                if (deadLetter) {
                                    // waited for: the broker moves the queue's committed offset past it only once the
                                    // dead-letter copy is stored, and an unlock before that would let the next owner
                                    // start at it, under the messages acked after it
                                    try {
                                        member.nack(m, failures).join();
                                    } catch (RuntimeException failed) { // refused, timed out, or the client closed
                                        LOG.warn("subscription: NACK {}/{}@{} failed: {}", m.topic(), m.queueId(), m.queueOffset(),
                                                failed.getCause() != null ? failed.getCause().toString() : failed.toString());
                                    }
                                } else {
                                    member.ack(m);
                                }
                                break;
                            }
                            Thread.sleep(config.retryBackoffMs());
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            // close() interrupted a handler that did not return in time: the thread ends here
        } finally {
            Thread.interrupted(); // close()'s interrupt must not fail the LEAVE_GROUP wait below
            member.close();
        }
    }

    /** How long {@link #close()} waits for the handler before it interrupts it, and again after. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    /** {@link #close(Duration)} with 30 seconds. */
    @Override
    public void close() {
        close(CLOSE_TIMEOUT);
    }

    /**
     * Stops the thread after the message in hand, commits what was handled, and closes the
     * consumer (a group member leaves its group). Waits up to {@code timeout} for the handler to
     * return; one still running then is interrupted and waited for as long again: a clustering
     * member's message it was handling is then neither acked nor nacked, and the group's next
     * owner of the queue gets it again (unless the broker's invisible time, 30 s by default, as long
     * as this method's default wait, ran out first: the broker has then moved it to the group's
     * retry topic, and it comes from there). From the handler itself, or on the client's event
     * loop (a callback of a future), only asks the thread to stop: it commits and closes the
     * consumer itself once the handler returns.
     *
     * @return true if the thread has ended and the consumer is closed; false if the handler
     *     ignored the interrupt (blocked in socket I/O, say): the consumer stays open, a member
     *     keeps its queues, until the handler returns or the client is closed; false too when only
     *     asked, as above
     */
    public boolean close(Duration timeout) {
        running = false;
        if (Thread.currentThread() == thread) {
            return false;
        }
        if (transport.inEventLoop()) {
            // waiting here held the loop that the thread's last commit or LEAVE_GROUP needs: every send, fetch and
            // heartbeat of the client stalled up to twice the timeout, and the member's leave went unconfirmed
            return false;
        }
        try {
            thread.join(Math.max(1, timeout.toMillis()));
            if (thread.isAlive()) {
                LOG.warn("subscription {}: the handler did not return within {} ms of close; interrupting it", thread.getName(),
                        timeout.toMillis());
                thread.interrupt();
                thread.join(Math.max(1, timeout.toMillis()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("subscription {}: the handler ignored the interrupt; its consumer stays open until it returns", thread.getName());
            return false;
        }
        return true;
    }
}
