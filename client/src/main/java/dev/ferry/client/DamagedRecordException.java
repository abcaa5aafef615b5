package dev.ferry.client;

import dev.ferry.protocol.Status;

/**
 * A fetched record that fails its checks (its CRC32C: damaged on the broker's disk), at a known
 * place: {@link Consumer#poll} reports it at every poll, without skipping it, until the
 * application seeks past it ({@code seek(queueId(), offset() + 1)}), as a Kafka consumer stops at
 * a corrupt record. Reason {@link Reason#CLIENT} (it is the client's own finding) and not
 * retryable: fetching it again gives the same bytes. A connector's sink uses the place to set the
 * record aside under {@code errors.tolerance=all}. {@link GroupConsumer#poll} reports it too, and
 * what comes of the record then depends on the group's model (see there).
 *
 * <p>Immutable, so thread-safe.
 */
public final class DamagedRecordException extends FerryException {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final int queueId;
    private final long offset;

    DamagedRecordException(String topic, int queueId, long offset, String message) {
        super(Reason.CLIENT, Status.INTERNAL_ERROR, "FETCH " + topic + "/" + queueId + ": " + Status.INTERNAL_ERROR + ": " + message,
                null);
        this.topic = topic;
        this.queueId = queueId;
        this.offset = offset;
    }

    public String topic() {
        return topic;
    }

    public int queueId() {
        return queueId;
    }

    /** The queue offset of the damaged record. */
    public long offset() {
        return offset;
    }
}
