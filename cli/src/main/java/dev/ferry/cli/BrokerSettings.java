package dev.ferry.cli;

import dev.ferry.broker.BrokerConfig;
import dev.ferry.broker.GroupConfig;
import dev.ferry.broker.TransactionConfig;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.FlushMode;
import dev.ferry.log.LogConfig;
import dev.ferry.protocol.Limits;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The broker's settings as one flat set of keys — a {@code java.util.Properties} file plus
 * command-line overrides — mapped onto the modules' own configuration records
 * ({@link LogConfig}, {@link BrokerConfig}, {@link GroupConfig}, {@link TransactionConfig},
 * {@link GatewayConfig} with its {@link Limits}).
 *
 * <p>Keys are lower case, dot separated, grouped by subject ({@code flush.*}, {@code retention.*},
 * {@code limits.*}, ...), with the unit last ({@code .ms}, {@code .bytes}). {@link #KEYS} is the
 * one list of them: type, range, default and meaning; {@code ferry broker --print-config}
 * prints it as a file to start from, and docs/OPERATIONS.md carries it as a table (a test keeps
 * the two in step).
 *
 * <p>Validation happens here, before anything is opened: an unknown key, a value of the wrong
 * type or outside its range is a {@link ConfigException} naming the source, the key and the
 * accepted values. Ranges that depend on another key (retention.bytes at least segment.bytes,
 * for example) are checked by the records' constructors; their complaint, which names the
 * record's field, is rewritten to name the key.
 *
 * @param broker      the broker's settings; {@code broker.log()} is the storage engine's
 * @param groups      the consumer-group coordinator's settings
 * @param transactions the transaction coordinator's settings
 * @param gateway     the network front's settings
 * @param metricsPort port of the Prometheus endpoint on the gateway's listen host; 0 = off
 * @param connectConfigs connector configuration files to run inside the broker (empty: none)
 * @param connectStateDir the embedded connect runtime's state directory
 */
record BrokerSettings(BrokerConfig broker, GroupConfig groups, TransactionConfig transactions, GatewayConfig gateway, int metricsPort,
                      List<Path> connectConfigs, Path connectStateDir) {
    /** An integer as the file may write it: digits, '_' only between two of them, an optional leading '-'. */
    private static final java.util.regex.Pattern DIGIT_GROUPS = java.util.regex.Pattern.compile("-?[0-9]+(_[0-9]+)*");

    /** A value that the broker cannot start with: unknown key, wrong type, out of range. */
    static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ConfigException(String message) {
            super(message, null, false, false);
        }
    }

    enum Type { INT, LONG, LONG_OR_UNLIMITED, BOOLEAN, FLUSH_MODE, STRING }

    /**
     * One configuration key.
     *
     * @param key   its name in the file
     * @param type  how its value is read
     * @param min   smallest accepted number (numeric types)
     * @param max   largest accepted number (numeric types)
     * @param value its default, as written in a file
     * @param field the name of the record field(s) it sets, as their constructors name them in errors
     * @param doc   one sentence for operators
     */
    record Key(String key, Type type, long min, long max, String value, String field, String doc) {
        /** The accepted values, as error messages and the docs state them. */
        String range() {
            return switch (type) {
                case INT, LONG -> min + ".." + max;
                case LONG_OR_UNLIMITED -> "-1 (no limit) or " + min + ".." + max;
                case BOOLEAN -> "true or false";
                case FLUSH_MODE -> "async or sync";
                case STRING -> min == 0 ? "any text" : "non-empty text";
            };
        }
    }

    private static final int I = Integer.MAX_VALUE;
    private static final long L = Long.MAX_VALUE;

    /** Every key, in the order of docs/OPERATIONS.md. Defaults equal the records' builders' (a test checks). */
    static final List<Key> KEYS = List.of(
            // where
            new Key("data.dir", Type.STRING, 1, 0, "data", "dir", "Data folder: commit log, indexes, checkpoint, topics, committed offsets. Relative to the working directory."),
            new Key("listen.host", Type.STRING, 1, 0, "127.0.0.1", "host", "Address the gateway (and the metrics endpoint) listens on; 0.0.0.0 for every interface."),
            new Key("listen.port", Type.INT, 0, 65_535, "9876", "port", "Port of the gateway; 0 picks a free one."),
            new Key("metrics.port", Type.INT, 0, 65_535, "0", "metricsPort", "Port of the Prometheus endpoint http://HOST:PORT/metrics on listen.host; 0 = no endpoint."),
            // commit log
            new Key("segment.bytes", Type.INT, LogConfig.MIN_SEGMENT_BYTES, I, "1073741824", "segmentBytes", "Size of each commit-log segment file; no record may be larger. Applies to segments created after a change."),
            new Key("segment.pretouch", Type.BOOLEAN, 0, 0, "true", "preTouch", "Writes through mappings (sync flush, or flush.staged.writes=false): after writing zeros over commit-log space ahead of the appender, also touch each page through the appender's mapping, so appends take no page faults."),
            new Key("segment.fill.ahead.bytes", Type.LONG, 16L << 20, 1L << 40, Long.toString(64L << 20), "fillAheadBytes", "Writes through mappings (sync flush, or flush.staged.writes=false): commit-log space kept prepared ahead of the appender by a background thread; an append that outruns it waits."),
            new Key("index.entries.per.file", Type.INT, 1, (I - 16) / 20, "300000", "indexEntriesPerFile", "Entries per offset-index file (20 bytes each; default 6 MB files). Fixed when a store's first index file is made: a store keeps its files' size, with a WARN if this differs; to change it, stop, delete DATA/index and start again (the indexes are rebuilt from the whole commit log once)."),
            new Key("keyindex.slots", Type.INT, 1, 64 << 20, "1048576", "keyIndexSlots", "Hash slots per key-index file."),
            new Key("keyindex.entries", Type.INT, 1, 64 << 20, "4194304", "keyIndexEntries", "Entries per key-index file; also the most keys one send (a batch's messages' keys together) may carry (LIMIT_EXCEEDED beyond)."),
            // flush
            new Key("flush.mode", Type.FLUSH_MODE, 0, 0, "async", "flushMode", "async: acknowledge once in the page cache; sync: acknowledge after an fsync covering the message (group commit)."),
            new Key("flush.interval.ms", Type.INT, 1, 3_600_000, "500", "flushIntervalMs", "async: how often the flusher looks at dirty pages."),
            new Key("flush.staged.writes", Type.BOOLEAN, 0, 0, "true", "stagedWrites", "async: append into a small mapped ring (the file staging) that a committer thread copies into the segments with write(); false: append through the segments' mappings, prepared ahead with zeros."),
            new Key("flush.commit.interval.ms", Type.INT, 1, 3_600_000, "100", "commitIntervalMs", "async, staged writes: the committer copies the ring into the segments every 256 KiB appended and at least this often; readers and the flusher commit what they need themselves."),
            new Key("flush.min.dirty.pages", Type.INT, 0, I, "4", "flushMinDirtyPages", "async: flush only when at least this many 4 KiB pages are dirty, except every 10th interval, which flushes whatever is dirty."),
            new Key("flush.sync.timeout.ms", Type.LONG, 1, L, "5000", "syncFlushTimeoutMs", "sync: a send whose fsync has not returned by then fails with TIMEOUT (its records are written)."),
            new Key("checkpoint.interval.ms", Type.INT, 1, 3_600_000, "10000", "checkpointIntervalMs", "How often indexes are forced and the checkpoint written; recovery re-verifies the log from the checkpoint or from the start of the last segment holding data, whichever is lower."),
            // retention
            new Key("retention.ms", Type.LONG_OR_UNLIMITED, 1, L, "259200000", "retentionMs", "Segments whose records are all older than this are deleted (default 72 h), except from the oldest delayed message not yet delivered on (see Retention in docs/OPERATIONS.md)."),
            new Key("retention.bytes", Type.LONG_OR_UNLIMITED, LogConfig.MIN_SEGMENT_BYTES, L, "-1", "retentionBytes", "Commit-log size kept; the oldest segments are deleted beyond it, even one holding a delayed message not yet delivered (lost, with an ERROR; see Retention in docs/OPERATIONS.md). At least segment.bytes."),
            new Key("retention.check.interval.ms", Type.LONG, 1, L, "10000", "retentionCheckIntervalMs", "How often retention runs."),
            // topics, consumers
            new Key("topics.auto.create", Type.BOOLEAN, 0, 0, "true", "autoCreateTopics", "Sending to an unknown topic creates it with topics.default.queues queues; false answers NOT_FOUND."
                    + " A JOIN_GROUP never creates the topics it subscribes to: an unknown one is accepted (and assigned once a send"
                    + " creates it), or NOT_FOUND when false. A clustering group's `%RETRY%GROUP` topic is created at the first join of a"
                    + " non-orderly member (and again by a move to it, if it was deleted) either way."),
            new Key("topics.default.queues", Type.INT, 1, 65_536, "8", "defaultQueues", "Queues of a topic auto-created or created without a count; at most limits.topic.queues."),
            new Key("fetch.max.wait.ms", Type.LONG, 0, L, "30000", "maxFetchWaitMs", "Longest long-poll a FETCH may ask for; longer waits are cut to this. 0 turns long polling off, and consumers then poll without pause: one idle `ferry consume` sent some 33,000 FETCHes a second; keep it at a second or more."),
            new Key("offsets.flush.interval.ms", Type.LONG, 1, L, "1000", "offsetFlushIntervalMs", "How often committed consumer offsets are written to disk; a crash can lose this much of commits (consumers re-read, never skip). Offset resets and group and topic deletions are written at once."),
            new Key("groups.broadcast.position.retention.ms", Type.LONG_OR_UNLIMITED, 1, L, "604800000", "broadcastPositionRetentionMs", "A broadcasting consumer's own positions (offset group GROUP%CLIENT_ID) are forgotten once it has not been live (left, or its session expired) for this long (default 7 days), as Kafka's offsets.retention.minutes; checked about once a minute. When it was last live is kept in memory: after a restart, positions count from when the broker first sees them."),
            // transactions
            new Key("transactions.check.timeout.ms", Type.LONG, 1, L, "6000", "checkTimeoutMs", "A half message still undecided this long after it was stored is checked back with its producer group."),
            new Key("transactions.check.interval.ms", Type.LONG, 1, L, "30000", "checkIntervalMs", "While a half message stays undecided, it is checked again this often."),
            new Key("transactions.max.checks", Type.INT, 0, I, "15", "maxChecks", "Checks (attempts, also with no producer connected) before a half message is rolled back and a warning logged; counted across restarts (DATA/transactions/checks), so a broker restarted over and over still gives a half up."),
            // network
            new Key("io.threads", Type.INT, 0, 1024, "0", "ioThreads", "Netty worker threads; 0 = Netty's default, two per available processor."),
            new Key("transport.native", Type.BOOLEAN, 0, 0, "true", "nativeTransport", "Use Linux epoll where it loads, NIO otherwise."),
            new Key("transport.zero.copy", Type.BOOLEAN, 0, 0, "true", "zeroCopy", "Send binary-codec FETCH records from the files with sendfile; false copies them through buffers."),
            new Key("connection.write.low.bytes", Type.INT, 1, I, "1048576", "writeLowWaterMark", "A connection paused for unsent replies is read again below this."),
            new Key("connection.write.high.bytes", Type.INT, 1, I, "4194304", "writeHighWaterMark", "A connection is not read while its unsent replies exceed this; at least connection.write.low.bytes."),
            new Key("connection.max.parked.fetches", Type.INT, 1, I, "1024", "maxParkedFetchesPerConnection", "Long-polling fetches one connection may have waiting; past it a fetch that would wait gets BUSY (one with messages to read is answered)."),
            new Key("fetches.max.parked", Type.INT, 1, I, "100000", "maxParkedFetches", "Long-polling fetches waiting on the whole broker, all connections together; past it a fetch that would wait gets BUSY (one with messages to read is answered)."),
            new Key("connection.write.stall.timeout.ms", Type.LONG, 1, L, "60000", "writeStallTimeoutMs", "A connection whose unsent replies make no progress this long (its client reads nothing; checked this often, so closed within twice this) is closed, freeing them and the segments they hold."),
            new Key("connections.max", Type.INT, 1, I, "10000", "maxConnections", "Open connections the broker admits; a client past it is refused at its hello with TOO_MANY_CONNECTIONS."),
            new Key("connections.max.per.ip", Type.INT, 1, I, "10000", "maxConnectionsPerIp", "Open connections admitted from one client address; past it, TOO_MANY_CONNECTIONS."),
            new Key("connection.handshake.timeout.ms", Type.LONG, 1, L, "10000", "handshakeTimeoutMs", "A connection that has not sent its hello by then is closed."),
            new Key("connection.frame.timeout.ms", Type.LONG, 1, L, "60000", "frameTimeoutMs", "A frame begun but not complete this long after (while the broker reads the connection; four times this in all) closes it with BAD_REQUEST."),
            new Key("frames.max.buffered.bytes", Type.LONG, 1, L, "268435456", "maxBufferedFrameBytes", "Memory for request frames being read and not yet handled, all connections together; a connection whose next frame it cannot cover is not read until others' frames are done (back-pressure, no error). At least limits.frame.bytes; when not set, raised to it if that is larger."),
            new Key("sends.max.in.flight", Type.INT, 1, I, "20000", "maxInFlightSends", "Sends waiting for their flush beyond this get a retryable BUSY."),
            new Key("sends.max.unflushed.bytes", Type.LONG, 1, L, "2147483648", "maxUnflushedBytes", "Sends get BUSY while the store has more than this not yet on disk."),
            new Key("shutdown.drain.ms", Type.LONG, 0, L, "5000", "drainMs", "On stop, how long to wait for requests in flight before closing connections."),
            // limits: wire (checked by the codecs before allocating) and stored records (checked by the log)
            new Key("limits.frame.bytes", Type.INT, 1, I - 4, "16777216", "maxFrameBytes", "Largest frame a client may send (and the largest reply); a larger one closes the connection with FRAME_TOO_LARGE."),
            new Key("limits.headers", Type.INT, 1, 0xFFFF, "64", "maxHeaders", "Headers per command."),
            new Key("limits.header.key.bytes", Type.INT, 1, 0xFFFF, "256", "maxHeaderKeyBytes", "One header name, UTF-8 bytes."),
            new Key("limits.header.value.bytes", Type.INT, 1, I, "32768", "maxHeaderValueBytes", "One header value, UTF-8 bytes."),
            new Key("limits.batch.messages", Type.INT, 1, I, "10000", "maxMessagesPerCommand", "Messages per command (SEND_BATCH, FETCH replies)."),
            new Key("limits.message.keys", Type.INT, 1, 0xFFFF, "32", "maxKeysPerMessage", "Keys per message on the wire."),
            new Key("limits.key.bytes", Type.INT, 1, 0xFFFF, "1024", "maxKeyBytes", "One message key, UTF-8 bytes."),
            new Key("limits.message.properties", Type.INT, 1, 0xFFFF, "64", "maxPropertiesPerMessage", "User properties per message on the wire."),
            new Key("limits.property.key.bytes", Type.INT, 1, 0xFFFF, "256", "maxPropertyKeyBytes", "One property name, UTF-8 bytes."),
            new Key("limits.property.value.bytes", Type.INT, 1, I, "32768", "maxPropertyValueBytes", "One property value, UTF-8 bytes."),
            new Key("limits.tags.bytes", Type.INT, 1, 0xFFFF, "1024", "maxTagsBytes", "A message's tags, UTF-8 bytes."),
            new Key("limits.msgid.bytes", Type.INT, 1, 0xFFFF, "128", "maxMsgIdBytes", "A message id, UTF-8 bytes."),
            new Key("limits.error.message.bytes", Type.INT, 1, I, "32768", "maxErrorMessageBytes", "An error text in a response."),
            new Key("limits.topic.bytes", Type.INT, 1, 200, "200", "maxTopicBytes", "A topic name, UTF-8 bytes (wire and store)."),
            new Key("limits.topic.queues", Type.INT, 1, LogConfig.MAX_QUEUES_PER_TOPIC, "4096", "maxQueuesPerTopic", "Queues per topic: queue ids are 0..this-1. At least the queues of every topic the data folder holds (a topic's queues are never removed): a start with it lower fails."),
            new Key("limits.record.properties", Type.INT, 0, 10_000, "64", "maxProperties", "Properties per stored message, tags and keys included."),
            new Key("limits.record.properties.bytes", Type.INT, 0, 64_511, "32767", "maxPropertiesBytes", "Encoded properties area of a stored message, the broker's own properties not counted."),
            new Key("limits.record.body.bytes", Type.INT, 0, I, "4194304", "maxBodyBytes", "Largest message body; at most segment.bytes (and lowered to it when not set); with staged writes, at most about 504 MiB (the staging ring holds two of the largest records and a batch, at most 1 GiB)."),
            // connectors run inside the broker (docs/CONNECTORS.md)
            new Key("connect.configs", Type.STRING, 0, 0, "", "connectConfigs", "Comma-separated connector configuration files to run inside the broker once the gateway is up; empty = none."),
            new Key("connect.state.dir", Type.STRING, 0, 0, "", "connectStateDir", "State directory of the embedded connectors (positions, status.json, pause files); empty = DATA_DIR/connect."));

    private static final Map<String, Key> BY_NAME = new LinkedHashMap<>();

    static {
        for (Key k : KEYS) {
            BY_NAME.put(k.key, k);
        }
    }

    /**
     * Properties that refuse a key given twice: {@link Properties#load} keeps the last value
     * without a word, and a file that sets {@code flush.mode=sync} and, further down, {@code
     * flush.mode=async} ran ASYNC. Unknown keys are refused for the same reason (a typo would be
     * ignored).
     */
    private static final class OnceEachProperties extends Properties {
        private static final long serialVersionUID = 1L;

        @Override
        public synchronized Object put(Object key, Object value) {
            if (containsKey(key)) {
                throw new KeyGivenTwice(String.valueOf(key));
            }
            return super.put(key, value);
        }
    }

    private static final class KeyGivenTwice extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String key;

        KeyGivenTwice(String key) {
            super(key, null, false, false);
            this.key = key;
        }
    }

    /** Where a value came from, for error messages: a file's path, or the command line (the key is then its flag). */
    record Value(String text, String source) {}

    /** Reads {@code file} as properties, each value tagged with the file as its source. */
    static Map<String, Value> readFile(Path file) {
        Properties p = new OnceEachProperties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (KeyGivenTwice e) {
            throw new ConfigException(file + ": " + e.key + ": given twice (expected: each key once; the last would win unseen)");
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigException(file + ": cannot read (no such file)");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new ConfigException(file + ": cannot read (permission denied)");
        } catch (IOException e) {
            // a file system exception's message is the path alone: "cannot read (/x.properties)" said nothing
            String reason = e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
            throw new ConfigException(file + ": cannot read (" + (reason == null || reason.equals(file.toString()) ? e.getClass().getSimpleName() : reason) + ")");
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file + ": not a properties file (" + e.getMessage() + ")");
        }
        Map<String, Value> out = new LinkedHashMap<>();
        for (String name : new TreeSet<>(p.stringPropertyNames())) {
            out.put(name.trim(), new Value(p.getProperty(name).trim(), file.toString()));
        }
        return out;
    }

    /**
     * Builds the settings from {@code values} (key to value; later sources were already
     * merged over earlier ones by the caller). Unset keys take their defaults.
     *
     * @throws ConfigException naming the source, key and accepted values of the first bad one
     */
    static BrokerSettings from(Map<String, Value> values) {
        for (Map.Entry<String, Value> e : values.entrySet()) {
            if (!BY_NAME.containsKey(e.getKey())) {
                throw new ConfigException(e.getValue().source + ": " + e.getKey() + ": unknown key (" + suggest(e.getKey()) + ")");
            }
        }
        Values r = new Values(values);
        try {
            LogConfig.Builder log = LogConfig.builder(Path.of(r.string("data.dir")).toAbsolutePath())
                    .segmentBytes(r.integer("segment.bytes"))
                    .preTouch(r.bool("segment.pretouch"))
                    .fillAheadBytes(r.number("segment.fill.ahead.bytes"))
                    .indexEntriesPerFile(r.integer("index.entries.per.file"))
                    .keyIndexSlots(r.integer("keyindex.slots"))
                    .keyIndexEntries(r.integer("keyindex.entries"))
                    .flushMode(r.flushMode("flush.mode"))
                    .flushIntervalMs(r.integer("flush.interval.ms"))
                    .stagedWrites(r.bool("flush.staged.writes"))
                    .commitIntervalMs(r.integer("flush.commit.interval.ms"))
                    .flushMinDirtyPages(r.integer("flush.min.dirty.pages"))
                    .syncFlushTimeoutMs(r.number("flush.sync.timeout.ms"))
                    .checkpointIntervalMs(r.integer("checkpoint.interval.ms"))
                    .retentionMs(r.number("retention.ms"))
                    .retentionBytes(r.number("retention.bytes"))
                    .retentionCheckIntervalMs(r.number("retention.check.interval.ms"))
                    .maxTopicBytes(r.integer("limits.topic.bytes"))
                    .maxQueuesPerTopic(r.integer("limits.topic.queues"))
                    .maxProperties(r.integer("limits.record.properties"))
                    .maxPropertiesBytes(r.integer("limits.record.properties.bytes"));
            int body = r.integer("limits.record.body.bytes");
            if (r.isSet("limits.record.body.bytes")) {
                log.maxBodyBytes(body); // otherwise the builder's default, already lowered to segment.bytes
            }
            Limits limits = Limits.builder()
                    .maxFrameBytes(r.integer("limits.frame.bytes"))
                    .maxHeaders(r.integer("limits.headers"))
                    .maxHeaderKeyBytes(r.integer("limits.header.key.bytes"))
                    .maxHeaderValueBytes(r.integer("limits.header.value.bytes"))
                    .maxMessagesPerCommand(r.integer("limits.batch.messages"))
                    .maxKeysPerMessage(r.integer("limits.message.keys"))
                    .maxKeyBytes(r.integer("limits.key.bytes"))
                    .maxPropertiesPerMessage(r.integer("limits.message.properties"))
                    .maxPropertyKeyBytes(r.integer("limits.property.key.bytes"))
                    .maxPropertyValueBytes(r.integer("limits.property.value.bytes"))
                    .maxTopicBytes(r.integer("limits.topic.bytes"))
                    .maxTagsBytes(r.integer("limits.tags.bytes"))
                    .maxMsgIdBytes(r.integer("limits.msgid.bytes"))
                    .maxErrorMessageBytes(r.integer("limits.error.message.bytes"))
                    .build();
            BrokerConfig broker = new BrokerConfig(log.build(), r.integer("topics.default.queues"), r.bool("topics.auto.create"),
                    r.number("fetch.max.wait.ms"), r.number("offsets.flush.interval.ms"));
            GroupConfig groups = GroupConfig.builder()
                    .broadcastPositionRetentionMs(r.number("groups.broadcast.position.retention.ms"))
                    .build();
            TransactionConfig transactions = TransactionConfig.builder()
                    .checkTimeoutMs(r.number("transactions.check.timeout.ms"))
                    .checkIntervalMs(r.number("transactions.check.interval.ms"))
                    .maxChecks(r.integer("transactions.max.checks"))
                    .build();
            GatewayConfig.Builder gatewayBuilder = GatewayConfig.builder()
                    .host(r.string("listen.host"))
                    .port(r.integer("listen.port"))
                    .limits(limits)
                    .ioThreads(r.integer("io.threads"))
                    .nativeTransport(r.bool("transport.native"))
                    .zeroCopy(r.bool("transport.zero.copy"))
                    .writeWaterMarks(r.integer("connection.write.low.bytes"), r.integer("connection.write.high.bytes"))
                    .maxParkedFetchesPerConnection(r.integer("connection.max.parked.fetches"))
                    .maxParkedFetches(r.integer("fetches.max.parked"))
                    .writeStallTimeoutMs(r.number("connection.write.stall.timeout.ms"))
                    .handshakeTimeoutMs(r.number("connection.handshake.timeout.ms"))
                    .frameTimeoutMs(r.number("connection.frame.timeout.ms"))
                    .maxConnections(r.integer("connections.max"))
                    .maxConnectionsPerIp(r.integer("connections.max.per.ip"))
                    .maxInFlightSends(r.integer("sends.max.in.flight"))
                    .maxUnflushedBytes(r.number("sends.max.unflushed.bytes"))
                    .drainMs(r.number("shutdown.drain.ms"));
            long bufferedFrames = r.number("frames.max.buffered.bytes");
            if (r.isSet("frames.max.buffered.bytes")) {
                gatewayBuilder.maxBufferedFrameBytes(bufferedFrames); // otherwise the builder's default, raised to the frame limit
            }
            GatewayConfig gateway = gatewayBuilder.build();
            List<Path> connectConfigs = new ArrayList<>();
            for (String f : r.string("connect.configs").split(",")) {
                if (!f.isBlank()) {
                    connectConfigs.add(Path.of(f.trim()));
                }
            }
            String stateDir = r.string("connect.state.dir");
            BrokerSettings settings = new BrokerSettings(broker, groups, transactions, gateway, r.integer("metrics.port"), List.copyOf(connectConfigs),
                    stateDir.isEmpty() ? broker.log().dir().resolve("connect") : Path.of(stateDir).toAbsolutePath());
            r.checkAllRead();
            return settings;
        } catch (IllegalArgumentException e) {
            throw fromRecord(e, values);
        }
    }

    /**
     * A start's {@code e} as a bad configuration when it names a record field of a key (a value
     * the data folder rules out, e.g. {@code maxQueuesPerTopic} below a topic's queues, found when
     * the broker reads its topics): rewritten to name the key and where it was set. Any other
     * {@code e} is returned as it is.
     */
    static RuntimeException againstTheData(IllegalArgumentException e, Map<String, Value> values) {
        String message = String.valueOf(e.getMessage());
        int colon = message.indexOf(':');
        String field = colon < 0 ? "" : message.substring(0, colon);
        for (Key k : KEYS) {
            if (k.field.equals(field)) {
                return fromRecord(e, values);
            }
        }
        return e;
    }

    /** A record constructor's "field: value (expected: ...)" rewritten to name the key and where it was set. */
    private static ConfigException fromRecord(IllegalArgumentException e, Map<String, Value> values) {
        String message = String.valueOf(e.getMessage());
        int colon = message.indexOf(':');
        String field = colon < 0 ? "" : message.substring(0, colon);
        for (Key k : KEYS) {
            if (k.field.equals(field)) {
                Value v = values.get(k.key);
                return v == null ? new ConfigException("configuration: " + k.key + " (default)" + message.substring(colon))
                        : new ConfigException(v.source + ": " + k.key + message.substring(colon));
            }
        }
        return new ConfigException("configuration: " + message);
    }

    /**
     * What to say about an unknown key: the key it would be in lower case (keys are case-sensitive,
     * as Properties are), else the keys of its group, else keys within two typing mistakes of it
     * (a misspelt group: "flsuh.mode"), else where the keys are listed.
     */
    private static String suggest(String unknown) {
        String lower = unknown.toLowerCase(Locale.ROOT);
        if (BY_NAME.containsKey(lower)) {
            return "keys are lower case: " + lower;
        }
        int dot = unknown.indexOf('.');
        String group = (dot < 0 ? unknown : unknown.substring(0, dot)) + ".";
        List<String> near = new ArrayList<>();
        for (String k : BY_NAME.keySet()) {
            if (k.startsWith(group)) {
                near.add(k);
            }
        }
        if (!near.isEmpty()) {
            return "known " + group + "* keys: " + String.join(", ", near);
        }
        for (String k : BY_NAME.keySet()) {
            if (editDistance(lower, k) <= 2) {
                near.add(k);
            }
        }
        return near.isEmpty() ? "see docs/OPERATIONS.md or ferry broker --print-config for the keys"
                : "did you mean " + String.join(" or ", near) + "?";
    }

    /** Levenshtein distance: insertions, deletions and substitutions of one character, each 1. */
    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }

    /** The keys as a properties file with every default, each preceded by its range and meaning. */
    static String template() {
        StringBuilder b = new StringBuilder("# Ferry broker configuration: every key with its default.\n");
        for (Key k : KEYS) {
            b.append("\n# ").append(k.doc).append("\n# accepted: ").append(k.range()).append('\n')
                    .append(k.key).append('=').append(k.value).append('\n');
        }
        return b.toString();
    }

    /** Reads typed values, falling back to defaults; remembers which keys were read. Not thread-safe. */
    private static final class Values {
        private final Map<String, Value> values;
        private final Set<String> read = new HashSet<>();

        Values(Map<String, Value> values) {
            this.values = values;
        }

        boolean isSet(String key) {
            return values.containsKey(key);
        }

        private Value raw(Key k) {
            read.add(k.key);
            return values.getOrDefault(k.key, new Value(k.value, "default"));
        }

        private static Key key(String name) {
            Key k = BY_NAME.get(name);
            if (k == null) {
                throw new IllegalStateException("no key " + name);
            }
            return k;
        }

        private static ConfigException bad(Key k, Value v, String expected) {
            return new ConfigException(v.source + ": " + k.key + ": '" + v.text + "' (expected: " + expected + ")");
        }

        long number(String name) {
            Key k = key(name);
            Value v = raw(k);
            long n;
            try {
                // '_' only between digits, as OPERATIONS.md says (and Java's literals): "_4096_" or "-1_" is a typo, not a number
                if (!DIGIT_GROUPS.matcher(v.text).matches()) {
                    throw new NumberFormatException(v.text);
                }
                n = Long.parseLong(v.text.replace("_", ""));
            } catch (NumberFormatException e) {
                throw bad(k, v, "an integer, " + k.range());
            }
            if (k.type == Type.LONG_OR_UNLIMITED && n == -1) {
                return Long.MAX_VALUE;
            }
            if (n < k.min || n > k.max) {
                throw new ConfigException(v.source + ": " + k.key + ": " + n + " (expected: " + k.range() + ")");
            }
            return n;
        }

        int integer(String name) {
            if (key(name).type != Type.INT) {
                throw new IllegalStateException(name + " is not an int key");
            }
            return (int) number(name);
        }

        boolean bool(String name) {
            Key k = key(name);
            Value v = raw(k);
            return switch (v.text.toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw bad(k, v, k.range());
            };
        }

        FlushMode flushMode(String name) {
            Key k = key(name);
            Value v = raw(k);
            return switch (v.text.toLowerCase(Locale.ROOT)) {
                case "async" -> FlushMode.ASYNC;
                case "sync" -> FlushMode.SYNC;
                default -> throw bad(k, v, k.range());
            };
        }

        String string(String name) {
            Key k = key(name);
            Value v = raw(k);
            if (k.min > 0 && v.text.isEmpty()) {
                throw bad(k, v, k.range());
            }
            return v.text;
        }

        /** Every key must be mapped: a key in {@link #KEYS} that nothing reads is a bug here, not a user error. */
        void checkAllRead() {
            if (read.size() != KEYS.size()) {
                Set<String> unread = new TreeSet<>(BY_NAME.keySet());
                unread.removeAll(read);
                throw new IllegalStateException("keys not mapped: " + unread);
            }
        }
    }
}
