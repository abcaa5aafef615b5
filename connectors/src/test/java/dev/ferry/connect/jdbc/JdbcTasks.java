package dev.ferry.connect.jdbc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.connect.SourceRecord;
import dev.ferry.protocol.Message;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What the JDBC tests that drive a task without the runtime share: its settings, its polls, its messages. */
final class JdbcTasks {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JdbcTasks() {
    }

    /** A jdbc-sink named after its table, writing into it; {@code extra} as key, value, key, value, ... */
    static Map<String, String> sinkSettings(String url, String table, String... extra) {
        return settings("jdbc-sink", url, table, extra);
    }

    /** A jdbc-source named after its table, reading it into topic "rows" and polling every millisecond; {@code extra} as above. */
    static Map<String, String> sourceSettings(String url, String table, String... extra) {
        Map<String, String> m = settings("jdbc-source", url, table, extra);
        m.putIfAbsent("topic", "rows");
        m.putIfAbsent("poll.interval.ms", "1");
        return m;
    }

    private static Map<String, String> settings(String connector, String url, String table, String... extra) {
        Map<String, String> m = new HashMap<>(Map.of("name", table, "connector", connector, "jdbc.url", url, "table", table));
        for (int i = 0; i < extra.length; i += 2) {
            m.put(extra[i], extra[i + 1]);
        }
        return m;
    }

    /** Polls {@code polls} times and returns every record, in order (a task that repeats rows returns them again). */
    static List<SourceRecord> poll(JdbcSourceTask task, int polls) throws Exception {
        List<SourceRecord> out = new ArrayList<>();
        for (int i = 0; i < polls; i++) {
            out.addAll(task.poll(Duration.ofMillis(20)));
        }
        return out;
    }

    /** A record's JSON body. */
    static JsonNode body(SourceRecord r) throws Exception {
        ByteBuffer b = r.message().body();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return JSON.readTree(a);
    }

    /** A message of topic "t", queue 0, at {@code offset}, with a UTF-8 body: what a sink is handed. */
    static Message message(long offset, String body) {
        return Message.builder("t").queueId(0).queueOffset(offset).body(body.getBytes(StandardCharsets.UTF_8)).build();
    }
}
