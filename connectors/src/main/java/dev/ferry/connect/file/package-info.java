/**
 * File connectors: {@link dev.ferry.connect.file.FileSourceTask} ({@code file-source}, follows a
 * file like {@code tail -F}) and {@link dev.ferry.connect.file.FileSinkTask} ({@code file-sink},
 * appends message bodies, rolling by size). Settings: docs/CONNECTORS.md.
 */
package dev.ferry.connect.file;
