package dev.ferry.connect;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.client.Consumer;
import dev.ferry.client.ConsumerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code start=end} applies the first time only: the end the task opened the file at is committed
 * at once, so lines appended while the runtime was stopped before any record was acknowledged (or
 * while the task was restarting after a failure) are sent after the restart, not skipped (it used
 * to seek to the end again on every start without a committed position).
 */
class FileSourceStartEndTest extends RuntimeTestCase {
    @Test
    void linesWrittenWhileStoppedAreSentAfterTheRestart() throws Exception {
        Path file = dir.resolve("app.log");
        Files.writeString(file, "history-1\nhistory-2\n");
        ConnectorConfig source = Configs.of("name", "tail", "connector", "file-source", "file", file.toString(), "topic", "lines",
                "start", "end", "commit.interval.ms", "20");
        try (ConnectRuntime rt = start(source)) {
            Await.until("running", Duration.ofSeconds(10), () -> status(rt, "tail").state() == TaskState.RUNNING, rt::status);
            Thread.sleep(500); // the task opened the file at its end; nothing new yet
        } // clean stop
        Files.writeString(file, "written-while-stopped\n", UTF_8, StandardOpenOption.APPEND);
        try (ConnectRuntime rt = start(source)) {
            Await.until("running again", Duration.ofSeconds(10), () -> status(rt, "tail").state() == TaskState.RUNNING, rt::status);
            Thread.sleep(500);
            Files.writeString(file, "after-restart\n", UTF_8, StandardOpenOption.APPEND);
            Await.until("after-restart sent", Duration.ofSeconds(10), () -> status(rt, "tail").recordsOut() >= 1, rt::status);
        }
        List<String> stored = new ArrayList<>();
        try (Consumer c = client.consumer(ConsumerConfig.builder("lines", "check").build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(100)).forEach(m -> stored.add(UTF_8.decode(m.body()).toString()));
            }
        }
        assertThat(stored).as("lines appended while the connector was stopped").containsExactly("written-while-stopped", "after-restart");
    }
}
