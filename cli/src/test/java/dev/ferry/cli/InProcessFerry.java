package dev.ferry.cli;

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
import picocli.CommandLine;

/**
 * A broker and its gateway on a real socket in this JVM, and {@code ferry} commands run against it
 * through the same entry point as {@code bin/ferry}, with standard input given and standard output
 * and error captured: the fixture of the command tests that look at what a command prints.
 */
final class InProcessFerry implements AutoCloseable {
    final Broker broker;
    final Gateway gateway;
    /** The {@code --server} option every command is given. */
    final String server;

    /** What one command did: its exit code, the bytes it printed, and its error output (picocli's too). */
    record Run(int exit, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    private InProcessFerry(Path dir) {
        broker = Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(8 << 20).preTouch(false).build()));
        gateway = Gateway.start(broker, GatewayConfig.builder().host("127.0.0.1").port(0).build());
        server = "--server=127.0.0.1:" + gateway.port();
    }

    static InProcessFerry start(Path dir) {
        return new InProcessFerry(dir);
    }

    /** Runs {@code ferry args... --server=...} with {@code stdin} as its standard input. */
    Run run(byte[] stdin, String... args) {
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

    @Override
    public void close() {
        gateway.close();
        broker.close();
    }
}
