package dev.ferry.client;

/**
 * Where the broker stored a sent message.
 *
 * <p>Messages of one batch share the broker's list of ids, which is split only when
 * {@link #msgId()} is first asked for, so acknowledging a batch of hundreds of messages costs
 * one small object each. Thread-safe: the shared list is immutable once parsed, and a race to
 * parse it only repeats work.
 */
public final class SendResult {
    private final String topic;
    private final int queueId;
    private final long queueOffset;
    private final BatchIds ids;
    private final int index;

    SendResult(String topic, int queueId, long queueOffset, BatchIds ids, int index) {
        this.topic = topic;
        this.queueId = queueId;
        this.queueOffset = queueOffset;
        this.ids = ids;
        this.index = index;
    }

    public String topic() { return topic; }

    public int queueId() { return queueId; }

    public long queueOffset() { return queueOffset; }

    /** The broker-assigned message id, usable with {@link FerryClient#queryById}. */
    public String msgId() {
        return ids.get(index);
    }

    @Override
    public String toString() {
        return "SendResult{" + topic + "/" + queueId + "@" + queueOffset + ", msgId=" + msgId() + "}";
    }
}
