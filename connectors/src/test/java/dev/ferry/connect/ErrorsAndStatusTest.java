package dev.ferry.connect;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import dev.ferry.client.Producer;
import dev.ferry.client.SendResult;
import dev.ferry.log.MessageIds;
import dev.ferry.protocol.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad records under errors.tolerance=all and none, status.json, and pause/resume through the control file. */
class ErrorsAndStatusTest extends RuntimeTestCase {
    private ConnectorConfig source(String... extra) {
        List<String> kv = new ArrayList<>(List.of("name", "tail", "connector", "file-source", "file", dir.resolve("app.log").toString(),
                "topic", "lines", "max.line.bytes", "100"));
        kv.addAll(List.of(extra));
        return Configs.of(kv.toArray(String[]::new));
    }

    private void append(String text) throws IOException {
        Files.writeString(dir.resolve("app.log"), text, UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private List<Message> readAll(String topic, int expected) {
        List<Message> out = new ArrayList<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder(topic, "test-reader").autoCommit(false).build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                out.addAll(c.poll(Duration.ofMillis(200)));
            }
        }
        return out;
    }

    @Test
    void toleranceAllSendsTheLongLineToTheErrorTopicAndGoesOn() throws IOException {
        append("first\n" + "z".repeat(500) + "\nsecond\n");
        try (ConnectRuntime rt = start(source("errors.tolerance", "all"))) {
            Await.until("both good lines acknowledged", Duration.ofSeconds(10), () -> status(rt, "tail").recordsOut() == 2,
                    () -> rt.status());
            assertThat(status(rt, "tail").errors()).isEqualTo(1);
            assertThat(status(rt, "tail").state()).isEqualTo(TaskState.RUNNING);
        }
        assertThat(readAll("lines", 2)).extracting(m -> UTF_8.decode(m.body()).toString()).containsExactly("first", "second");
        List<Message> errors = readAll("connect-tail-errors", 1);
        assertThat(errors).hasSize(1);
        Message e = errors.get(0);
        assertThat(e.properties().get("connect.error.reason")).contains("is 500 bytes (expected: at most max.line.bytes=100)");
        assertThat(e.properties()).containsEntry("connect.connector", "tail");
        assertThat(UTF_8.decode(e.body()).toString()).isEqualTo("z".repeat(100));
    }

    @Test
    void toleranceNoneFailsTheTaskWithTheReason() throws IOException {
        append("first\n" + "z".repeat(500) + "\nsecond\n");
        try (ConnectRuntime rt = start(source())) {
            Await.until("the task to fail", Duration.ofSeconds(10), () -> status(rt, "tail").state() == TaskState.FAILED,
                    () -> rt.status());
            ConnectorStatus s = status(rt, "tail");
            assertThat(s.reason()).startsWith("bad record (errors.tolerance=none): line at ").contains("max.line.bytes=100");
            assertThat(s.reason()).as("a bad record is not retried").doesNotContain("restarting");
            assertThat(s.errors()).isEqualTo(1);
            Await.until("status.json to say so", Duration.ofSeconds(5),
                    () -> StatusFile.read(dir.resolve("state/status.json")).connectors().get(0).state() == TaskState.FAILED);
        }
        assertThat(readAll("lines", 1)).extracting(m -> UTF_8.decode(m.body()).toString()).containsExactly("first");
        assertThat(new PositionStore(dir.resolve("state/positions")).load("tail")).as("committed up to the good line")
                .containsEntry("offset", "6");
    }

    @Test
    void aSinkSendsABodyItCannotWriteToTheErrorTopicWithItsOrigin() throws IOException {
        try (Producer p = client.producer()) {
            p.send("lines", "one".getBytes(UTF_8));
            p.send("lines", "two\nlines".getBytes(UTF_8));
            p.send("lines", "three".getBytes(UTF_8));
        }
        ConnectorConfig sink = Configs.of("name", "copy", "connector", "file-sink", "file", dir.resolve("copy.log").toString(),
                "topics", "lines", "errors.tolerance", "all", "errors.topic", "bad-lines");
        try (ConnectRuntime rt = start(sink)) {
            Await.until("two lines written", Duration.ofSeconds(10), () -> status(rt, "copy").recordsOut() == 2, () -> rt.status());
        }
        assertThat(Files.readString(dir.resolve("copy.log"))).isEqualTo("one\nthree\n");
        Message e = readAll("bad-lines", 1).get(0);
        assertThat(e.properties()).containsEntry("connect.error.topic", "lines").containsEntry("connect.error.queue", "0")
                .containsEntry("connect.error.offset", "1").containsEntry("connect.connector", "copy");
        assertThat(e.properties().get("connect.error.reason")).contains("body holds a newline");
        assertThat(client.committedOffset("connect-copy", "lines", 0)).hasValue(3);
    }

    /** Sends one, two, three to lines and changes the last byte of two's body on the broker's disk (its CRC no longer matches). */
    private void sendThreeAndDamageTheSecond() throws IOException {
        List<SendResult> sent = new ArrayList<>();
        try (Producer p = client.producer()) {
            for (String body : List.of("one", "two", "three")) {
                sent.add(p.send("lines", body.getBytes(UTF_8)));
            }
        }
        long physical = MessageIds.parse(sent.get(1).msgId());
        int size = broker.broker().store().readAt(physical).orElseThrow().size(); // also puts it in the segment file
        Path segment = dir.resolve("broker").resolve("commitlog").resolve(String.format("%020d", 0));
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'X'}), physical + size - 1);
        }
    }

    @Test
    void aSinkSetsARecordDamagedOnTheBrokersDiskAsideAndGoesOn() throws IOException {
        sendThreeAndDamageTheSecond();
        ConnectorConfig sink = Configs.of("name", "copy", "connector", "file-sink", "file", dir.resolve("copy.log").toString(),
                "topics", "lines", "errors.tolerance", "all", "errors.topic", "bad-lines", "commit.interval.ms", "50");
        try (ConnectRuntime rt = start(sink)) {
            Await.until("the lines around it written and it set aside", Duration.ofSeconds(15),
                    () -> status(rt, "copy").recordsOut() == 2 && status(rt, "copy").errors() == 1, () -> rt.status());
            assertThat(status(rt, "copy").state()).isEqualTo(TaskState.RUNNING);
            Await.until("the offset past the last line committed", Duration.ofSeconds(10),
                    () -> client.committedOffset("connect-copy", "lines", 0).orElse(-1) == 3, () -> rt.status());
        }
        assertThat(Files.readString(dir.resolve("copy.log"))).isEqualTo("one\nthree\n");
        Message e = readAll("bad-lines", 1).get(0);
        assertThat(e.properties()).containsEntry("connect.error.topic", "lines").containsEntry("connect.error.queue", "0")
                .containsEntry("connect.error.offset", "1").containsEntry("connect.connector", "copy");
        assertThat(e.properties().get("connect.error.reason")).startsWith("damaged record: FETCH lines/0: INTERNAL_ERROR: the record"
                + " at offset 1 cannot be decoded");
        assertThat(e.bodyLength()).as("its bytes cannot be trusted").isZero();
    }

    @Test
    void aRecordDamagedOnTheBrokersDiskFailsTheSinkUnderToleranceNone() throws IOException {
        sendThreeAndDamageTheSecond();
        ConnectorConfig sink = Configs.of("name", "copy", "connector", "file-sink", "file", dir.resolve("copy.log").toString(),
                "topics", "lines", "commit.interval.ms", "50");
        try (ConnectRuntime rt = start(sink)) {
            Await.until("the task to fail", Duration.ofSeconds(15), () -> status(rt, "copy").state() == TaskState.FAILED,
                    () -> rt.status());
            assertThat(status(rt, "copy").reason()).startsWith("bad record lines/0@1 (errors.tolerance=none): damaged record: ")
                    .contains("cannot be decoded").doesNotContain("restarting");
        }
        assertThat(client.committedOffset("connect-copy", "lines", 0).orElse(0)).as("not committed past it").isLessThanOrEqualTo(1);
    }

    @Test
    void aSinkErrorRecordOfAMessageWithManyPropertiesLeavesOutWhatDoesNotFitAndSaysSo() throws IOException {
        java.util.Map<String, String> props = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 62; i++) {
            props.put("p" + i, "v" + i);
        }
        try (Producer p = client.producer()) {
            // 62 properties, the tags and the key: 64, the most the broker takes; the error record adds 5
            p.send(Message.builder("lines").properties(props).tags("t").keys(List.of("k1")).body("two\nlines".getBytes(UTF_8))
                    .build());
            p.send("lines", "after".getBytes(UTF_8));
        }
        ConnectorConfig sink = Configs.of("name", "copy", "connector", "file-sink", "file", dir.resolve("copy.log").toString(),
                "topics", "lines", "errors.tolerance", "all", "errors.topic", "bad-lines", "commit.interval.ms", "50");
        try (ConnectRuntime rt = start(sink)) {
            Await.until("the next message written after the bad one", Duration.ofSeconds(15),
                    () -> status(rt, "copy").recordsOut() == 1 && status(rt, "copy").errors() == 1, () -> rt.status());
            assertThat(status(rt, "copy").state()).isEqualTo(TaskState.RUNNING);
        }
        Message e = readAll("bad-lines", 1).get(0);
        assertThat(e.properties()).as("57 of the original's, the reason and the 4 others added: 64 with the tags and the key")
                .hasSize(62).containsEntry("connect.error.offset", "0").containsEntry("connect.connector", "copy");
        assertThat(e.keys()).containsExactly("k1");
        assertThat(e.tags()).isEqualTo("t");
        List<String> leftOut = new ArrayList<>(props.keySet());
        leftOut.removeAll(e.properties().keySet());
        assertThat(leftOut).hasSize(5);
        String reason = e.properties().get("connect.error.reason");
        assertThat(reason).startsWith("body holds a newline (format=lines would split it; use format=raw) [error record: left out 5"
                + " of the original's 62 properties to fit the limits: ");
        assertThat(reason.substring(reason.lastIndexOf(": ") + 2, reason.length() - 1).split(", ")).containsExactlyInAnyOrderElementsOf(leftOut);
        props.keySet().stream().filter(k -> !leftOut.contains(k)).forEach(k -> assertThat(e.properties()).containsEntry(k, props.get(k)));
        assertThat(UTF_8.decode(e.body()).toString()).isEqualTo("two\nlines");
        assertThat(client.committedOffset("connect-copy", "lines", 0)).hasValue(2);
    }

    @Test
    void aRowTheDatabaseRejectsAtFlushGoesToTheErrorTopicAndTheSinkGoesOn() throws Exception {
        String url = "jdbc:h2:" + dir.resolve("h2/db").toAbsolutePath();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
             java.sql.Statement st = c.createStatement()) {
            st.execute("CREATE TABLE notes (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(5))");
        }
        try (Producer p = client.producer()) {
            p.send("lines", "{\"id\":1,\"note\":\"ok\"}".getBytes(UTF_8));
            p.send("lines", "{\"id\":2,\"note\":\"far too long\"}".getBytes(UTF_8)); // fits JSON, not the column
            p.send("lines", "{\"id\":3,\"note\":\"ok\"}".getBytes(UTF_8));
        }
        ConnectorConfig sink = Configs.of("name", "db", "connector", "jdbc-sink", "jdbc.url", url, "table", "notes",
                "topics", "lines", "errors.tolerance", "all", "errors.topic", "bad-rows", "commit.interval.ms", "50");
        try (ConnectRuntime rt = start(sink)) {
            Await.until("two rows written and the third handled", Duration.ofSeconds(15),
                    () -> status(rt, "db").recordsOut() == 2 && status(rt, "db").errors() == 1, () -> rt.status());
            Message e = readAll("bad-rows", 1).get(0);
            assertThat(e.properties()).containsEntry("connect.error.offset", "1").containsEntry("connect.connector", "db");
            assertThat(e.properties().get("connect.error.reason")).startsWith("table notes rejected the row: ")
                    .containsIgnoringCase("too long");
            assertThat(status(rt, "db").state()).isEqualTo(TaskState.RUNNING);
        }
        List<String> ids = new ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
             java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT id FROM notes ORDER BY id")) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        assertThat(ids).containsExactly("1", "3");
    }

    @Test
    void statusFileShowsCountsAndPauseStopsTheFlowUntilResumed() throws IOException {
        append("a\nb\nc\n");
        ConnectorConfig sink = Configs.of("name", "copy", "connector", "file-sink", "file", dir.resolve("copy.log").toString(),
                "topics", "lines", "commit.interval.ms", "50");
        Path statusFile = dir.resolve("state/status.json");
        try (ConnectRuntime rt = start(source(), sink)) {
            Await.until("status.json with three records through both", Duration.ofSeconds(10), () -> {
                List<ConnectorStatus> s = Files.exists(statusFile) ? StatusFile.read(statusFile).connectors() : List.of();
                return s.size() == 2 && s.get(0).recordsOut() == 3 && s.get(1).recordsOut() == 3 && s.get(1).lag() == 0;
            }, () -> rt.status());
            StatusFile.Snapshot snap = StatusFile.read(statusFile);
            assertThat(snap.connectors()).extracting(ConnectorStatus::name, ConnectorStatus::type, ConnectorStatus::state)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("tail", "file-source", TaskState.RUNNING),
                            org.assertj.core.groups.Tuple.tuple("copy", "file-sink", TaskState.RUNNING));

            ConnectRuntime.setPauseFile(dir.resolve("state"), "copy", true); // as `ferry connect pause copy` does
            Await.until("the sink paused", Duration.ofSeconds(5),
                    () -> StatusFile.read(statusFile).connectors().get(1).state() == TaskState.PAUSED);
            append("d\ne\n");
            Await.until("the source to send the new lines", Duration.ofSeconds(5), () -> status(rt, "tail").recordsOut() == 5);
            Await.until("the paused sink's lag to show them", Duration.ofSeconds(5), () -> status(rt, "copy").lag() == 2,
                    () -> status(rt, "copy"));
            assertThat(status(rt, "copy").recordsOut()).as("nothing written while paused").isEqualTo(3);
            assertThat(Files.readString(dir.resolve("copy.log"))).isEqualTo("a\nb\nc\n");

            ConnectRuntime.setPauseFile(dir.resolve("state"), "copy", false);
            Await.until("the sink to resume and write the rest", Duration.ofSeconds(10),
                    () -> status(rt, "copy").recordsOut() == 5 && status(rt, "copy").state() == TaskState.RUNNING, () -> rt.status());
        }
        assertThat(Files.readString(dir.resolve("copy.log"))).isEqualTo("a\nb\nc\nd\ne\n");
        assertThat(StatusFile.read(statusFile).connectors()).extracting(ConnectorStatus::state)
                .containsExactly(TaskState.STOPPED, TaskState.STOPPED);
    }
}
