/**
 * Segment shipping: copies a broker's sealed commit-log segments and index files to an archive
 * directory or, over a socket, to another host, for backups and a standby copy.
 *
 * <p>Connector types: {@link dev.ferry.connect.ship.SegmentShipTask} ({@code segment-ship}) and
 * {@link dev.ferry.connect.ship.SegmentReceiveTask} ({@code segment-receive}). Inside:
 * {@code SealedFiles} decides what is sealed from the broker's checkpoint, {@code Transfer}
 * copies with {@code FileChannel.transferTo} (sendfile), {@code ArchiveDir} owns the archive's
 * commit rule ({@code .part}, verify, rename, {@code Manifest}), {@code Overlap} runs checksums
 * and forces on helper threads next to the transfer, {@code ShipProtocol} the wire format,
 * {@code WriteWatchdog} the deadline of the sender's socket writes. docs/CONNECTORS.md "Segment
 * shipping" describes settings, formats, resume and restore.
 */
package dev.ferry.connect.ship;
