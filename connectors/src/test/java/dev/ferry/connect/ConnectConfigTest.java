package dev.ferry.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration files and validation: every error names the connector and the field, and nothing starts. */
class ConnectConfigTest {
    @TempDir
    Path dir;

    private ConnectConfigException invalid(ConnectorConfig... configs) {
        RuntimeOptions options = RuntimeOptions.of("127.0.0.1:1", dir.resolve("state"));
        try {
            ConnectRuntime.create(List.of(configs), options).close();
        } catch (ConnectConfigException e) {
            assertThat(dir.resolve("state")).as("nothing created before validation passed").doesNotExist();
            return e;
        }
        throw new AssertionError("expected a ConnectConfigException");
    }

    @Test
    void unknownConnectorTypeNamesTheField() {
        ConnectConfigException e = invalid(Configs.of("name", "a", "connector", "file-sauce", "file", "x", "topic", "t"));
        assertThat(e.field()).isEqualTo("connector");
        assertThat(e.getMessage()).isEqualTo("connector 'a': connector: 'file-sauce' (expected: one of "
                + ConnectorTypes.all().keySet() + ")");
    }

    @Test
    void missingFieldNamesIt() {
        ConnectConfigException e = invalid(Configs.of("name", "a", "connector", "file-source", "topic", "t"));
        assertThat(e.field()).isEqualTo("file");
        assertThat(e.getMessage()).startsWith("connector 'a': file: missing (expected: ");
    }

    @Test
    void badNumberNamesFieldAndRange() {
        ConnectConfigException e = invalid(Configs.of("name", "a", "connector", "file-source", "file", "x", "topic", "t",
                "max.line.bytes", "lots"));
        assertThat(e.field()).isEqualTo("max.line.bytes");
        assertThat(e.getMessage()).isEqualTo("connector 'a': max.line.bytes: 'lots' (expected: an integer in [1, 4194304])");
    }

    @Test
    void aFileSourceRecordMustFitWhatTheBrokerAndTheProducerTake() {
        for (String key : List.of("max.line.bytes", "chunk.bytes")) {
            ConnectConfigException e = invalid(Configs.of("name", "a", "connector", "file-source", "file", "x", "topic", "t",
                    key, Integer.toString((4 << 20) + 1)));
            assertThat(e.getMessage()).isEqualTo("connector 'a': " + key + ": '4194305' (expected: an integer in [1, 4194304])");
        }
        ConnectConfigException space = invalid(Configs.of("name", "a", "connector", "file-source", "file", "x", "topic", "t",
                "key", "app log"));
        assertThat(space.getMessage()).isEqualTo("connector 'a': key: 'app log' (expected: a message key: non-empty, without spaces,"
                + " at most 1024 bytes)");
        ConnectConfigException tag = invalid(Configs.of("name", "a", "connector", "file-source", "file", "x", "topic", "t",
                "tag", "t".repeat(1_025)));
        assertThat(tag.field()).isEqualTo("tag");
    }

    @Test
    void unknownKeyIsATypo() {
        ConnectConfigException e = invalid(Configs.of("name", "a", "connector", "file-sink", "file", "x", "topics", "t",
                "roll.byte", "100"));
        assertThat(e.field()).isEqualTo("roll.byte");
        assertThat(e.getMessage()).startsWith("connector 'a': roll.byte: unknown key");
    }

    @Test
    void badRuntimeSettingsNameTheirField() {
        assertThat(invalid(Configs.of("name", "a", "connector", "file-sink", "file", "x", "topics", "t", "errors.tolerance", "some"))
                .getMessage()).isEqualTo("connector 'a': errors.tolerance: 'some' (expected: one of none all)");
        assertThat(invalid(Configs.of("name", "a", "connector", "file-sink", "file", "x")).field()).isEqualTo("topics");
        assertThat(invalid(Configs.of("name", "a", "connector", "file-sink", "file", "x", "topics", "t", "from", "middle"))
                .field()).isEqualTo("from");
        assertThat(invalid(Configs.of("name", "a/b", "connector", "file-sink", "file", "x", "topics", "t")).field()).isEqualTo("name");
    }

    @Test
    void duplicateNamesAreRefused() {
        ConnectorConfig a = Configs.of("name", "a", "connector", "file-sink", "file", "x", "topics", "t");
        ConnectorConfig b = Configs.of("name", "a", "connector", "file-sink", "file", "y", "topics", "t");
        assertThat(invalid(a, b).getMessage()).contains("name: 'a' (expected: a name no other connector");
    }

    @Test
    void jsonAndPropertiesFilesWithOverrides() throws IOException {
        Path json = dir.resolve("tail.json");
        Files.writeString(json, "{\"connector\": \"file-source\", \"file\": \"a.log\", \"topic\": \"t\", \"max.line.bytes\": 100, "
                + "\"errors.tolerance\": \"all\"}");
        Path props = dir.resolve("out.properties");
        Files.writeString(props, "name=copy\nconnector=file-sink\nfile=out.log\ntopics=t\n");
        List<ConnectorConfig> configs = ConnectorFiles.load(List.of(json, props), List.of("file=/tmp/x.log"));
        assertThat(configs.get(0).asMap()).containsEntry("name", "tail").containsEntry("max.line.bytes", "100")
                .containsEntry("file", "/tmp/x.log");
        assertThat(configs.get(1).asMap()).containsEntry("name", "copy").containsEntry("file", "/tmp/x.log");
        assertThat(ConnectRuntime.create(configs, RuntimeOptions.of("127.0.0.1:1", dir)).names()).containsExactly("tail", "copy");
    }

    /** Every example in examples/connectors is a valid configuration as it stands (no unknown keys, no bad values). */
    @Test
    void everyExampleValidates() throws IOException {
        List<Path> examples;
        try (var files = Files.list(Path.of("..", "examples", "connectors"))) {
            examples = files.filter(p -> p.toString().endsWith(".json") || p.toString().endsWith(".properties")).sorted().toList();
        }
        assertThat(examples).isNotEmpty();
        for (Path example : examples) {
            // directories an example names relative to where it is run (./data) exist here
            List<String> dirs = new java.util.ArrayList<>();
            for (String k : ConnectorFiles.read(example).keySet()) {
                if (k.endsWith(".dir")) {
                    Path d = Files.createDirectories(dir.resolve(k));
                    dirs.add(k + "=" + d);
                }
            }
            ConnectRuntime.create(ConnectorFiles.load(List.of(example), dirs), RuntimeOptions.of("127.0.0.1:1", dir)).close();
        }
    }

    @Test
    void badFilesAreConfigErrors() throws IOException {
        Path nested = dir.resolve("n.json");
        Files.writeString(nested, "{\"connector\": \"file-source\", \"file\": {\"path\": \"x\"}}");
        assertThatThrownBy(() -> ConnectorFiles.load(List.of(nested), List.of())).isInstanceOf(ConnectConfigException.class)
                .hasMessageContaining("file: {\"path\":\"x\"} (expected: a string, number or boolean)");
        Path broken = dir.resolve("b.json");
        Files.writeString(broken, "{\"connector\": ");
        assertThatThrownBy(() -> ConnectorFiles.load(List.of(broken), List.of())).isInstanceOf(ConnectConfigException.class)
                .hasMessageContaining("not JSON");
        assertThatThrownBy(() -> ConnectorFiles.load(List.of(dir.resolve("none.json")), List.of()))
                .isInstanceOf(ConnectConfigException.class).hasMessageContaining("cannot read");
        assertThatThrownBy(() -> ConnectorFiles.load(List.of(), List.of("novalue"))).isInstanceOf(ConnectConfigException.class)
                .hasMessage("connector '?': --set: 'novalue' (expected: key=value)");
    }

    @Test
    void aKeyGivenTwiceIsRefused() throws IOException {
        Path json = dir.resolve("twice.json");
        Files.writeString(json, "{\"connector\": \"file-sink\", \"file\": \"a.log\", \"file\": \"b.log\"}");
        assertThatThrownBy(() -> ConnectorFiles.load(List.of(json), List.of())).isInstanceOf(ConnectConfigException.class)
                .hasMessageContaining("Duplicate field 'file'");
        Path props = dir.resolve("twice.properties");
        Files.writeString(props, "connector=file-sink\nfile=a.log\nfile=b.log\n");
        assertThatThrownBy(() -> ConnectorFiles.load(List.of(props), List.of())).isInstanceOf(ConnectConfigException.class)
                .hasMessageContaining(props + ": file: given twice (expected: each key once)");
    }
}
