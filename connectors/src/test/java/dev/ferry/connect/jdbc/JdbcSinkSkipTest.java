package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Messages below a queue's stored position are skipped as already written, and the sink says so
 * once per queue: a topic deleted and made again restarts its offsets at 0 under the old
 * position, and every new message was skipped without a word (while counted as written).
 */
class JdbcSinkSkipTest {
    @TempDir
    Path tmp;

    @Test
    void messagesBelowTheStoredPositionAreSkippedWithOneWarningPerQueue() throws Exception {
        String url = Target.H2.url(tmp);
        String table = Target.uniqueTable("skip");
        Logger logger = (Logger) LoggerFactory.getLogger(JdbcSinkTask.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            Target.exec(url, "CREATE TABLE " + table + " (id INT NOT NULL PRIMARY KEY)");
            Map<String, String> config = Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url, "table", table);
            JdbcSinkTask first = new JdbcSinkTask();
            try {
                first.start(TestContext.of(config));
                first.put(List.of(message(0, 1), message(1, 2), message(2, 3)));
                first.flush();
            } finally {
                first.close();
            }
            // the topic made again: offsets from 0, under the stored position 3
            JdbcSinkTask second = new JdbcSinkTask();
            try {
                second.start(TestContext.of(config));
                second.put(List.of(message(0, 10), message(1, 11)));
                second.put(List.of(message(2, 12), message(3, 13)));
                second.flush();
            } finally {
                second.close();
            }
            assertThat(Target.queryLong(url, "SELECT COUNT(*) FROM " + table)).as("rows: 3 first, then only offset 3's").isEqualTo(4);
            assertThat(lines.list).filteredOn(e -> e.getLevel() == Level.WARN).extracting(ILoggingEvent::getFormattedMessage)
                    .as("warnings").containsExactly("jdbc-sink " + table + ": skipping messages of t/0 from offset 0 on, below the"
                            + " table's stored position 3 (already written); if the topic was deleted and made again, delete this"
                            + " connector's rows from ferry_connect_offsets to write its messages");
        } finally {
            logger.detachAppender(lines);
            Target.dropQuietly(url, table, table);
        }
    }

    private static Message message(long offset, int id) {
        return Message.builder("t").queueId(0).queueOffset(offset).body(("{\"id\":" + id + "}").getBytes(StandardCharsets.UTF_8))
                .build();
    }
}
