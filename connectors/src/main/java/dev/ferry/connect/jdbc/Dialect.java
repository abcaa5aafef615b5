package dev.ferry.connect.jdbc;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The few SQL phrasings that differ between the databases the JDBC connectors know: upsert,
 * the column types of auto-created tables, the row limit of a query. Chosen from the JDBC URL.
 *
 * <p>The table name is never quoted: it is checked to be a plain SQL identifier
 * ({@link #isIdentifier}) so that {@code orders} means the same table the user created
 * unquoted, whichever way the database folds case (H2 to upper, PostgreSQL to lower). Column
 * names are quoted ({@link #quote}) as the database reports them, so that a mixed-case column
 * ({@code "orderId"}) or one named like a reserved word ({@code order}) is written and read;
 * the statements below take column names already quoted.
 *
 * <p>Immutable, so thread-safe.
 */
enum Dialect {
    POSTGRESQL("TEXT", "VARCHAR(255)") {
        @Override
        String upsert(String table, List<String> columns, List<String> keys) {
            List<String> rest = nonKey(columns, keys);
            return insert(table, columns) + " ON CONFLICT (" + String.join(", ", keys) + ") DO "
                    + (rest.isEmpty() ? "NOTHING" : "UPDATE SET " + rest.stream().map(c -> c + " = EXCLUDED." + c)
                    .collect(Collectors.joining(", ")));
        }
    },
    H2("CHARACTER VARYING", "VARCHAR(255)") {
        @Override
        String upsert(String table, List<String> columns, List<String> keys) {
            return "MERGE INTO " + table + " (" + String.join(", ", columns) + ") KEY (" + String.join(", ", keys)
                    + ") VALUES (" + placeholders(columns.size()) + ")";
        }
    },
    MARIADB("LONGTEXT", "VARCHAR(255)") { // TEXT holds at most 65,535 bytes
        @Override
        String upsert(String table, List<String> columns, List<String> keys) {
            List<String> rest = nonKey(columns, keys);
            // "k = k" keeps the row as it is when every column is a key column
            return insert(table, columns) + " ON DUPLICATE KEY UPDATE "
                    + (rest.isEmpty() ? keys.get(0) + " = " + keys.get(0)
                    : rest.stream().map(c -> c + " = VALUES(" + c + ")").collect(Collectors.joining(", ")));
        }
    },
    /** Any other JDBC driver: plain inserts only. */
    OTHER("VARCHAR(4000)", "VARCHAR(255)") {
        @Override
        String upsert(String table, List<String> columns, List<String> keys) {
            throw new UnsupportedOperationException("upsert needs PostgreSQL, H2 or MariaDB/MySQL");
        }
    };

    /** Type of an auto-created non-key column: text of any length. */
    final String textType;
    /** Type of an auto-created key column: text that may be part of a primary key (MariaDB needs a length). */
    final String keyType;

    Dialect(String textType, String keyType) {
        this.textType = textType;
        this.keyType = keyType;
    }

    static Dialect of(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        if (jdbcUrl.startsWith("jdbc:h2:")) {
            return H2;
        }
        if (jdbcUrl.startsWith("jdbc:mariadb:") || jdbcUrl.startsWith("jdbc:mysql:")) {
            return MARIADB;
        }
        return OTHER;
    }

    boolean supportsUpsert() {
        return this != OTHER;
    }

    /** An insert-or-update of one row by {@code keys}, with one {@code ?} per column in column order. */
    abstract String upsert(String table, List<String> columns, List<String> keys);

    /** A plain insert of one row, with one {@code ?} per column in column order. */
    static String insert(String table, List<String> columns) {
        return "INSERT INTO " + table + " (" + String.join(", ", columns) + ") VALUES (" + placeholders(columns.size()) + ")";
    }

    /** {@code query} limited to {@code rows} rows (every known dialect takes LIMIT; others rely on setMaxRows too). */
    String limit(String query, int rows) {
        return this == OTHER ? query : query + " LIMIT " + rows;
    }

    /**
     * {@code name} quoted with {@code quote} (as {@link java.sql.DatabaseMetaData#getIdentifierQuoteString} gives it:
     * {@code "} for PostgreSQL and H2, a backtick for MariaDB/MySQL unless ANSI_QUOTES), a quote inside doubled; as it
     * is when the driver has no quoting (a blank or null quote string).
     */
    static String quote(String quote, String name) {
        if (quote == null || quote.isBlank()) {
            return name;
        }
        return quote + name.replace(quote, quote + quote) + quote;
    }

    /** Whether {@code name} is a plain identifier, optionally schema-qualified: {@code orders}, {@code sales.orders}. */
    static boolean isIdentifier(String name) {
        return name.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
    }

    private static List<String> nonKey(List<String> columns, List<String> keys) {
        return columns.stream().filter(c -> !keys.contains(c)).toList();
    }

    private static String placeholders(int n) {
        return String.join(", ", java.util.Collections.nCopies(n, "?"));
    }
}
