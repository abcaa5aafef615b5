package dev.ferry.connect.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bodies with sparse fields: without a fields mapping each distinct set of fields has its own
 * insert statement, and the sink kept every one it ever prepared open until it stopped, so the
 * statements (and the server's prepared statements) grew with each new combination. The cache
 * now keeps at most {@link JdbcSinkTask#MAX_CACHED_STATEMENTS}, and rows of field sets whose
 * statement was evicted and prepared again still land whole.
 */
class JdbcSinkSparseFieldsTest {
    /** Optional columns c0..c7: 255 non-empty subsets, of which the test uses {@link #FIELD_SETS}. */
    private static final int COLUMNS = 8;
    private static final int FIELD_SETS = 200;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Target.class, names = {"H2", "POSTGRESQL", "MARIADB"})
    void manyFieldSetsKeepTheStatementCacheBoundedAndEveryRowLands(Target target) throws Exception {
        String url = target.url(tmp);
        String table = Target.uniqueTable("sink_sparse");
        StringBuilder ddl = new StringBuilder("CREATE TABLE " + table + " (id INTEGER NOT NULL PRIMARY KEY");
        for (int j = 0; j < COLUMNS; j++) {
            ddl.append(", c").append(j).append(" VARCHAR(20)");
        }
        Target.exec(url, ddl.append(')').toString());
        // batch.rows 7: most writes run on the writer thread during put, the rest in flush; both must trim
        Map<String, String> config = Map.of("name", table, "connector", "jdbc-sink", "jdbc.url", url, "table", table,
                "batch.rows", "7");
        int rows = 2 * FIELD_SETS; // every field set twice: the second round re-prepares evicted statements
        JdbcSinkTask task = new JdbcSinkTask();
        try {
            task.start(TestContext.of(config));
            int maxSeen = 0;
            for (int from = 0; from < rows; from += 25) {
                List<Message> chunk = new ArrayList<>();
                for (int id = from; id < Math.min(rows, from + 25); id++) {
                    chunk.add(message(id));
                }
                task.put(chunk);
                task.flush(); // no write in flight after it: the cache may be read
                maxSeen = Math.max(maxSeen, task.cachedStatements());
                assertThat(task.cachedStatements()).as("statements open after writing rows up to %d", from + chunk.size())
                        .isLessThanOrEqualTo(JdbcSinkTask.MAX_CACHED_STATEMENTS);
            }
            assertThat(maxSeen).as("the cache filled up to its limit").isEqualTo(JdbcSinkTask.MAX_CACHED_STATEMENTS);
            assertThat(task.rowsWritten()).isEqualTo(rows);
        } finally {
            task.close();
        }
        try {
            List<String> expected = new ArrayList<>();
            for (int id = 0; id < rows; id++) {
                expected.add(id + ":" + Arrays.toString(values(id)));
            }
            assertThat(read(url, table)).as("every row with its values, NULL where its body had no field").isEqualTo(expected);
        } finally {
            Target.dropQuietly(url, table, table);
        }
    }

    /** The field set of row {@code id}: bit j of (id mod FIELD_SETS) + 1 says whether the body has c{j}. */
    private static String[] values(int id) {
        int mask = id % FIELD_SETS + 1;
        String[] v = new String[COLUMNS];
        for (int j = 0; j < COLUMNS; j++) {
            if ((mask & (1 << j)) != 0) {
                v[j] = "r" + id + "c" + j;
            }
        }
        return v;
    }

    private static Message message(int id) {
        StringBuilder body = new StringBuilder("{\"id\":").append(id);
        String[] v = values(id);
        for (int j = 0; j < COLUMNS; j++) {
            if (v[j] != null) {
                body.append(",\"c").append(j).append("\":\"").append(v[j]).append('"');
            }
        }
        return Message.builder("t").queueId(id % 2).queueOffset(id / 2)
                .body(body.append('}').toString().getBytes(StandardCharsets.UTF_8)).build();
    }

    /** The table's rows as "id:[c0, ..., c7]", by id. */
    private static List<String> read(String url, String table) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT * FROM " + table + " ORDER BY id")) {
            while (rs.next()) {
                String[] v = new String[COLUMNS];
                for (int j = 0; j < COLUMNS; j++) {
                    v[j] = rs.getString("c" + j);
                }
                rows.add(rs.getInt("id") + ":" + Arrays.toString(v));
            }
        }
        return rows;
    }
}
