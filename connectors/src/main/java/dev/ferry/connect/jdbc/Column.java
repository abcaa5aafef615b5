package dev.ferry.connect.jdbc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Base64;

/**
 * One column of a table or query as JDBC describes it, and the conversions between its SQL
 * values and JSON: {@link #toJdbc} for the sink (a JSON field to a statement parameter),
 * {@link #putJson} for the source (a result-set value to a JSON field).
 *
 * <p>JSON forms: numbers for integer, decimal and floating columns (a decimal column takes the
 * number exactly; the source gives a PostgreSQL NUMERIC {@code NaN}, {@code Infinity},
 * {@code -Infinity} as those strings, a floating one refuses what is not finite as a double: 1e400, "NaN"); {@code true}/{@code false}
 * for booleans; ISO-8601 text for dates and times ({@code 2026-01-31}, {@code 10:15:30}, {@code 10:15:30.500},
 * {@code 2026-01-31T10:15:30.5} without a zone, {@code 2026-01-31T10:15:30.5Z} with one; the
 * sink also takes epoch milliseconds). A time stamp without a zone is a wall time, read and bound
 * as a {@link LocalDateTime} so that the JVM's zone never moves it; an instant (a {@code Z} or
 * offset, epoch milliseconds) given for such a column is stored as its UTC wall time; base64 text for binary columns; text for the rest (a
 * JSON object or array bound to a text or JSON column is its JSON text).
 *
 * <p>Immutable, so thread-safe.
 *
 * @param name     the column's name as the database reports it
 * @param sqlType  its {@link java.sql.Types} code
 * @param typeName the database's own type name (e.g. {@code jsonb})
 * @param precision the precision the driver reports (the bits of a {@code BIT(n)}), 0 when not known
 */
record Column(String name, int sqlType, String typeName, int precision) {
    Column(String name, int sqlType, String typeName) {
        this(name, sqlType, typeName, 0);
    }

    /**
     * PostgreSQL's driver reports a {@code timestamptz} column as {@link Types#TIMESTAMP}, and
     * refuses to read one as a {@link LocalDateTime}: such a column is taken for what it is, a
     * {@link Types#TIMESTAMP_WITH_TIMEZONE}, read and bound as an {@link OffsetDateTime} (an
     * instant), never as a wall time that the server would place in the session's zone.
     */
    Column {
        if (sqlType == Types.TIMESTAMP && typeName != null
                && (typeName.equalsIgnoreCase("timestamptz") || typeName.toLowerCase(java.util.Locale.ROOT).startsWith("timestamp with time zone"))) {
            sqlType = Types.TIMESTAMP_WITH_TIMEZONE;
        }
    }

    /** A parameter PostgreSQL must receive untyped ({@code json}, {@code jsonb}, {@code uuid}, ...): bound with {@link Types#OTHER}. */
    record Untyped(String text) {}

    /**
     * The value to bind for {@code value} (null or JSON null: SQL NULL, returned as null).
     *
     * @throws IllegalArgumentException naming the value and the expected form when it does not fit the column
     */
    Object toJdbc(JsonNode value, Dialect dialect) {
        if (value == null || value.isNull()) {
            return null;
        }
        try {
            return switch (sqlType) {
                case Types.BIT, Types.BOOLEAN -> {
                    if (value.isBoolean()) {
                        yield value.booleanValue();
                    }
                    if (value.isTextual() && (value.textValue().equals("true") || value.textValue().equals("false"))) {
                        yield Boolean.parseBoolean(value.textValue());
                    }
                    if (value.isIntegralNumber() && (value.longValue() == 0 || value.longValue() == 1)) {
                        yield value.longValue() == 1;
                    }
                    throw wrong(value, "true or false");
                }
                case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> {
                    if (value.isIntegralNumber()) {
                        // beyond a long (a MariaDB/MySQL BIGINT UNSIGNED holds up to 18446744073709551615): bound exactly,
                        // and the database says whether its column takes it (22003, a rejected row); it was a bad record
                        yield value.canConvertToLong() ? value.longValue() : new BigDecimal(value.bigIntegerValue());
                    }
                    if (value.isTextual()) {
                        String t = numberText(value, "an integer");
                        try {
                            yield Long.parseLong(t);
                        } catch (NumberFormatException e) {
                            yield new BigDecimal(new java.math.BigInteger(t));
                        }
                    }
                    throw wrong(value, "an integer");
                }
                case Types.REAL, Types.FLOAT, Types.DOUBLE -> {
                    double d;
                    if (value.isNumber()) {
                        d = value.doubleValue();
                    } else if (value.isTextual()) {
                        d = Double.parseDouble(numberText(value, "a number"));
                    } else {
                        throw wrong(value, "a number");
                    }
                    if (!Double.isFinite(d)) {
                        // 1e400 would be stored as Infinity, "NaN" as NaN: not what the message says
                        throw wrong(value, "a finite number within a double's range, about 1.8e308");
                    }
                    yield d;
                }
                case Types.NUMERIC, Types.DECIMAL -> {
                    if (value.isNumber()) {
                        yield value.decimalValue();
                    }
                    if (value.isTextual()) {
                        yield new BigDecimal(numberText(value, "a number"));
                    }
                    throw wrong(value, "a number");
                }
                case Types.DATE -> Date.valueOf(LocalDate.parse(text(value, "a date such as 2026-01-31")));
                // a LocalTime, bound with setObject: a java.sql.Time has no fraction of a second (10:15:30.5 was stored as 10:15:30)
                case Types.TIME -> LocalTime.parse(text(value, "a time such as 10:15:30 or 10:15:30.5"));
                case Types.TIMESTAMP -> {
                    // bound as a LocalDateTime, never a java.sql.Timestamp: a Timestamp is an instant in the JVM's zone, so
                    // a wall time in that zone's daylight-saving gap (02:30 on a spring-forward day in Europe/Berlin)
                    // was stored an hour later, and instants were stored as JVM-local wall time
                    if (value.isIntegralNumber()) {
                        yield LocalDateTime.ofInstant(Instant.ofEpochMilli(value.longValue()), ZoneOffset.UTC);
                    }
                    String t = text(value, "epoch milliseconds or a time stamp such as 2026-01-31T10:15:30.5");
                    yield t.endsWith("Z") || t.matches(".*[+-]\\d\\d:\\d\\d$")
                            ? OffsetDateTime.parse(t).withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime()
                            : LocalDateTime.parse(t);
                }
                case Types.TIMESTAMP_WITH_TIMEZONE -> {
                    if (value.isIntegralNumber()) {
                        yield OffsetDateTime.ofInstant(Instant.ofEpochMilli(value.longValue()), ZoneOffset.UTC);
                    }
                    yield OffsetDateTime.parse(text(value, "epoch milliseconds or a time stamp such as 2026-01-31T10:15:30.5Z"));
                }
                case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB ->
                        Base64.getDecoder().decode(text(value, "base64 text"));
                case Types.OTHER, Types.JAVA_OBJECT -> {
                    String text = value.isTextual() ? value.textValue() : value.toString();
                    if (dialect == Dialect.H2 && typeName.equalsIgnoreCase("JSON")) {
                        // H2 reads a JSON parameter from bytes; a String would become a JSON string literal
                        yield (value.isTextual() ? value.toString() : text).getBytes(StandardCharsets.UTF_8);
                    }
                    yield dialect == Dialect.POSTGRESQL ? new Untyped(text) : text;
                }
                default -> value.isTextual() ? value.textValue() : value.isValueNode() ? value.asText() : value.toString();
            };
        } catch (NumberFormatException | DateTimeParseException e) {
            throw wrong(value, expectedFor());
        }
    }

    /**
     * The trimmed text of a number sent as a JSON string, refused past {@value #MAX_NUMBER_CHARS}
     * characters (Jackson's own limit for a JSON number): parsing a BigInteger or BigDecimal takes
     * time quadratic in its digits, and a message of megabytes of digits held the sink for minutes.
     */
    private String numberText(JsonNode value, String expected) {
        String t = value.textValue().trim();
        if (t.length() > MAX_NUMBER_CHARS) {
            throw wrong(value, expected + " of at most " + MAX_NUMBER_CHARS + " characters");
        }
        return t;
    }

    private static final int MAX_NUMBER_CHARS = 1_000;

    /** Whether {@link #toJdbc} makes a JSON string this column's value as the string itself (text columns and the like). */
    boolean isText() {
        return switch (sqlType) {
            case Types.BIT, Types.BOOLEAN, Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT, Types.REAL, Types.FLOAT,
                    Types.DOUBLE, Types.NUMERIC, Types.DECIMAL, Types.DATE, Types.TIME, Types.TIMESTAMP,
                    Types.TIMESTAMP_WITH_TIMEZONE, Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB, Types.OTHER,
                    Types.JAVA_OBJECT -> false;
            default -> true;
        };
    }

    /** Whether the column holds binary floating point numbers (a finite {@code double} binds as it is). */
    boolean isFloating() {
        return sqlType == Types.REAL || sqlType == Types.FLOAT || sqlType == Types.DOUBLE;
    }

    /** Whether {@link #toJdbc} makes a JSON integer that fits a long this column's value as a {@code Long}. */
    boolean isInteger() {
        return sqlType == Types.TINYINT || sqlType == Types.SMALLINT || sqlType == Types.INTEGER || sqlType == Types.BIGINT;
    }

    /** Binds a value made by {@link #toJdbc} as parameter {@code index} (1-based). */
    void bind(PreparedStatement ps, int index, Object value) throws SQLException {
        if (value instanceof String s) {
            ps.setString(index, s);
        } else if (value instanceof Long l) {
            ps.setLong(index, l);
        } else if (value == null) {
            ps.setNull(index, sqlType);
        } else if (value instanceof Untyped u) {
            ps.setObject(index, u.text(), Types.OTHER);
        } else {
            ps.setObject(index, value);
        }
    }

    /** Puts column {@code index} (1-based) of the current row into {@code json} under {@code field}. */
    void putJson(ResultSet rs, int index, ObjectNode json, String field) throws SQLException {
        switch (sqlType) {
            case Types.BIT, Types.BOOLEAN -> {
                // JDBC's BIT is also a bit string: a PostgreSQL bit(8) failed every poll in getBoolean ("Cannot cast to
                // boolean"), a MariaDB BIT(8) b'10101010' came out as true. One bit is a boolean; more are their bits as text
                Object o = rs.getObject(index);
                if (o == null || o instanceof Boolean) {
                    json.put(field, (Boolean) o);
                } else if (o instanceof byte[] bytes) {
                    json.put(field, bits(bytes, precision));
                } else {
                    json.put(field, rs.getString(index)); // PostgreSQL's bit string, "10101010"
                }
            }
            case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> {
                long v;
                try {
                    v = rs.getLong(index);
                } catch (SQLException e) {
                    // a MariaDB/MySQL BIGINT UNSIGNED above 9223372036854775807 does not fit a long: the driver refused it
                    // ("cannot be decoded as Long"), and every poll failed on that row for good; it is read exactly
                    BigDecimal d = rs.getBigDecimal(index);
                    if (d == null) {
                        throw e;
                    }
                    json.put(field, d.toBigIntegerExact());
                    return;
                }
                putOrNull(rs, json, field, JsonNodeFactory.instance.numberNode(v));
            }
            case Types.REAL -> {
                // a 32-bit float, as such: widened to a double, REAL 0.1 came out as 0.10000000149011612; its shortest
                // decimal text (Float.toString) is the number that was stored
                float f = rs.getFloat(index);
                putOrNull(rs, json, field, Float.isFinite(f)
                        ? JsonNodeFactory.instance.numberNode(new BigDecimal(Float.toString(f)))
                        : JsonNodeFactory.instance.numberNode((double) f));
            }
            case Types.FLOAT, Types.DOUBLE -> {
                double v = rs.getDouble(index);
                putOrNull(rs, json, field, JsonNodeFactory.instance.numberNode(v));
            }
            case Types.NUMERIC, Types.DECIMAL -> {
                BigDecimal v;
                try {
                    v = rs.getBigDecimal(index);
                } catch (SQLException e) {
                    String special = nonFiniteDecimal(rs, index);
                    if (special == null) {
                        throw e;
                    }
                    json.put(field, special);
                    return;
                }
                json.put(field, v);
            }
            case Types.DATE -> {
                Date d = rs.getDate(index);
                json.put(field, d == null ? null : d.toLocalDate().toString());
            }
            case Types.TIME -> {
                if (typeName != null && (typeName.equalsIgnoreCase("timetz") || typeName.toLowerCase(java.util.Locale.ROOT)
                        .startsWith("time with time zone"))) {
                    // PostgreSQL reports a timetz as TIME but refuses it as a LocalTime (every poll failed): its text,
                    // offset included (10:15:30.5+02)
                    json.put(field, rs.getString(index));
                    return;
                }
                // a LocalTime, not a java.sql.Time: that has no fraction of a second (10:15:30.5 came out as 10:15:30)
                LocalTime t = rs.getObject(index, LocalTime.class);
                json.put(field, t == null ? null : timeText(t));
            }
            case Types.TIMESTAMP -> {
                // read as the wall time the column holds; through java.sql.Timestamp a value in the JVM zone's
                // daylight-saving gap (02:10 on a spring-forward day in Europe/Berlin) came out an hour later
                LocalDateTime t = rs.getObject(index, LocalDateTime.class);
                json.put(field, t == null ? null : t.toString());
            }
            case Types.TIMESTAMP_WITH_TIMEZONE -> {
                OffsetDateTime t = rs.getObject(index, OffsetDateTime.class);
                json.put(field, t == null ? null : t.toString());
            }
            case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB -> {
                byte[] b = rs.getBytes(index);
                json.put(field, b == null ? null : Base64.getEncoder().encodeToString(b));
            }
            default -> json.put(field, rs.getString(index));
        }
    }

    /**
     * A PostgreSQL {@code NUMERIC} that is no number, {@code "NaN"}, {@code "Infinity"} or
     * {@code "-Infinity"} (PostgreSQL 14+), as its text; null for anything else. Asked only after
     * {@code getBigDecimal} failed (a {@link BigDecimal} cannot hold them: SQL state 22003, not
     * retried and not a bad record, so one such row stopped the source for good). JSON has no
     * number for them either: they are emitted as these strings.
     */
    static String nonFiniteDecimal(ResultSet rs, int index) throws SQLException {
        String text = rs.getString(index);
        return text != null && (text.equals("NaN") || text.equals("Infinity") || text.equals("-Infinity")) ? text : null;
    }

    /** The lowest {@code n} bits of big-endian {@code bytes} as text of 0 and 1 (all of them when {@code n} is not in range). */
    static String bits(byte[] bytes, int n) {
        int total = bytes.length * 8;
        int count = n > 0 && n <= total ? n : total;
        StringBuilder sb = new StringBuilder(count);
        for (int i = total - count; i < total; i++) {
            sb.append((bytes[i / 8] >> (7 - i % 8) & 1) == 1 ? '1' : '0');
        }
        return sb.toString();
    }

    /**
     * A TIME value as JSON text: {@code HH:mm:ss}, with the fraction when there is one in groups of three digits
     * ({@code 10:15:30.500}, {@code 10:15:30.123456}); seconds always ({@link LocalTime#toString} leaves out zero seconds).
     */
    static String timeText(LocalTime t) {
        String s = t.toString();
        return s.length() == 5 ? s + ":00" : s;
    }

    private static void putOrNull(ResultSet rs, ObjectNode json, String field, JsonNode value) throws SQLException {
        json.set(field, rs.wasNull() ? JsonNodeFactory.instance.nullNode() : value);
    }

    private String text(JsonNode value, String expected) {
        if (!value.isTextual()) {
            throw wrong(value, expected);
        }
        return value.textValue().trim();
    }

    private String expectedFor() {
        return switch (sqlType) {
            case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> "an integer";
            case Types.REAL, Types.FLOAT, Types.DOUBLE, Types.NUMERIC, Types.DECIMAL -> "a number";
            case Types.DATE -> "a date such as 2026-01-31";
            case Types.TIME -> "a time such as 10:15:30 or 10:15:30.5";
            default -> "a time stamp such as 2026-01-31T10:15:30.5 or epoch milliseconds";
        };
    }

    private IllegalArgumentException wrong(JsonNode value, String expected) {
        String shown = value.toString();
        if (shown.length() > 60) {
            shown = dev.ferry.protocol.Utf8.prefix(shown, 60) + "...";
        }
        return new IllegalArgumentException("column " + name + " (" + typeName + "): " + shown + " (expected: " + expected + ")");
    }
}
