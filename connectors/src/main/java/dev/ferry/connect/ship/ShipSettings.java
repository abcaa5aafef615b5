package dev.ferry.connect.ship;

import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorConfig;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The settings of a {@code segment-ship} connector, read and validated once; errors name the
 * field ({@link ConnectConfigException}). Immutable.
 *
 * @param logDir          {@code log.dir}: the broker's data directory (its {@code --data})
 * @param targetDir       {@code target.dir}: the archive directory, or empty when shipping to a receiver
 * @param target          {@code target.host} + {@code target.port}: a {@code segment-receive} task, or empty
 * @param interval        {@code interval.ms}: how often to look for newly sealed files (default 10,000)
 * @param includeIndexes  {@code include.indexes}: also ship sealed offset- and key-index files (default true)
 * @param verify          {@code verify}: compare CRC32C of source and copy before a file counts as shipped (default true)
 * @param maxBytesPerSecond {@code max.bytes.per.sec}: a rate limit, 0 = none (default 0)
 * @param connectTimeout  {@code connect.timeout.ms}: socket connect timeout (default 10,000)
 * @param readTimeout     {@code read.timeout.ms}: how long to wait for each answer of a receiver (default 60,000);
 *                        past it the attempt fails and is retried at the next scan
 * @param writeTimeout    {@code write.timeout.ms}: how long a write to a receiver may make no progress (default 60,000);
 *                        past it the connection is closed, the attempt fails and is retried at the next scan
 * @param force           {@code force}: fsync shipped files, their directory and the manifest (default true);
 *                        {@code false} only with {@code target.dir} (a receiver has its own {@code force})
 */
record ShipSettings(Path logDir, Optional<Path> targetDir, Optional<InetSocketAddress> target, Duration interval,
                    boolean includeIndexes, boolean verify, long maxBytesPerSecond, Duration connectTimeout,
                    Duration readTimeout, Duration writeTimeout, boolean force) {

    static ShipSettings of(ConnectorConfig c) {
        Path logDir = existingDirectory(c, "log.dir", c.string("log.dir", "the broker's data directory (bin/ferry broker --data)"));
        Optional<String> dir = c.optional("target.dir");
        Optional<String> host = c.optional("target.host");
        if (dir.isEmpty() && host.isEmpty()) {
            throw new ConnectConfigException(c.name(), "target.dir",
                    "target.dir: missing (expected: an archive directory, or target.host and target.port of a segment-receive task)");
        }
        if (dir.isPresent() && host.isPresent()) {
            throw c.invalid("target.host", host.get(), "either target.dir or target.host, not both (target.dir is '" + dir.get() + "')");
        }
        Optional<Path> targetDir = dir.map(d -> Path.of(d).toAbsolutePath().normalize());
        Optional<InetSocketAddress> target = Optional.empty();
        if (targetDir.isPresent()) {
            Path log = logDir.toAbsolutePath().normalize();
            if (targetDir.get().startsWith(log) || log.startsWith(targetDir.get())) {
                throw c.invalid("target.dir", dir.get(), "a directory outside log.dir '" + logDir + "' and not containing it");
            }
        } else {
            int port = c.intValue("target.port", 0, 1, 65_535);
            if (port == 0) {
                throw new ConnectConfigException(c.name(), "target.port",
                        "target.port: missing (expected: the listen.port of the segment-receive task on " + host.get() + ")");
            }
            target = Optional.of(InetSocketAddress.createUnresolved(host.get(), port));
        }
        Duration interval = c.millis("interval.ms", 10_000, 1, 86_400_000);
        boolean indexes = c.bool("include.indexes", true);
        boolean verify = c.bool("verify", true);
        long rate = c.longValue("max.bytes.per.sec", 0, 0, Long.MAX_VALUE);
        if (rate > 0 && rate < 4096) {
            throw c.invalid("max.bytes.per.sec", Long.toString(rate), "0 (no limit) or at least 4096");
        }
        Duration connectTimeout = c.millis("connect.timeout.ms", 10_000, 1, 600_000);
        Duration readTimeout = c.millis("read.timeout.ms", 60_000, 1, 3_600_000);
        Duration writeTimeout = c.millis("write.timeout.ms", 60_000, 1, 3_600_000);
        boolean force = c.bool("force", true);
        if (!force && target.isPresent()) {
            throw c.invalid("force", "false", "true with target.host (the receiver writes the files: set force=false on "
                    + "the segment-receive connector)");
        }
        return new ShipSettings(logDir, targetDir, target, interval, indexes, verify, rate, connectTimeout, readTimeout,
                writeTimeout, force);
    }

    static Path existingDirectory(ConnectorConfig c, String key, String value) {
        Path p = Path.of(value);
        if (!Files.isDirectory(p)) {
            throw c.invalid(key, value, "an existing directory");
        }
        return p;
    }
}
