/**
 * Connectors: move messages between Ferry topics and the outside world.
 *
 * <p>A <em>source</em> task ({@link dev.ferry.connect.SourceTask}) reads records from outside
 * (a file, a table) and the runtime sends them to a topic; a <em>sink</em> task
 * ({@link dev.ferry.connect.SinkTask}) receives the messages of topics and writes them outside.
 * A <em>service</em> task ({@link dev.ferry.connect.ServiceTask}) runs on its own (segment
 * shipping). Each task has a committed position; the runtime resumes from it after a restart.
 *
 * <p>Delivery is at-least-once: a source position is committed only after the broker
 * acknowledged every record up to it; a sink's consumer offsets are committed only after
 * {@link dev.ferry.connect.SinkTask#flush()} returned. A sink that stores its own positions
 * atomically with its writes ({@link dev.ferry.connect.SinkTask#storedPositions}) is
 * exactly-once.
 */
package dev.ferry.connect;
