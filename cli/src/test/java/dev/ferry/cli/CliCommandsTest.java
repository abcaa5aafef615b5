package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import dev.ferry.gateway.Gateway;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The admin and data commands against a real broker on a real socket, run as a user would run
 * {@code bin/ferry ...} (same entry point, standard input and output captured), checking what
 * they print and what they leave on the broker.
 */
class CliCommandsTest {
    @TempDir
    Path dir;

    private InProcessFerry ferry;
    private Broker broker;
    private Gateway gateway;
    private String server;

    private record Run(int exit, String out, String err) {}

    @BeforeEach
    void start() {
        ferry = InProcessFerry.start(dir);
        broker = ferry.broker;
        gateway = ferry.gateway;
        server = ferry.server;
    }

    @AfterEach
    void stop() {
        ferry.close();
    }

    private Run run(String stdin, String... args) {
        InProcessFerry.Run r = ferry.run(stdin.getBytes(StandardCharsets.UTF_8), args);
        return new Run(r.exit(), r.text(), r.err());
    }

    /**
     * {@code consume | head -1}: once the reader is gone, nothing printed reaches anyone, and
     * nothing may be committed for it. Before, the command printed into the broken pipe (a
     * PrintStream never throws), committed every message and exited 0.
     */
    @Test
    void consumeIntoAClosedOutputCommitsNothingItCouldNotWrite() {
        assertThat(run("", "topic", "create", "piped", "--queues", "1").exit).isZero();
        assertThat(run("a\nb\nc\n", "produce", "--topic", "piped").exit).isZero();
        PrintStream oldOut = System.out;
        int exit;
        try {
            System.setOut(new PrintStream(new java.io.OutputStream() {
                @Override
                public void write(int b) throws java.io.IOException {
                    throw new java.io.IOException("Broken pipe");
                }
            }, true, StandardCharsets.UTF_8));
            exit = Ferry.commandLine().execute("consume", "--topic", "piped", "--group", "g", "--timeout-ms", "500", server);
        } finally {
            System.setOut(oldOut);
        }
        assertThat(exit).as("a failed output is a failure").isEqualTo(1);
        Run again = run("", "consume", "--topic", "piped", "--group", "g", "--timeout-ms", "500");
        assertThat(again.out.lines()).as("nothing was committed for what could not be written").containsExactly("a", "b", "c");
    }

    /** A broadcasting group keeps a position per member: describe shows each, also of members not live. */
    @Test
    void describeOfABroadcastingGroupShowsEachMembersPosition() {
        assertThat(run("", "topic", "create", "news", "--queues", "1").exit).isZero();
        assertThat(run("a\nb\nc\n", "produce", "--topic", "news").exit).isZero();
        broker.groups().join("radio", "m1", List.of("news"), dev.ferry.broker.MessageModel.BROADCASTING, "AVERAGE", false);
        broker.groups().join("radio", "m2", List.of("news"), dev.ferry.broker.MessageModel.BROADCASTING, "AVERAGE", false);
        broker.commitOffset(dev.ferry.broker.GroupCoordinator.broadcastOffsetGroup("radio", "m1"), "news", 0, 3);
        broker.commitOffset(dev.ferry.broker.GroupCoordinator.broadcastOffsetGroup("radio", "m2"), "news", 0, 1);
        broker.groups().leave("radio", "m2");

        Run described = run("", "group", "describe", "radio");
        assertThat(described.exit).as(described.err).isZero();
        assertThat(described.out).containsPattern("news\\s+0\\s+3\\s+3\\s+0\\s+m1")
                .as("a member not live keeps its position").containsPattern("news\\s+0\\s+1\\s+3\\s+2\\s+m2");
        broker.groups().leave("radio", "m1");
        Run noneLive = run("", "group", "describe", "radio", "--topic", "news");
        assertThat(noneLive.exit).as(noneLive.err).isZero();
        assertThat(noneLive.out).containsPattern("news\\s+0\\s+3\\s+3\\s+0\\s+m1").contains("no live members");
    }

    @Test
    void createProduceConsumeDescribeLagAndReset() {
        Run created = run("", "topic", "create", "orders", "--queues", "2");
        assertThat(created.exit).as(created.err).isZero();
        assertThat(created.out).contains("created topic orders with 2 queues");
        assertThat(run("", "topic", "list").out.lines()).contains("orders");

        Run produced = run("alpha\nbeta\ngamma\n", "produce", "--topic", "orders", "--key", "k-1", "--tag", "A",
                "--property", "region=eu");
        assertThat(produced.exit).as(produced.err).isZero();
        assertThat(produced.err).contains("sent 3, failed 0");

        Run described = run("", "topic", "describe", "orders");
        assertThat(described.out).contains("topic orders, 2 queues");

        Run firstTwo = run("", "consume", "--topic", "orders", "--group", "billing", "--max", "2", "--timeout-ms", "3000");
        assertThat(firstTwo.exit).as(firstTwo.err).isZero();
        assertThat(firstTwo.out.lines()).containsExactly("alpha", "beta");

        Run groups = run("", "group", "list");
        assertThat(groups.exit).as(groups.err).isZero();
        assertThat(groups.out.lines()).contains("billing");

        Run lag = run("", "group", "describe", "billing");
        assertThat(lag.exit).as(lag.err).isZero();
        assertThat(lag.out).containsPattern("orders\\s+\\d\\s+2\\s+3\\s+1");
        Run onMissingTopic = run("", "group", "describe", "billing", "--topic", "no-such-topic");
        assertThat(onMissingTopic.exit).as(onMissingTopic.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(onMissingTopic.err.strip()).isEqualTo("ferry: topic no-such-topic does not exist (list them with: ferry topic list)");

        Run rest = run("", "consume", "--topic", "orders", "--group", "billing", "--timeout-ms", "500");
        assertThat(rest.out.lines()).as("resumes after what it printed and committed").containsExactly("gamma");
        assertThat(run("", "group", "describe", "billing").out).containsPattern("orders\\s+\\d\\s+3\\s+3\\s+0");

        Run reset = run("", "group", "reset", "billing", "--topic", "orders", "--to", "earliest");
        assertThat(reset.exit).as(reset.err).isZero();
        Run again = run("", "consume", "--topic", "orders", "--group", "billing", "--timeout-ms", "500");
        assertThat(again.out.lines()).containsExactly("alpha", "beta", "gamma");
        String mark = instantBetweenStores();
        assertThat(run("delta\n", "produce", "--topic", "orders", "--key", "k-1").exit).isZero();
        Run toTime = run("", "group", "reset", "billing", "--topic", "orders", "--to", mark);
        assertThat(toTime.exit).as(toTime.err).isZero();
        Run fromTime = run("", "consume", "--topic", "orders", "--group", "billing", "--timeout-ms", "500");
        assertThat(fromTime.out.lines()).as("from the first message stored at or after " + mark).containsExactly("delta");

        Run byKey = run("", "message", "get", "--topic", "orders", "--key", "k-1");
        assertThat(byKey.exit).isZero();
        assertThat(byKey.out).contains("tags=A").contains("region=eu").contains("gamma");

        Run filtered = run("", "consume", "--topic", "orders", "--group", "sql", "--sql", "region = 'us'", "--timeout-ms", "500");
        assertThat(filtered.exit).as(filtered.err).isZero();
        assertThat(filtered.out).isEmpty();

        Run groupDeleted = run("", "group", "delete", "billing");
        assertThat(groupDeleted.exit).as(groupDeleted.err).isZero();
        assertThat(groupDeleted.out.strip()).isEqualTo("deleted group billing");
        assertThat(run("", "group", "list").out.lines()).doesNotContain("billing");
        Run describedGone = run("", "group", "describe", "billing");
        assertThat(describedGone.exit).as(describedGone.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(describedGone.err.strip())
                .isEqualTo("ferry: group billing does not exist: no live member and no committed offset (list them with: ferry group list)");
        Run describedGoneOnTopic = run("", "group", "describe", "billing", "--topic", "orders");
        assertThat(describedGoneOnTopic.exit).as(describedGoneOnTopic.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(describedGoneOnTopic.out).as("nothing printed for a group that does not exist").isEmpty();
        Run groupGone = run("", "group", "delete", "billing");
        assertThat(groupGone.exit).as(groupGone.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(groupGone.err.strip())
                .isEqualTo("ferry: DELETE_GROUP billing: NOT_FOUND: group 'billing': unknown (expected: a group with live members or committed offsets)");

        Run deleted = run("", "topic", "delete", "orders");
        assertThat(deleted.exit).isZero();
        Run missing = run("", "topic", "describe", "orders");
        assertThat(missing.exit).isEqualTo(Ferry.EXIT_NOT_FOUND);
        assertThat(missing.err.strip()).isEqualTo("ferry: topic orders does not exist (list them with: ferry topic list)");
        for (String[] args : new String[][] {{"topic", "delete", "orders"}, {"group", "reset", "billing", "--topic", "orders", "--to", "latest"},
                {"message", "get", "--topic", "orders", "--key", "k-1"}}) {
            Run gone = run("", args);
            assertThat(gone.exit).as(String.join(" ", args) + ": " + gone.err).isEqualTo(Ferry.EXIT_NOT_FOUND);
            assertThat(gone.err.lines()).as(String.join(" ", args)).hasSize(1);
            assertThat(gone.err).as(String.join(" ", args)).contains("orders");
        }
    }

    /** Now, as an ISO-8601 instant, with 20 ms before and after it: messages stored before and after get other store times. */
    private static String instantBetweenStores() {
        try {
            Thread.sleep(20);
            String mark = java.time.Instant.now().toString();
            Thread.sleep(20);
            return mark;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void badInputIsOneClearLine() {
        Run badProperty = run("x\n", "produce", "--topic", "t", "--property", "novalue");
        assertThat(badProperty.exit).as("a bad command line").isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(badProperty.err.strip()).isEqualTo("ferry: --property: 'novalue' (expected: key=value)");
        Run badFrom = run("", "consume", "--topic", "t", "--group", "g", "--from", "middle");
        assertThat(badFrom.exit).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(badFrom.err.strip()).isEqualTo("ferry: --from: middle (expected: earliest or latest)");
        Run badTo = run("", "group", "reset", "g", "--topic", "t", "--to", "abc");
        assertThat(badTo.exit).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(badTo.err.strip()).isEqualTo("ferry: --to: 'abc' (expected: earliest, latest, an offset, or a date-time with its "
                + "offset such as 2026-12-07T10:15:30Z)");
        Run localTime = run("", "group", "reset", "g", "--topic", "t", "--to", "2026-12-07T10:15:30");
        assertThat(localTime.exit).as("a date-time without its offset").isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(localTime.err.strip()).startsWith("ferry: --to: '2026-12-07T10:15:30' (expected: ");
        Run farFuture = run("", "group", "reset", "g", "--topic", "t", "--to", "+999999999-12-31T23:59:59Z");
        assertThat(farFuture.exit).as("a date-time past a long of ms: " + farFuture.err).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(farFuture.err.strip()).startsWith("ferry: --to: '+999999999-12-31T23:59:59Z' (expected: ");

        assertThat(run("", "topic", "create", "t", "--queues", "1").exit).isZero();
        Run badSql = run("", "consume", "--topic", "t", "--group", "g", "--sql", "a >", "--timeout-ms", "100");
        assertThat(badSql.exit).isEqualTo(Ferry.EXIT_FAILED);
        // the broker runs in this JVM: its log lines (the member's join and leave) land in the same standard error
        assertThat(badSql.err.lines().filter(l -> !l.contains(" GroupCoordinator - "))).hasSize(1);
        assertThat(badSql.err).contains("sql");
    }

    @Test
    void completionScriptCoversTheCommands() {
        String script = CompletionCommand.script(Ferry.commandLine());
        assertThat(script).contains("complete -F").contains("broker").contains("produce").contains("consume").contains("--server");
    }
}
