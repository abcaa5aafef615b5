package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.broker.Broker;
import dev.ferry.broker.BrokerConfig;
import dev.ferry.gateway.Gateway;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.LogConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What the data commands make of unusual input: bodies that are not UTF-8 text. */
class CliInputTest {
    @TempDir
    Path dir;

    private Broker broker;
    private Gateway gateway;
    private String server;

    private record Run(int exit, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    @BeforeEach
    void start() {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(8 << 20).preTouch(false).build()));
        gateway = Gateway.start(broker, GatewayConfig.builder().host("127.0.0.1").port(0).build());
        server = "--server=127.0.0.1:" + gateway.port();
    }

    @AfterEach
    void stop() {
        gateway.close();
        broker.close();
    }

    private Run run(byte[] stdin, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StringWriter picocliErr = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(stdin));
            CommandLine cl = Ferry.commandLine();
            cl.setErr(new PrintWriter(picocliErr, true));
            List<String> all = new ArrayList<>(List.of(args));
            all.add(server);
            int exit = cl.execute(all.toArray(String[]::new));
            return new Run(exit, out.toByteArray(), err.toString(StandardCharsets.UTF_8) + picocliErr);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    private Run run(String... args) {
        return run(new byte[0], args);
    }

    /**
     * produce sends each line's bytes as they are. Before, it decoded standard input as UTF-8, so
     * bytes that are not UTF-8 (a binary or Latin-1 body) were stored as U+FFFD (EF BF BD), and a
     * '\r' inside a line ended the line there, splitting one body in two.
     */
    @Test
    void produceSendsTheBytesOfEachLineUnchanged() {
        assertThat(run("topic", "create", "bin", "--queues", "1").exit).isZero();
        byte[] latin1 = "caf\u00e9".getBytes(StandardCharsets.ISO_8859_1); // 63 61 66 E9: not UTF-8
        byte[] binary = {(byte) 0xff, (byte) 0xfe, 0, 1, 'x'};
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes(latin1);
        in.write('\n');
        in.writeBytes(binary);
        in.write('\n');
        in.writeBytes("a\rb\n".getBytes(StandardCharsets.US_ASCII)); // a lone CR is part of the body
        in.writeBytes("crlf\r\n".getBytes(StandardCharsets.US_ASCII)); // a CRLF line ending is still one
        in.writeBytes("h\u00e9llo \ud83d\ude00".getBytes(StandardCharsets.UTF_8)); // UTF-8, last line without '\n'
        Run produced = run(in.toByteArray(), "produce", "--topic", "bin");
        assertThat(produced.exit).as(produced.err).isZero();
        assertThat(produced.err).contains("sent 5, failed 0");

        Run consumed = run("consume", "--topic", "bin", "--group", "g", "--timeout-ms", "500");
        assertThat(consumed.exit).as(consumed.err).isZero();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(latin1);
        expected.write('\n');
        expected.writeBytes(binary);
        expected.write('\n');
        expected.writeBytes("a\rb\ncrlf\n".getBytes(StandardCharsets.US_ASCII));
        expected.writeBytes("h\u00e9llo \ud83d\ude00\n".getBytes(StandardCharsets.UTF_8));
        assertThat(consumed.out).as("the bodies as sent, one a line").isEqualTo(expected.toByteArray());
    }
}
