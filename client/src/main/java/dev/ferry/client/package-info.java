/**
 * Ferry's Java client: a {@link dev.ferry.client.FerryClient} connected to one broker makes
 * {@link dev.ferry.client.Producer}s, {@link dev.ferry.client.TransactionProducer}s, poll-style
 * {@link dev.ferry.client.Consumer}s and {@link dev.ferry.client.GroupConsumer}s, and push-style
 * {@link dev.ferry.client.Subscription}s, each on a connection of its own.
 *
 * <h2>Coming from Kafka or RocketMQ</h2>
 *
 * Where Ferry's client differs, on purpose:
 * <ul>
 *   <li><b>Startup.</b> {@code FerryClient.connect} and every factory connect before they return
 *       and fail if the broker cannot be reached (at once when refused, after
 *       {@code connectTimeoutMs} when nothing answers; Kafka's clients start and keep trying),
 *       so a wrong address shows at startup. Once made, producers and consumers reconnect on their
 *       own. Admin calls are not retried: with the broker down they fail at once.</li>
 *   <li><b>Delivery.</b> Sends are at-least-once: a batch resent after a lost connection may be
 *       stored twice; there is no idempotent producer ({@code enable.idempotence}). A key's
 *       messages stay in order across resends only with {@code maxInFlight(1)}.</li>
 *   <li><b>Callbacks</b> of every future run on the client's event loop, shared by its connections
 *       (one thread by default): one that blocks holds up sends, fetches and heartbeats, and a
 *       blocking call made there throws {@link java.lang.IllegalStateException}.</li>
 *   <li><b>Groups.</b> A {@link dev.ferry.client.GroupConsumer} (or a {@code subscribe} with a
 *       {@link dev.ferry.client.GroupConsumerConfig}) is a member of a RocketMQ-style group:
 *       clustering, broadcasting or orderly; each message is acked or nacked, a nacked one comes
 *       back through the group's retry topic and ends in its dead-letter topic, and the committed
 *       offset is the lowest message not acked. A {@link dev.ferry.client.Consumer} (and
 *       {@code subscribe(topic, group, handler)}) is not a member: like Kafka's {@code assign}, it
 *       reads the queues it is given and commits positions under the group's name. A member
 *       heartbeats on the event loop, not in {@code poll}, so slow handling does not cost it its
 *       membership (there is no {@code max.poll.interval.ms}); but a clustering member's message
 *       not acked within the broker's invisible time (30 s by default, docs/OPERATIONS.md) is
 *       delivered again, through the retry topic (an orderly member's queues have no such
 *       deadline: it retries a message in place).</li>
 *   <li><b>Transactions</b> are RocketMQ's half messages with check-backs, not Kafka's
 *       transactional producer: {@code sendInTransaction} throws if the commit or rollback cannot
 *       be delivered after its retries (the local transaction ran; the broker's check-back will
 *       ask the {@link dev.ferry.client.TransactionChecker}), where RocketMQ logs it and returns.</li>
 *   <li><b>Closing.</b> {@code Producer.close()} waits for what was sent, as Kafka's does (up to
 *       the delivery timeout with the broker down; {@code close(Duration)} bounds it). Calls after
 *       close (sends, polls, commits, acks, nacks) throw
 *       {@link java.lang.IllegalStateException}.</li>
 * </ul>
 */
package dev.ferry.client;
