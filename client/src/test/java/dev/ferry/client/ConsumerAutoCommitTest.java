package dev.ferry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Failures of the consumer's auto-commit are not silent. Before, poll dropped the future of its
 * commit: a group name the broker refuses in COMMIT_OFFSET (it has ':', which GET_OFFSET and FETCH
 * accept) read every message and committed none, without a word until close(), and every restart
 * read the topic again from the start.
 */
class ConsumerAutoCommitTest {
    @TempDir
    Path dir;

    @Test
    void aGroupNameTheBrokerRefusesToCommitForIsRefusedByTheConfig() {
        assertThatThrownBy(() -> ConsumerConfig.builder("t", "billing:eu").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("group").hasMessageContaining("billing:eu");
        assertThatThrownBy(() -> ConsumerConfig.builder("t", "g".repeat(201)).build()).isInstanceOf(IllegalArgumentException.class);
        assertThat(ConsumerConfig.builder("t", "billing.eu_%x-1").build().group()).isEqualTo("billing.eu_%x-1");
    }

    /**
     * Every group name the config takes is one the broker commits under, and only those: since
     * the gateway's COMMIT_OFFSET takes a group's name (1..128 characters) or a broadcasting
     * member's GROUP%CLIENT_ID only, a config that still took the broker's older rule (1..200
     * characters of [A-Za-z0-9._%|-]) built consumers that read everything and committed nothing,
     * which is what the config's check is there to prevent. Failed before the config followed the
     * gateway: a 129-character name was taken by the config and refused by the broker.
     */
    @Test
    @Timeout(60)
    void theConfigTakesExactlyTheGroupNamesTheBrokerCommitsUnder() {
        try (BrokerFixture server = BrokerFixture.start(dir); FerryClient c = server.client("binary")) {
            c.createTopic("names", 1);
            String name = "g".repeat(128);
            String member = "c".repeat(128);
            for (String group : List.of("g", name, name + "%" + member, "billing%member-1", "g".repeat(129), "g".repeat(200),
                    "a%b%c", "g%", "%c", "%", "billing.eu_%RETRY%|x-1", name + "%" + member + "c", "billing:eu")) {
                boolean configTakes;
                try {
                    ConsumerConfig.builder("names", group).build();
                    configTakes = true;
                } catch (IllegalArgumentException e) {
                    configTakes = false;
                }
                boolean brokerTakes;
                try {
                    c.commitOffset(group, "names", 0, 0);
                    brokerTakes = true;
                } catch (FerryException e) {
                    brokerTakes = false;
                }
                assertThat(configTakes).as("group '%s': the config takes it: %s, the broker commits under it: %s", group, configTakes,
                        brokerTakes).isEqualTo(brokerTakes);
            }
        }
    }

    /**
     * The consumer's connection goes away for good (the proxy in front of the broker closes), with
     * messages still buffered: polls go on returning them, and every auto-commit fails. The failure
     * is logged at WARN, once per distinct error rather than at every poll.
     */
    @Test
    @Timeout(60)
    void aFailedAutoCommitIsLoggedOnceNotAtEveryPoll() throws Exception {
        Logger log = (Logger) LoggerFactory.getLogger(Consumer.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        log.addAppender(logs);
        try (BrokerFixture server = BrokerFixture.start(dir); TcpProxy proxy = new TcpProxy(server.port());
             FerryClient direct = server.client("binary");
             FerryClient client = FerryClient.connect(ClientConfig.builder().port(proxy.port()).requestTimeoutMs(2_000).build())) {
            direct.createTopic("ac", 1);
            try (Producer p = direct.producer()) {
                for (int i = 0; i < 40; i++) {
                    p.send("ac", ("m" + i).getBytes());
                }
            }
            try (Consumer c = client.consumer(ConsumerConfig.builder("ac", "billing").autoCommitIntervalMs(50).maxPollMessages(1)
                    .retryBackoffMs(50).build())) {
                int read = c.poll(Duration.ofSeconds(10)).size();
                assertThat(read).isEqualTo(1);
                c.commitSync();
                assertThat(direct.committedOffset("billing", "ac", 0)).hasValue(1);
                proxy.close();
                int polls = 0;
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < deadline) {
                    read += c.poll(Duration.ofMillis(20)).size();
                    polls++;
                }
                List<String> warned = logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                        .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("COMMIT_OFFSET")).toList();
                assertThat(read).as("the buffered messages are still polled").isGreaterThan(10);
                assertThat(warned).as("the failed auto-commits are logged").isNotEmpty();
                assertThat(warned.size()).as("logged once per distinct error, not at each of " + polls + " polls: " + warned)
                        .isLessThanOrEqualTo(3);
            }
        } finally {
            log.detachAppender(logs);
        }
    }
}
