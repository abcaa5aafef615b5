package dev.ferry.connect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code STATE_DIR/status.json}: the runtime's last status of every connector, for
 * {@code ferry connect status} and for monitoring scripts.
 *
 * <pre>{"version":1,"updated":"2026-11-25T16:00:00Z","connectors":[
 *   {"name":"app-log","type":"file-source","kind":"SOURCE","state":"RUNNING","reason":"",
 *    "recordsIn":1000,"recordsOut":1000,"errors":0,"lag":0,"progress":{}}]}</pre>
 *
 * <p>Written through a temp file and an atomic rename, so a reader never sees half a file; not
 * forced to disk (it is rewritten every second and means nothing after a crash). Stateless and
 * thread-safe.
 */
public final class StatusFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a status file says. */
    public record Snapshot(Instant updated, List<ConnectorStatus> connectors) {}

    private StatusFile() {
    }

    public static void write(Path file, Instant updated, List<ConnectorStatus> statuses) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", 1);
        root.put("updated", updated.toString());
        ArrayNode list = root.putArray("connectors");
        for (ConnectorStatus s : statuses) {
            ObjectNode n = list.addObject();
            n.put("name", s.name());
            n.put("type", s.type());
            n.put("kind", s.kind().name());
            n.put("state", s.state().name());
            n.put("reason", s.reason());
            n.put("recordsIn", s.recordsIn());
            n.put("recordsOut", s.recordsOut());
            n.put("errors", s.errors());
            n.put("lag", s.lag());
            ObjectNode p = n.putObject("progress");
            s.progress().forEach(p::put);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.getParent());
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write status (" + e.getMessage() + ")", e);
        }
    }

    public static Snapshot read(Path file) {
        try {
            JsonNode root = JSON.readTree(file.toFile());
            List<ConnectorStatus> out = new ArrayList<>();
            for (JsonNode n : root.path("connectors")) {
                Map<String, Long> progress = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = n.path("progress").fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    progress.put(e.getKey(), e.getValue().asLong());
                }
                out.add(new ConnectorStatus(n.path("name").asText(), n.path("type").asText(),
                        ConnectorTypes.Kind.valueOf(n.path("kind").asText()), TaskState.valueOf(n.path("state").asText()),
                        n.path("reason").asText(), n.path("recordsIn").asLong(), n.path("recordsOut").asLong(),
                        n.path("errors").asLong(), n.path("lag").asLong(-1), progress));
            }
            return new Snapshot(Instant.parse(root.path("updated").asText()), out);
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(file + ": unreadable status file (" + e.getMessage() + ")",
                    e instanceof IOException io ? io : new IOException(e));
        }
    }
}
