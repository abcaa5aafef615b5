package dev.ferry.connect;

import dev.ferry.client.ClientConfig;
import dev.ferry.client.FerryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs connectors: each connector is one task on its own thread ({@link SourceWorker},
 * {@link SinkWorker}, {@link ServiceWorker}), all sharing one {@link FerryClient} and one state
 * directory (see {@link RuntimeOptions}).
 *
 * <pre>{@code
 * try (ConnectRuntime rt = ConnectRuntime.create(ConnectorFiles.load(files, overrides), RuntimeOptions.of(server, stateDir))) {
 *     rt.start();
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Validation first.</b> {@link #create} checks every connector before anything is opened:
 * names (unique; letters, digits, {@code . _ -}), the connector type, the runtime's own keys, and
 * the task's keys through {@link SourceTask#configure} (etc.); then any key no one read is
 * rejected as a typo. Each error is a {@link ConnectConfigException} naming the connector and
 * the field.
 *
 * <p><b>Status and control.</b> {@link #status()} returns every connector's state and counters;
 * every {@link RuntimeOptions#statusIntervalMs()} the status thread writes them to
 * {@code STATE_DIR/status.json} and applies the control files: a connector pauses while
 * {@code STATE_DIR/control/NAME.paused} exists ({@link #pause}/{@link #resume} create and delete
 * it, as {@code ferry connect pause|resume} does from another process).
 *
 * <p><b>Stopping.</b> {@link #close()} asks every task to stop and waits for them, all within one
 * deadline ({@link RuntimeOptions#stopTimeoutMs()}): a source waits for its acknowledgements until
 * three quarters of it, commits what was acknowledged and closes its producer (failing what is
 * left); a sink flushes and commits its offsets. A task still running at the deadline is
 * interrupted and left behind (task threads are daemons, so it cannot keep the JVM alive). Then
 * it writes the final status and closes the client.
 *
 * <p><b>Thread safety.</b> {@link #create}, {@link #start} and {@link #close} from one thread;
 * {@link #status}, {@link #pause} and {@link #resume} from any.
 */
public final class ConnectRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectRuntime.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    /** A validated connector not yet running: its task instance and the runtime settings read for it. */
    private record Plan(String name, ConnectorTypes.Type type, ConnectorConfig config, AutoCloseable task, boolean keysChecked,
                        String topic, List<String> topics, SinkWorker.From from, ErrorHandling errors, long commitIntervalMs) {}

    private final List<Plan> plans;
    private final RuntimeOptions options;
    private final List<Worker> workers = new ArrayList<>();
    private FerryClient client;
    private ScheduledExecutorService statusThread;
    private volatile boolean closed;

    private ConnectRuntime(List<Plan> plans, RuntimeOptions options) {
        this.plans = plans;
        this.options = options;
    }

    /**
     * Validates every connector and returns a runtime ready to {@link #start}; opens nothing.
     *
     * @throws ConnectConfigException for the first wrong setting, naming the connector and field
     */
    public static ConnectRuntime create(List<ConnectorConfig> configs, RuntimeOptions options) {
        List<Plan> plans = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (ConnectorConfig config : configs) {
            plans.add(plan(config, names));
        }
        return new ConnectRuntime(plans, options);
    }

    private static Plan plan(ConnectorConfig config, Set<String> names) {
        String name = config.string("name", "a connector name: letters, digits, '.', '_', '-'");
        if (!NAME.matcher(name).matches()) {
            throw config.invalid("name", name, "1 to 100 letters, digits, '.', '_' or '-'");
        }
        if (!names.add(name)) {
            throw config.invalid("name", name, "a name no other connector of this runtime has");
        }
        ConnectorTypes.Type type = ConnectorTypes.of(config);
        ErrorHandling errors = ErrorHandling.read(config, name);
        long commitIntervalMs = config.longValue("commit.interval.ms", 1_000, 1, 3_600_000);
        String topic = null;
        List<String> topics = List.of();
        SinkWorker.From from = null;
        AutoCloseable task = type.factory().get();
        switch (type.kind()) {
            case SOURCE -> {
                topic = config.optional("topic").orElse(null);
                ((SourceTask) task).configure(config);
            }
            case SINK -> {
                String list = config.string("topics", "comma-separated topic names");
                topics = new ArrayList<>();
                for (String t : list.split(",")) {
                    if (!t.isBlank() && !topics.contains(t.trim())) {
                        topics.add(t.trim());
                    }
                }
                if (topics.isEmpty()) {
                    throw config.invalid("topics", list, "comma-separated topic names");
                }
                from = config.choice("from", SinkWorker.From.class, SinkWorker.From.EARLIEST);
                ((SinkTask) task).configure(config);
            }
            case SERVICE -> ((ServiceTask) task).configure(config);
        }
        boolean keysChecked = implementsConfigure(task);
        if (keysChecked && !config.unreadKeys().isEmpty()) {
            throw unknownKey(config, type, config.unreadKeys().iterator().next());
        }
        return new Plan(name, type, config, task, keysChecked, topic, topics, from, errors, commitIntervalMs);
    }

    private static boolean implementsConfigure(Object task) {
        try {
            return !task.getClass().getMethod("configure", ConnectorConfig.class).getDeclaringClass().isInterface();
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    static ConnectConfigException unknownKey(ConnectorConfig config, ConnectorTypes.Type type, String key) {
        return new ConnectConfigException(config.name(), key, key + ": unknown key (expected: a setting of the runtime or of "
                + type.name() + ", see docs/CONNECTORS.md)");
    }

    /** The validated connectors' names, in configuration order. */
    public List<String> names() {
        return plans.stream().map(Plan::name).toList();
    }

    /** Connects to the broker and starts every task on its own thread. */
    public synchronized void start() {
        if (client != null) {
            throw new IllegalStateException("already started");
        }
        try {
            Files.createDirectories(options.stateDir());
            Files.createDirectories(options.controlDir());
            for (Plan p : plans) {
                Files.createDirectories(options.taskDir(p.name()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(options.stateDir() + ": cannot create the state directory (" + e.getMessage() + ")", e);
        }
        client = FerryClient.connect(ClientConfig.builder().server(options.server()).requestTimeoutMs(10_000).build());
        RuntimeServices services = new RuntimeServices(options, client, new PositionStore(options.positionsDir()));
        for (Plan p : plans) {
            Worker w = switch (p.type().kind()) {
                case SOURCE -> new SourceWorker(p.name(), p.type(), p.config(), services, p.keysChecked(), (SourceTask) p.task(),
                        p.topic(), p.errors(), p.commitIntervalMs());
                case SINK -> new SinkWorker(p.name(), p.type(), p.config(), services, p.keysChecked(), (SinkTask) p.task(),
                        p.topics(), p.from(), p.errors(), p.commitIntervalMs());
                case SERVICE -> new ServiceWorker(p.name(), p.type(), p.config(), services, p.keysChecked(), (ServiceTask) p.task());
            };
            w.pauseRequested = Files.exists(pauseFile(p.name()));
            workers.add(w);
        }
        workers.forEach(Worker::start);
        statusThread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "connect-status");
            t.setDaemon(true);
            return t;
        });
        statusThread.scheduleWithFixedDelay(this::tick, 0, options.statusIntervalMs(), TimeUnit.MILLISECONDS);
        LOG.info("connect runtime: started {} connector(s) against {}, state in {}", workers.size(), options.server(),
                options.stateDir());
    }

    /** Every connector's status, in configuration order (empty before {@link #start}). */
    public List<ConnectorStatus> status() {
        return workers.stream().map(Worker::status).toList();
    }

    /** Pauses {@code connector} (sources and sinks): persists as a control file, so it stays paused across restarts. */
    public void pause(String connector) {
        control(connector, true);
    }

    /** Resumes a paused connector. */
    public void resume(String connector) {
        control(connector, false);
    }

    private void control(String connector, boolean paused) {
        Worker w = workers.stream().filter(x -> x.name.equals(connector)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("connector: '" + connector + "' (expected: one of " + names() + ")"));
        setPauseFile(options.stateDir(), connector, paused);
        w.setPaused(paused);
    }

    /** Creates or deletes {@code STATE_DIR/control/NAME.paused}: how another process pauses and resumes a connector. */
    public static void setPauseFile(Path stateDir, String connector, boolean paused) {
        Path f = stateDir.resolve("control").resolve(connector + ".paused");
        try {
            if (paused) {
                Files.createDirectories(f.getParent());
                if (!Files.exists(f)) {
                    Files.createFile(f);
                }
            } else {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(f + ": cannot " + (paused ? "create" : "delete") + " (" + e.getMessage() + ")", e);
        }
    }

    private Path pauseFile(String connector) {
        return options.controlDir().resolve(connector + ".paused");
    }

    /** Status thread: apply control files, write status.json. */
    private void tick() {
        try {
            for (Worker w : workers) {
                boolean paused = Files.exists(pauseFile(w.name));
                if (paused != w.pauseRequested && w.type.kind() != ConnectorTypes.Kind.SERVICE) {
                    w.setPaused(paused);
                }
            }
            writeStatus();
        } catch (RuntimeException e) {
            LOG.warn("connect runtime: status update failed: {}", e.getMessage());
        }
    }

    private void writeStatus() {
        StatusFile.write(options.statusFile(), options.clock().instant(), status());
    }

    /** Stops every task (flush, commit), writes the final status, closes the client. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (statusThread != null) {
            statusThread.shutdownNow();
            try {
                statusThread.awaitTermination(5, TimeUnit.SECONDS); // so its last write does not race the final one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long now = System.nanoTime();
        long stopNanos = TimeUnit.MILLISECONDS.toNanos(options.stopTimeoutMs());
        long deadline = now + stopNanos;
        long settleBy = now + stopNanos / 4 * 3;
        workers.forEach(w -> w.requestStop(settleBy));
        for (Worker w : workers) {
            try {
                if (!w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())))) {
                    LOG.warn("connector {}: did not stop within {} ms; interrupting it (its thread is a daemon)", w.name,
                            options.stopTimeoutMs());
                    w.interrupt();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (client != null) {
            try {
                writeStatus();
            } catch (RuntimeException e) {
                LOG.warn("connect runtime: final status not written: {}", e.getMessage());
            }
            client.close();
        }
        for (Plan p : plans) {
            if (client == null) {
                try {
                    p.task().close(); // created but never started
                } catch (Exception ignored) {
                    // nothing was opened
                }
            }
        }
    }
}
