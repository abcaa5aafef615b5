package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.broker.BrokerConfig;
import dev.ferry.gateway.GatewayConfig;
import dev.ferry.log.FlushMode;
import dev.ferry.log.LogConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerSettingsTest {
    @TempDir
    Path dir;

    private static BrokerSettings from(String... keyValues) {
        Map<String, BrokerSettings.Value> values = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            values.put(keyValues[i], new BrokerSettings.Value(keyValues[i + 1], "test.properties"));
        }
        return BrokerSettings.from(values);
    }

    @Test
    void defaultsAreTheRecordsBuilderDefaults() {
        BrokerSettings s = from();
        LogConfig log = LogConfig.builder(Path.of("data").toAbsolutePath()).build();
        assertThat(s.broker()).isEqualTo(BrokerConfig.defaults(log));
        assertThat(s.groups()).isEqualTo(dev.ferry.broker.GroupConfig.defaults());
        assertThat(s.transactions()).isEqualTo(dev.ferry.broker.TransactionConfig.defaults());
        assertThat(s.gateway()).isEqualTo(GatewayConfig.builder().build());
        assertThat(s.metricsPort()).isZero();
    }

    @Test
    void fileValuesReachEveryRecord() throws IOException {
        Path file = dir.resolve("broker.properties");
        Files.writeString(file, String.join("\n",
                "# a comment",
                "data.dir = " + dir.resolve("d"),
                "listen.host=0.0.0.0",
                "listen.port=0",
                "metrics.port=9100",
                "flush.mode=SYNC",
                "flush.interval.ms=50",
                "segment.bytes=1_048_576",
                "retention.ms=-1",
                "retention.bytes=10485760",
                "limits.frame.bytes=65536",
                "limits.topic.bytes=100",
                "topics.default.queues=3",
                "topics.auto.create=false",
                "groups.broadcast.position.retention.ms=-1",
                "connection.write.low.bytes=1000",
                "connection.write.high.bytes=2000"), StandardCharsets.UTF_8);
        BrokerSettings s = BrokerSettings.from(BrokerSettings.readFile(file));
        LogConfig log = s.broker().log();
        assertThat(log.dir()).isEqualTo(dir.resolve("d").toAbsolutePath());
        assertThat(log.flushMode()).isEqualTo(FlushMode.SYNC);
        assertThat(log.flushIntervalMs()).isEqualTo(50);
        assertThat(log.segmentBytes()).isEqualTo(1 << 20);
        assertThat(log.maxBodyBytes()).as("body limit lowered to the segment size when not set").isEqualTo(1 << 20);
        assertThat(log.retentionMs()).isEqualTo(Long.MAX_VALUE);
        assertThat(log.retentionBytes()).isEqualTo(10 << 20);
        assertThat(log.maxTopicBytes()).isEqualTo(100);
        assertThat(s.gateway().limits().maxTopicBytes()).isEqualTo(100);
        assertThat(s.gateway().limits().maxFrameBytes()).isEqualTo(65536);
        assertThat(s.gateway().host()).isEqualTo("0.0.0.0");
        assertThat(s.gateway().port()).isZero();
        assertThat(s.gateway().writeLowWaterMark()).isEqualTo(1000);
        assertThat(s.gateway().writeHighWaterMark()).isEqualTo(2000);
        assertThat(s.broker().defaultQueues()).isEqualTo(3);
        assertThat(s.broker().autoCreateTopics()).isFalse();
        assertThat(s.groups().broadcastPositionRetentionMs()).as("-1: kept until the group is deleted").isEqualTo(Long.MAX_VALUE);
        assertThat(s.metricsPort()).isEqualTo(9100);
    }

    @Test
    void flagsOverrideTheFile() throws IOException {
        Path file = dir.resolve("broker.properties");
        Files.writeString(file, "listen.port=1234\nflush.mode=sync\ntopics.default.queues=2\n");
        BrokerCommand cmd = new BrokerCommand();
        picocli.CommandLine.populateCommand(cmd, "--config", file.toString(), "--port", "4321", "--data", dir.toString());
        BrokerSettings s = cmd.settings();
        assertThat(s.gateway().port()).isEqualTo(4321);
        assertThat(s.broker().log().flushMode()).as("from the file").isEqualTo(FlushMode.SYNC);
        assertThat(s.broker().defaultQueues()).isEqualTo(2);
        assertThat(s.broker().log().dir()).isEqualTo(dir.toAbsolutePath());
    }

    @Test
    void aKeyGivenTwiceInTheFileIsRefused() throws IOException {
        Path file = dir.resolve("broker.properties");
        Files.writeString(file, "flush.mode=SYNC\nsegment.bytes=1048576\nflush.mode=async\n");
        assertThatThrownBy(() -> BrokerSettings.readFile(file)).isInstanceOf(BrokerSettings.ConfigException.class)
                .hasMessage(file + ": flush.mode: given twice (expected: each key once; the last would win unseen)");
    }

    @Test
    void unknownKeyIsNamedWithItsNeighbours() {
        assertThatThrownBy(() -> from("flush.modee", "sync"))
                .isInstanceOf(BrokerSettings.ConfigException.class)
                .hasMessageStartingWith("test.properties: flush.modee: unknown key")
                .hasMessageContaining("flush.mode,");
    }

    /**
     * A key in the wrong case, or with its group misspelt, is named with the key it would be.
     * Before, both got "see docs/OPERATIONS.md or ferry broker --print-config for the keys": the
     * group's keys are listed only for a known group, and "Flush" or "flsuh" is none.
     */
    @Test
    void anUnknownKeyOutsideAKnownGroupIsNamedWithTheKeyItWouldBe() {
        assertThatThrownBy(() -> from("Flush.Mode", "sync"))
                .hasMessage("test.properties: Flush.Mode: unknown key (keys are lower case: flush.mode)");
        assertThatThrownBy(() -> from("flsuh.mode", "sync"))
                .hasMessage("test.properties: flsuh.mode: unknown key (did you mean flush.mode?)");
        assertThatThrownBy(() -> from("retension.ms", "1000"))
                .hasMessage("test.properties: retension.ms: unknown key (did you mean retention.ms?)");
    }

    @Test
    void badValuesNameTheKeyAndTheRange() {
        assertThatThrownBy(() -> from("listen.port", "70000")).hasMessage("test.properties: listen.port: 70000 (expected: 0..65535)");
        assertThatThrownBy(() -> from("segment.bytes", "1g"))
                .hasMessage("test.properties: segment.bytes: '1g' (expected: an integer, 4096..2147483647)");
        assertThatThrownBy(() -> from("topics.auto.create", "yes"))
                .hasMessage("test.properties: topics.auto.create: 'yes' (expected: true or false)");
        assertThatThrownBy(() -> from("flush.mode", "sometimes"))
                .hasMessage("test.properties: flush.mode: 'sometimes' (expected: async or sync)");
        assertThatThrownBy(() -> from("retention.ms", "0"))
                .hasMessage("test.properties: retention.ms: 0 (expected: -1 (no limit) or 1..9223372036854775807)");
        // '_' only between digits (found by a reviewer: every '_' was dropped, so these were taken)
        assertThatThrownBy(() -> from("segment.bytes", "_4096_"))
                .hasMessage("test.properties: segment.bytes: '_4096_' (expected: an integer, 4096..2147483647)");
        assertThatThrownBy(() -> from("retention.ms", "-1_")).hasMessageContaining("'-1_' (expected: an integer");
        assertThatThrownBy(() -> from("segment.bytes", "4__096")).hasMessageContaining("'4__096' (expected: an integer");
    }

    @Test
    void rangesThatDependOnAnotherKeyNameTheKey() {
        assertThatThrownBy(() -> from("retention.bytes", "8192"))
                .hasMessage("test.properties: retention.bytes: 8192 (expected: 1073741824..9223372036854775807)");
        assertThatThrownBy(() -> from("connection.write.low.bytes", "10", "connection.write.high.bytes", "5"))
                .hasMessageStartingWith("test.properties: connection.write.high.bytes: 5 (expected: 10..");
        assertThatThrownBy(() -> from("limits.topic.queues", "4"))
                .hasMessage("configuration: topics.default.queues (default): 8 (expected: 1..4)");
        assertThatThrownBy(() -> from("segment.bytes", "8192", "limits.record.body.bytes", "10000"))
                .hasMessage("test.properties: limits.record.body.bytes: 10000 (expected: 0..8192)");
        assertThatThrownBy(() -> from("limits.frame.bytes", "2000", "frames.max.buffered.bytes", "1999"))
                .hasMessageStartingWith("test.properties: frames.max.buffered.bytes: 1999 (expected: at least the frame limit, 2000 bytes");
    }

    @Test
    void theFrameMemoryBudgetFollowsALargerFrameLimitUnlessSet() throws Exception {
        assertThat(from("limits.frame.bytes", "536870912").gateway().maxBufferedFrameBytes()).isEqualTo(536870912L);
        assertThat(from("limits.frame.bytes", "1000", "frames.max.buffered.bytes", "5000").gateway().maxBufferedFrameBytes())
                .isEqualTo(5000L);
    }

    /** Every numeric key refuses one past each end of its stated range, naming itself: the docs' ranges are the code's. */
    @Test
    void everyNumericKeyRefusesOnePastItsRange() {
        for (BrokerSettings.Key k : BrokerSettings.KEYS) {
            switch (k.type()) {
                case INT, LONG, LONG_OR_UNLIMITED -> {
                    long below = k.type() == BrokerSettings.Type.LONG_OR_UNLIMITED && k.min() - 1 == -1 ? -2 : k.min() - 1;
                    assertThatThrownBy(() -> from(k.key(), Long.toString(below))).as(k.key() + " = " + below)
                            .hasMessageContaining(k.key() + ": " + below + " (expected: " + k.range() + ")");
                    if (k.max() < Long.MAX_VALUE) {
                        assertThatThrownBy(() -> from(k.key(), Long.toString(k.max() + 1))).as(k.key() + " = max + 1")
                                .hasMessageContaining(k.key() + ": " + (k.max() + 1) + " (expected: " + k.range() + ")");
                    }
                }
                default -> {
                }
            }
        }
    }

    @Test
    void printedTemplateReadsBackAsTheDefaults() throws IOException {
        Path file = dir.resolve("template.properties");
        Files.writeString(file, BrokerSettings.template());
        assertThat(BrokerSettings.readFile(file)).hasSize(BrokerSettings.KEYS.size());
        assertThat(BrokerSettings.from(BrokerSettings.readFile(file))).isEqualTo(from());
    }

    /** docs/OPERATIONS.md has a row "| `key` | `default` | range | ..." for every key, and no row for a key that does not exist. */
    @Test
    void operationsGuideListsEveryKeyWithItsDefaultAndRange() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "OPERATIONS.md"));
        Map<String, String> rows = new HashMap<>();
        for (String line : doc.split("\n")) {
            if (line.startsWith("| `") && line.indexOf('.') > 0) {
                String[] cells = line.split("\\|");
                rows.put(cells[1].trim().replace("`", ""), line);
            }
        }
        for (BrokerSettings.Key k : BrokerSettings.KEYS) {
            assertThat(rows).as("docs/OPERATIONS.md row for " + k.key()).containsKey(k.key());
            String[] cells = rows.get(k.key()).split("\\|");
            assertThat(cells[2].trim()).as(k.key() + " default in docs/OPERATIONS.md").isEqualTo("`" + k.value() + "`");
            assertThat(cells[3].trim()).as(k.key() + " range in docs/OPERATIONS.md").isEqualTo(k.range());
        }
    }
}
