package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.connect.ConnectConfigException;
import dev.ferry.connect.ConnectorConfig;
import dev.ferry.connect.ConnectorTypes;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad JDBC connector settings fail at start with an error that names the field; a database that
 * cannot be reached fails with an SQLException instead, which the runtime restarts the task on.
 */
class JdbcConfigTest {
    @TempDir
    Path tmp;

    private String h2() {
        return "jdbc:h2:" + tmp.resolve("db").toAbsolutePath();
    }

    @Test
    void missingUrlNamesTheField() {
        ConnectConfigException sink = startSink(Map.of("table", "t"));
        assertThat(sink.field()).isEqualTo("jdbc.url");
        assertThat(sink.getMessage()).startsWith("connector 'c': jdbc.url: missing (expected: a JDBC URL such as ");
        ConnectConfigException source = startSource(Map.of("table", "t", "topic", "x", "incrementing.column", "id"));
        assertThat(source.field()).isEqualTo("jdbc.url");
    }

    @Test
    void missingTableNamesTheField() {
        assertThat(startSink(Map.of("jdbc.url", h2())).field()).isEqualTo("table");
        ConnectConfigException e = startSource(Map.of("jdbc.url", h2(), "topic", "x", "incrementing.column", "id"));
        assertThat(e.field()).isEqualTo("table");
        assertThat(e.getMessage()).contains("table: missing (expected: the table to poll");
    }

    @Test
    void anUnreachableDatabaseIsRetriedNotAConfigurationError() {
        // the runtime restarts a task that failed with an SQLException, never one that failed with a ConnectConfigException
        String pg = "jdbc:postgresql://127.0.0.1:1/x";
        String h2Down = "jdbc:h2:tcp://127.0.0.1:1/" + tmp.resolve("down").toAbsolutePath();
        for (String url : List.of(pg, h2Down)) {
            for (Throwable e : List.of(start(JdbcSinkTask::new, Map.of("jdbc.url", url, "table", "t")),
                    start(JdbcSourceTask::new, Map.of("jdbc.url", url, "table", "t", "topic", "x", "incrementing.column", "id")))) {
                assertThat(e).as("starting against %s", url).isInstanceOf(SQLException.class)
                        .hasMessageStartingWith("connector 'c': jdbc.url: '" + url + "' unreachable: ")
                        .hasMessageEndingWith(" (expected: a reachable database; retried)");
                assertThat(JdbcSettings.unreachable((SQLException) e)).isTrue();
            }
        }
        assertThat(start(JdbcSinkTask::new, Map.of("jdbc.url", pg, "table", "t")))
                .hasMessage("connector 'c': jdbc.url: '" + pg + "' unreachable: Connection refused (expected: a reachable database; retried)");
    }

    @Test
    void aReachableDatabaseRefusingTheUrlIsAConfigurationError() throws Exception {
        String url = h2() + ";NO_SUCH_SETTING=1";
        ConnectConfigException e = startSink(Map.of("jdbc.url", url, "table", "t"));
        assertThat(e.field()).isEqualTo("jdbc.url");
        assertThat(e.getMessage()).startsWith("connector 'c': jdbc.url: '" + url + "' refused: ")
                .endsWith("(expected: a JDBC URL the database accepts)");
        String pg = Target.POSTGRESQL.url(tmp).replace("/test?", "/ferry_no_such_database?");
        assertThat(startSink(Map.of("jdbc.url", pg, "table", "t")).getMessage()).contains("jdbc.url: '" + pg + "' refused: ")
                .contains("ferry_no_such_database");
    }

    @Test
    void badSettingsNameTheirField() {
        assertThat(startSink(Map.of("jdbc.url", "postgres://x", "table", "t")).getMessage())
                .contains("jdbc.url: 'postgres://x' (expected: a JDBC URL starting with jdbc:");
        assertThat(startSink(Map.of("jdbc.url", h2(), "table", "t; DROP TABLE x")).field()).isEqualTo("table");
        assertThat(startSink(Map.of("jdbc.url", h2(), "table", "t", "mode", "upsert")).getMessage())
                .contains("key.columns: missing (expected: the key column(s) to upsert by when mode=upsert");
        assertThat(startSink(Map.of("jdbc.url", h2(), "table", "t", "mode", "merge")).getMessage())
                .contains("mode: 'merge' (expected: one of insert upsert)");
        assertThat(startSource(Map.of("jdbc.url", h2(), "table", "t", "topic", "x", "incrementing.column", "id")).getMessage())
                .contains("table: 't' (expected: a readable table or query:");
        assertThat(startSink(Map.of("jdbc.url", h2(), "table", "t", "jdbc.timeout.ms", "500")).field())
                .as("below a second").isEqualTo("jdbc.timeout.ms");
    }

    @Test
    void sourceChecksTheIncreasingColumn() throws Exception {
        Target.exec(h2(), "CREATE TABLE t (id BIGINT, name VARCHAR(10))");
        ConnectConfigException noSuch = startSource(Map.of("jdbc.url", h2(), "table", "t", "topic", "x", "incrementing.column", "idd"));
        assertThat(noSuch.getMessage()).contains("incrementing.column: 'idd' (expected: a column of the table: [ID, NAME])");
        ConnectConfigException text = startSource(Map.of("jdbc.url", h2(), "table", "t", "topic", "x", "incrementing.column", "name"));
        assertThat(text.getMessage()).contains("incrementing.column: 'name' (expected: an integer or time stamp column");
    }

    @Test
    void typesAreRegistered() {
        assertThat(ConnectorTypes.all()).containsKeys("jdbc-source", "jdbc-sink");
        assertThat(ConnectorTypes.all().get("jdbc-sink").kind()).isEqualTo(ConnectorTypes.Kind.SINK);
        assertThat(ConnectorTypes.all().get("jdbc-source").kind()).isEqualTo(ConnectorTypes.Kind.SOURCE);
    }

    /** Starts a task alone, as the runtime's worker does at every (re)start; what it threw, or null. */
    private static Throwable start(java.util.function.Supplier<AutoCloseable> task, Map<String, String> settings) {
        return catchThrowable(() -> {
            try (AutoCloseable t = task.get()) {
                String type = t instanceof JdbcSinkTask ? "jdbc-sink" : "jdbc-source";
                if (t instanceof JdbcSinkTask sink) {
                    sink.start(TestContext.of(with(settings, type)));
                } else {
                    ((JdbcSourceTask) t).start(TestContext.of(with(settings, type)));
                }
            }
        });
    }

    private static ConnectConfigException startSink(Map<String, String> settings) {
        return catchThrowableOfType(ConnectConfigException.class, () -> {
            try (JdbcSinkTask task = new JdbcSinkTask()) {
                task.start(TestContext.of(with(settings, "jdbc-sink")));
            }
        });
    }

    private static ConnectConfigException startSource(Map<String, String> settings) {
        return catchThrowableOfType(ConnectConfigException.class, () -> {
            try (JdbcSourceTask task = new JdbcSourceTask()) {
                task.start(TestContext.of(with(settings, "jdbc-source")));
            }
        });
    }

    private static Map<String, String> with(Map<String, String> settings, String type) {
        Map<String, String> all = new HashMap<>(settings);
        all.put("name", "c");
        all.put("connector", type);
        return all;
    }

    @SuppressWarnings("unused")
    private static ConnectorConfig config(Map<String, String> settings) {
        return new ConnectorConfig(settings);
    }
}
