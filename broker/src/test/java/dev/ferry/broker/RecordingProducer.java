package dev.ferry.broker;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A producer that is always connected and keeps every transaction check the broker sends it:
 * what the tests of the check schedule and its counts look at.
 */
final class RecordingProducer implements ProducerChannel {
    /** The checks received, in order; any thread. */
    final List<TransactionCheck> checks = new CopyOnWriteArrayList<>();

    @Override
    public boolean isActive() {
        return true;
    }

    @Override
    public boolean sendCheck(TransactionCheck check) {
        checks.add(check);
        return true;
    }
}
