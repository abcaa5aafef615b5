package dev.ferry.connect;

import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link ServiceTask} on the worker thread until it returns (STOPPED) or throws
 * (FAILED); a stop request closes the task from the stopping thread, which makes
 * {@link ServiceTask#run} return. Services cannot be paused: a pause request is ignored (and
 * logged). The status's {@code progress} is the task's own {@link ServiceTask#progress()}.
 *
 * <p><b>Thread safety.</b> See {@link Worker}; {@code closed} makes sure the task is closed once,
 * by whichever thread gets there first.
 */
final class ServiceWorker extends Worker {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceWorker.class);

    private final ServiceTask task;
    private final AtomicBoolean closed = new AtomicBoolean();

    ServiceWorker(String name, ConnectorTypes.Type type, ConnectorConfig config, RuntimeServices services, boolean keysChecked,
                  ServiceTask task) {
        super(name, type, config, services, keysChecked);
        this.task = task;
    }

    @Override
    void loop() throws Exception {
        if (pauseRequested) {
            LOG.warn("connector {}: a service cannot be paused; it keeps running", name);
        }
        try {
            // a service that does not implement configure reads its settings in run, so its
            // unknown keys cannot be checked at a useful moment: only configure() gets that check
            task.run(context(Map.of()));
        } finally {
            closeOnce();
        }
    }

    @Override
    void onStopRequested() {
        closeOnce();
    }

    private void closeOnce() {
        if (closed.compareAndSet(false, true)) {
            try {
                task.close();
            } catch (Exception e) {
                LOG.warn("connector {}: close failed: {}", name, describe(e));
            }
        }
    }

    @Override
    Map<String, Long> progress() {
        try {
            return task.progress();
        } catch (RuntimeException e) {
            return Map.of();
        }
    }
}
