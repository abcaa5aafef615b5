package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A blocking call made in a callback of a future, on the client's event loop, which that call's
 * own answer needs. Before, an admin call there waited out twice the request timeout (a minute by
 * default) and failed as a TIMEOUT that named nothing of the cause, every send and fetch of the
 * client stalled meanwhile; now it throws IllegalStateException at once, as a blocking send did.
 */
class CallbackBlockingCallTest {
    @TempDir
    Path dir;

    @Test
    void blockingCallsInASendCallbackFailAtOnceAndSendAsyncStillWorks() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer()) {
            client.createTopic("cb", 1);
            CompletableFuture<Throwable> admin = new CompletableFuture<>();
            CompletableFuture<Throwable> create = new CompletableFuture<>();
            CompletableFuture<SendResult> chained = new CompletableFuture<>();
            producer.sendAsync("cb", "first".getBytes()).thenAccept(r -> {
                admin.complete(thrownBy(() -> client.queueOffsets("cb", 0)));
                create.complete(thrownBy(client::producer));
                // the non-blocking way, to a topic the producer has not described yet
                producer.sendAsync("cb-new", "second".getBytes()).whenComplete((s, t) -> {
                    if (t != null) {
                        chained.completeExceptionally(t);
                    } else {
                        chained.complete(s);
                    }
                });
            });
            assertThat(admin.get(60, TimeUnit.SECONDS)).as("an admin call from a send callback")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("GET_OFFSET cb/0")
                    .hasMessageContaining("event loop");
            assertThat(create.get(60, TimeUnit.SECONDS)).as("a producer made in a send callback")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("event loop");
            assertThat(chained.get(30, TimeUnit.SECONDS).topic()).isEqualTo("cb-new");
            assertThat(client.queueOffsets("cb", 0).maxOffset()).as("the client works on afterwards").isEqualTo(1);
        }
    }

    /**
     * Closing the client from a callback (on a fatal error, say). Before, close() marked the client
     * closed, failed to flush its producer (which stayed open) and then waited, uninterruptibly, for
     * its own event loop to end: the loop hung for good, and with it every send and the test's own
     * close. Now it refuses before doing anything.
     */
    @Test
    void closingTheClientFromACallbackIsRefusedAndTheClientWorksOn() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer()) {
            client.createTopic("cb", 1);
            CompletableFuture<Throwable> close = new CompletableFuture<>();
            producer.sendAsync("cb", "first".getBytes()).thenAccept(r -> close.complete(thrownBy(client::close)));
            assertThat(close.get(60, TimeUnit.SECONDS)).as("client.close() in a send callback")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("event loop");
            // a group member's close waited there for the answer to its LEAVE_GROUP, which that loop was to bring: the
            // whole client stalled for the request timeout, and the member left unconfirmed
            GroupConsumer member = client.groupConsumer(GroupConsumerConfig.builder("cb", "cbg").build());
            CompletableFuture<Throwable> leave = new CompletableFuture<>();
            producer.sendAsync("cb", "between".getBytes()).thenAccept(r -> leave.complete(thrownBy(member::close)));
            assertThat(leave.get(60, TimeUnit.SECONDS)).as("groupConsumer.close() in a send callback")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("event loop");
            member.close();
            assertThat(client.describeGroup("cbg").members()).as("closed from the test's thread, it left").isEmpty();
            assertThat(producer.send("cb", "second".getBytes()).queueOffset()).as("the producer works on").isEqualTo(2);
            assertThat(client.queueOffsets("cb", 0).maxOffset()).as("the client works on").isEqualTo(3);
        }
    }

    /**
     * Closing a subscription from a callback (on a fatal error, say). Its close waited there for
     * the subscription's thread, whose LEAVE_GROUP needs that loop: the whole client stalled for
     * as long as close was told to wait for the handler, then for the request timeout, and the
     * member's leave went unconfirmed. Now close only asks the thread to stop, and the thread
     * leaves the group itself.
     */
    @Test
    void closingASubscriptionFromACallbackAsksItsThreadToStop() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(server.port())
                     .requestTimeoutMs(TimeUnit.MINUTES.toMillis(5)).build());
             Producer producer = client.producer()) {
            client.createTopic("cb", 1);
            producer.send("cb", "first".getBytes());
            CountDownLatch handled = new CountDownLatch(1);
            Subscription sub = client.subscribe(GroupConsumerConfig.builder("cb", "cbs").build(), m -> handled.countDown());
            assertThat(handled.await(20, TimeUnit.SECONDS)).as("the subscription handled the first message").isTrue();

            CompletableFuture<Boolean> closed = new CompletableFuture<>();
            producer.sendAsync("cb", "second".getBytes()).thenAccept(r -> closed.complete(sub.close(Duration.ofMinutes(5))));
            assertThat(closed.get(60, TimeUnit.SECONDS)).as("close in a callback returns, the thread only asked to stop").isFalse();

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!client.describeGroup("cbs").members().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(client.describeGroup("cbs").members()).as("members of the group once the thread stopped").isEmpty();
            assertThat(sub.close(Duration.ofSeconds(20))).as("close from the test's thread").isTrue();
            assertThat(producer.send("cb", "third".getBytes()).queueOffset()).as("the producer works on").isEqualTo(2);
        }
    }

    /**
     * Closing an auto-committing consumer from a callback. Its final commitSync threw
     * IllegalStateException there, out of close, which had closed the consumer all the same without
     * committing: a restart read again what it had read. Now the commit is sent, not waited for.
     */
    @Test
    void closingAConsumerFromACallbackCommitsItsPosition() throws Exception {
        try (BrokerFixture server = BrokerFixture.start(dir);
             FerryClient client = server.client("binary");
             Producer producer = client.producer()) {
            client.createTopic("cb", 1);
            producer.send("cb", "first".getBytes());
            Consumer consumer = client.consumer(ConsumerConfig.builder("cb", "cbc").build());
            List<Message> read = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (read.isEmpty() && System.nanoTime() < deadline) {
                read.addAll(consumer.poll(Duration.ofMillis(100)));
            }
            assertThat(read).as("read before the close").hasSize(1);

            CompletableFuture<Throwable> close = new CompletableFuture<>();
            producer.sendAsync("cb", "second".getBytes()).thenAccept(r -> close.complete(thrownBy(consumer::close)));
            assertThat(close.get(60, TimeUnit.SECONDS)).as("consumer.close() in a send callback").isNull();

            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (client.committedOffset("cbc", "cb", 0).orElse(-1L) != 1 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(client.committedOffset("cbc", "cb", 0)).as("the position committed by close").hasValue(1L);
        }
    }

    private static Throwable thrownBy(Runnable call) {
        try {
            call.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }
}
