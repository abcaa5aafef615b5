package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ferry topic create NAME} without {@code --queues} gets the broker's {@code
 * topics.default.queues} (here 3), and says the count it got. Before, the command always asked
 * for 8.
 */
class TopicCreateDefaultQueuesTest {
    @TempDir
    Path dir;
    private Broker broker;
    private Gateway gateway;

    @BeforeEach
    void start() {
        BrokerConfig defaults = BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(8 << 20).preTouch(false).build());
        broker = Broker.open(new BrokerConfig(defaults.log(), 3, defaults.autoCreateTopics(), defaults.maxFetchWaitMs(),
                defaults.offsetFlushIntervalMs(), defaults.maxDelayMs()));
        gateway = Gateway.start(broker, GatewayConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        gateway.close();
        broker.close();
    }

    private String[] run(String... args) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            CommandLine cl = Ferry.commandLine();
            cl.setErr(new PrintWriter(err, true));
            String[] all = java.util.Arrays.copyOf(args, args.length + 1);
            all[args.length] = "--server=127.0.0.1:" + gateway.port();
            int exit = cl.execute(all);
            return new String[] {Integer.toString(exit), out.toString(StandardCharsets.UTF_8), err.toString()};
        } finally {
            System.setOut(oldOut);
        }
    }

    @Test
    void withoutQueuesTheBrokersDefaultCountIsUsedAndPrinted() {
        String[] r = run("topic", "create", "plain");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1].strip()).isEqualTo("created topic plain with 3 queues");
        assertThat(broker.describeTopic("plain").orElseThrow().queueCount()).isEqualTo(3);
    }

    @Test
    void aCountGivenIsStillUsed() {
        String[] r = run("topic", "create", "wide", "--queues", "5");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1].strip()).isEqualTo("created topic wide with 5 queues");
        assertThat(broker.describeTopic("wide").orElseThrow().queueCount()).isEqualTo(5);
    }
}
