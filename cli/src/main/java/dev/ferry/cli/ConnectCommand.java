package dev.ferry.cli;

import dev.ferry.connect.ConnectRuntime;
import dev.ferry.connect.ConnectorFiles;
import dev.ferry.connect.ConnectorStatus;
import dev.ferry.connect.RuntimeOptions;
import dev.ferry.connect.StatusFile;
import dev.ferry.connect.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code ferry connect CONFIG...}: runs connectors in the foreground until Ctrl-C or SIGTERM,
 * then stops them cleanly (sources flush and commit their positions, sinks flush and commit
 * their offsets) and exits 0. Every configuration is validated before anything starts; a bad
 * one is one line naming the connector and the field, exit code {@link Ferry#EXIT_BAD_CONFIG}.
 * {@code --set key=value} overrides a key in every file given.
 *
 * <p>{@code ferry connect status|pause|resume} read {@code STATE_DIR/status.json} and write
 * {@code STATE_DIR/control/NAME.paused} of a runtime running elsewhere (another process or a
 * broker with {@code connect.configs}); see docs/CONNECTORS.md.
 */
@Command(name = "connect", mixinStandardHelpOptions = true,
        description = {"Run connectors (file-source, file-sink, ...) in the foreground until Ctrl-C.",
                "Settings: docs/CONNECTORS.md. Also: connect status | pause NAME | resume NAME."},
        subcommands = {ConnectCommand.Status.class, ConnectCommand.Pause.class, ConnectCommand.Resume.class})
final class ConnectCommand implements Callable<Integer> {
    /** Default state directory, relative to the working directory. */
    static final String DEFAULT_STATE_DIR = "connect-state";

    @Spec CommandSpec spec;

    @Parameters(paramLabel = "CONFIG", arity = "0..*", description = "Connector configuration files (.json or .properties).")
    List<Path> configs = new ArrayList<>();

    @Option(names = "--server", description = "Broker address host:port (default ${DEFAULT-VALUE}).", defaultValue = "127.0.0.1:9876")
    String server;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a setting in every CONFIG (repeatable).")
    List<String> sets = new ArrayList<>();

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Positions, status.json and pause files (default ${DEFAULT-VALUE}).",
            defaultValue = DEFAULT_STATE_DIR)
    Path stateDir;

    @Override
    public Integer call() throws InterruptedException {
        if (configs.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "Missing CONFIG: give at least one connector configuration file");
        }
        ConnectRuntime runtime = ConnectRuntime.create(ConnectorFiles.load(configs, sets), RuntimeOptions.of(server, stateDir));
        runtime.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("ferry: stopping connectors (flushing, committing)");
            runtime.close();
            System.err.println("ferry: connectors stopped cleanly");
            stopped.countDown();
            System.out.flush();
            System.err.flush();
            // a JVM ended by SIGTERM exits with 143 after its hooks; a clean stop is exit 0
            Runtime.getRuntime().halt(0);
        }, "ferry-connect-shutdown"));
        for (ConnectorStatus s : runtime.status()) {
            System.out.printf("connector %s (%s) started against %s, state in %s%n", s.name(), s.type(), server, stateDir);
        }
        System.out.flush();
        Map<String, TaskState> last = new HashMap<>();
        while (!stopped.await(1, TimeUnit.SECONDS)) {
            for (ConnectorStatus s : runtime.status()) {
                TaskState before = last.put(s.name(), s.state());
                if (before != null && before != s.state()) {
                    System.err.printf("ferry: connector %s: %s%s%n", s.name(), s.state(), s.reason().isEmpty() ? "" : ": " + s.reason());
                }
            }
        }
        return 0;
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Table of a runtime's connectors: state, counts, lag, failure reason or service progress.")
    static final class Status implements Callable<Integer> {
        @Option(names = "--state-dir", paramLabel = "DIR", description = "The runtime's state directory (default ${DEFAULT-VALUE}).",
                defaultValue = DEFAULT_STATE_DIR)
        Path stateDir;

        @Override
        public Integer call() {
            Path file = stateDir.resolve("status.json");
            if (!Files.exists(file)) {
                System.err.println("ferry: " + file + ": no status (no runtime has run with --state-dir " + stateDir + ")");
                return Ferry.EXIT_NOT_FOUND;
            }
            StatusFile.Snapshot snap = StatusFile.read(file);
            System.out.printf("%-24s %-14s %-8s %12s %12s %8s %12s  %s%n", "CONNECTOR", "TYPE", "STATE", "IN", "OUT", "ERRORS", "LAG",
                    "DETAIL");
            for (ConnectorStatus s : snap.connectors()) {
                boolean paused = Files.exists(stateDir.resolve("control").resolve(s.name() + ".paused"));
                String state = s.state().name() + (paused && s.state() == TaskState.RUNNING ? "*" : "");
                StringBuilder detail = new StringBuilder(s.reason());
                s.progress().forEach((k, v) -> detail.append(detail.length() == 0 ? "" : " ").append(k).append('=').append(v));
                System.out.printf("%-24s %-14s %-8s %12d %12d %8d %12s  %s%n", s.name(), s.type(), state, s.recordsIn(), s.recordsOut(),
                        s.errors(), s.lag() < 0 ? "n/a" : Long.toString(s.lag()), detail);
            }
            Duration age = Duration.between(snap.updated(), Instant.now());
            if (age.toSeconds() > 5) {
                System.out.printf("(written %d s ago: the runtime may not be running)%n", age.toSeconds());
            }
            return 0;
        }
    }

    /** Shared by pause and resume: the connector must be one the runtime reported. */
    abstract static class Control implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", description = "The connector's name.") String name;

        @Option(names = "--state-dir", paramLabel = "DIR", description = "The runtime's state directory (default ${DEFAULT-VALUE}).",
                defaultValue = DEFAULT_STATE_DIR)
        Path stateDir;

        abstract boolean paused();

        @Override
        public Integer call() {
            Path file = stateDir.resolve("status.json");
            if (!Files.exists(file) || StatusFile.read(file).connectors().stream().noneMatch(s -> s.name().equals(name))) {
                System.err.println("ferry: connector '" + name + "': not found in " + file);
                return Ferry.EXIT_NOT_FOUND;
            }
            ConnectRuntime.setPauseFile(stateDir, name, paused());
            System.out.printf("connector %s: %s requested (applied within a second)%n", name, paused() ? "pause" : "resume");
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a connector (it stays paused across restarts).")
    static final class Pause extends Control {
        @Override
        boolean paused() {
            return true;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused connector.")
    static final class Resume extends Control {
        @Override
        boolean paused() {
            return false;
        }
    }
}
