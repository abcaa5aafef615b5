package dev.ferry.connect;

import java.util.LinkedHashMap;
import java.util.Map;

/** Builds connector configurations in tests: {@code Configs.of("name", "src", "connector", "file-source", ...)}. */
public final class Configs {
    private Configs() {
    }

    public static ConnectorConfig of(String... keyValues) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return new ConnectorConfig(m);
    }
}
