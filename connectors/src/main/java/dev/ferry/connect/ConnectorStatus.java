package dev.ferry.connect;

import java.util.Map;

/**
 * One connector's state at one moment, as {@link ConnectRuntime#status()} returns it and
 * {@code STATE_DIR/status.json} stores it. Immutable.
 *
 * @param name       the connector's name
 * @param type       its connector type, e.g. {@code file-source}
 * @param kind       source, sink or service
 * @param state      running, paused, failed or stopped
 * @param reason     why it failed ({@code ""} unless FAILED); ends in {@code (restarting in N s)} while a
 *                   restart after a broker or I/O error is due
 * @param recordsIn  records read: polled from the source, or fetched from the topics
 * @param recordsOut records delivered: acknowledged by the broker (source), or written by the sink
 * @param errors     bad records (sent to the error topic, or the one that failed the task)
 * @param lag        sink: messages behind the end of the topics (-1 while the broker does not answer); source: what the task reports
 *                   (file source: bytes not read yet); -1 when unknown
 * @param progress   a service task's own counters (e.g. bytesShipped); empty for sources and sinks
 */
public record ConnectorStatus(String name, String type, ConnectorTypes.Kind kind, TaskState state, String reason,
                              long recordsIn, long recordsOut, long errors, long lag, Map<String, Long> progress) {
    public ConnectorStatus {
        progress = Map.copyOf(progress);
    }
}
