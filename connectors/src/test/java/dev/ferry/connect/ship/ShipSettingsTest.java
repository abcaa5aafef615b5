package dev.ferry.connect.ship;

import static dev.ferry.connect.ship.ShipTestSupport.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorTypes;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad segment-ship / segment-receive configurations fail with the field named. */
class ShipSettingsTest {
    @TempDir
    Path tmp;

    private void failsOn(String field, String messagePart, String... kv) {
        assertThatThrownBy(() -> ShipSettings.of(config(kv)))
                .isInstanceOf(ConnectConfigException.class)
                .hasMessageContaining("connector 'ship-test': " + field + ": ")
                .hasMessageContaining(messagePart)
                .satisfies(e -> assertThat(((ConnectConfigException) e).field()).isEqualTo(field));
    }

    @Test
    void namesTheWrongField() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        String archive = tmp.resolve("archive").toString();
        failsOn("log.dir", "missing", "target.dir", archive);
        failsOn("log.dir", "an existing directory", "log.dir", tmp.resolve("nope").toString(), "target.dir", archive);
        failsOn("target.dir", "missing (expected: an archive directory, or target.host", "log.dir", data.toString());
        failsOn("target.host", "either target.dir or target.host", "log.dir", data.toString(), "target.dir", archive,
                "target.host", "standby");
        failsOn("target.port", "missing", "log.dir", data.toString(), "target.host", "standby");
        failsOn("target.port", "an integer in [1, 65535]", "log.dir", data.toString(), "target.host", "standby",
                "target.port", "70000");
        failsOn("target.dir", "outside log.dir", "log.dir", data.toString(), "target.dir", data.resolve("backup").toString());
        failsOn("interval.ms", "an integer", "log.dir", data.toString(), "target.dir", archive, "interval.ms", "soon");
        failsOn("read.timeout.ms", "an integer in [1, 3600000]", "log.dir", data.toString(), "target.host", "standby",
                "target.port", "7070", "read.timeout.ms", "0");
        failsOn("write.timeout.ms", "an integer in [1, 3600000]", "log.dir", data.toString(), "target.host", "standby",
                "target.port", "7070", "write.timeout.ms", "0");
        failsOn("verify", "true or false", "log.dir", data.toString(), "target.dir", archive, "verify", "yes");
    }

    @Test
    void defaults() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        ShipSettings s = ShipSettings.of(config("log.dir", data.toString(), "target.dir", tmp.resolve("a").toString()));
        assertThat(s.interval().toMillis()).isEqualTo(10_000);
        assertThat(s.includeIndexes()).isTrue();
        assertThat(s.verify()).isTrue();
        assertThat(s.maxBytesPerSecond()).isZero();
        assertThat(s.target()).isEmpty();
        assertThat(s.force()).as("durable by default").isTrue();
        assertThat(s.readTimeout().toMillis()).as("a receiver's answer waited for").isEqualTo(60_000);
        assertThat(s.writeTimeout().toMillis()).as("a write to a receiver without progress").isEqualTo(60_000);
        assertThat(ShipSettings.of(config("log.dir", data.toString(), "target.dir", tmp.resolve("a").toString(),
                "force", "false")).force()).isFalse();
    }

    @Test
    void forceFalseIsForADirectoryTargetOnly() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        failsOn("force", "true or false", "log.dir", data.toString(), "target.dir", tmp.resolve("a").toString(),
                "force", "no");
        failsOn("force", "set force=false on the segment-receive connector", "log.dir", data.toString(),
                "target.host", "standby-1", "target.port", "7070", "force", "false");
    }

    @Test
    void configureChecksWithoutOpeningAnything() {
        assertThatThrownBy(() -> new SegmentShipTask().configure(config("target.dir", tmp.toString())))
                .isInstanceOf(ConnectConfigException.class).hasMessageContaining("log.dir: missing");
        assertThatThrownBy(() -> new SegmentReceiveTask().configure(config("listen.port", "7070")))
                .isInstanceOf(ConnectConfigException.class).hasMessageContaining("target.dir: missing");
    }

    @Test
    void theReceiverNeedsAPort() {
        SegmentReceiveTask task = new SegmentReceiveTask();
        assertThatThrownBy(() -> task.run(new ShipTestSupport.Context(config("target.dir", tmp.toString()), tmp)))
                .isInstanceOf(ConnectConfigException.class).hasMessageContaining("listen.port: missing");
    }

    @Test
    void bothTypesAreRegistered() {
        assertThat(ConnectorTypes.all()).containsKeys("segment-ship", "segment-receive");
        assertThat(ConnectorTypes.all().get("segment-ship").kind()).isEqualTo(ConnectorTypes.Kind.SERVICE);
        assertThat(ConnectorTypes.all().get("segment-ship").factory().get()).isInstanceOf(SegmentShipTask.class);
    }
}
