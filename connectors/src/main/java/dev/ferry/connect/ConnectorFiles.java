package dev.ferry.connect;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Reads connector configuration files into {@link ConnectorConfig}s: one connector per file,
 * either a JSON object whose values are strings, numbers or booleans ({@code .json}) or a
 * {@code java.util.Properties} file (any other name). {@code --set key=value} overrides are
 * applied over every file's values. A file without a {@code name} key takes its file name
 * without extension as the connector's name.
 *
 * <p>Only reads and parses; the runtime validates the values ({@link ConnectRuntime#create}).
 * Stateless and thread-safe.
 */
public final class ConnectorFiles {
    /** A field given twice is refused: Jackson would keep the last one without a word (as a typo in a key would be ignored). */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private ConnectorFiles() {
    }

    /** Reads every file, applying {@code overrides} ({@code key=value} strings) to each. */
    public static List<ConnectorConfig> load(List<Path> files, List<String> overrides) {
        Map<String, String> sets = parseOverrides(overrides);
        List<ConnectorConfig> out = new ArrayList<>();
        for (Path file : files) {
            Map<String, String> values = read(file);
            values.putAll(sets);
            if (!values.containsKey("name")) {
                String base = file.getFileName().toString();
                int dot = base.lastIndexOf('.');
                values.put("name", dot > 0 ? base.substring(0, dot) : base);
            }
            out.add(new ConnectorConfig(values));
        }
        return out;
    }

    /** {@code key=value} strings as a map; a string without '=' or with an empty key is an error naming it. */
    public static Map<String, String> parseOverrides(List<String> overrides) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String s : overrides) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new ConnectConfigException("?", "--set", "--set: '" + s + "' (expected: key=value)");
            }
            out.put(s.substring(0, eq).trim(), s.substring(eq + 1).trim());
        }
        return out;
    }

    /** One file's keys and values, in file order. */
    public static Map<String, String> read(Path file) {
        String name = file.getFileName().toString();
        if (!Files.isRegularFile(file)) {
            throw new ConnectConfigException(name, "file", file + ": cannot read (no such file)");
        }
        return name.endsWith(".json") ? readJson(file) : readProperties(file);
    }

    private static Map<String, String> readJson(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new ConnectConfigException(file.getFileName().toString(), "file",
                    file + ": not JSON (" + e.getOriginalMessage() + " at line " + e.getLocation().getLineNr() + ")");
        } catch (IOException e) {
            throw new ConnectConfigException(file.getFileName().toString(), "file", file + ": cannot read (" + e.getMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new ConnectConfigException(file.getFileName().toString(), "file",
                    file + ": not a JSON object (expected: {\"name\": ..., \"connector\": ..., ...})");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (!v.isValueNode() || v.isNull()) {
                throw new ConnectConfigException(file.getFileName().toString(), e.getKey(),
                        file + ": " + e.getKey() + ": " + v + " (expected: a string, number or boolean)");
            }
            out.put(e.getKey(), v.asText());
        }
        return out;
    }

    private static Map<String, String> readProperties(Path file) {
        Properties p = new Properties() {
            private static final long serialVersionUID = 1L;

            @Override
            public synchronized Object put(Object key, Object value) {
                if (containsKey(key)) { // load would keep the last value without a word
                    throw new ConnectConfigException(file.getFileName().toString(), String.valueOf(key),
                            file + ": " + key + ": given twice (expected: each key once)");
                }
                return super.put(key, value);
            }
        };
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new ConnectConfigException(file.getFileName().toString(), "file", file + ": cannot read (" + e.getMessage() + ")");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String k : new java.util.TreeSet<>(p.stringPropertyNames())) {
            out.put(k.trim(), p.getProperty(k).trim());
        }
        return out;
    }
}
