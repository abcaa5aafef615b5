package dev.ferry.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SqlFilterTest {
    private static final Map<String, String> M = Map.of("a", "7", "region", "eu", "b", "x", "TAGS", "TagA", "price", "12.5",
            "name", "it's");

    private static boolean t(String sql, Map<String, String> p) {
        return SqlFilter.parse(sql).test(p);
    }

    @Test
    void evaluatesTheOperators() {
        String[] yes = {"a > 5", "a >= 7", "a = 7", "a <> 8", "a != 8", "a < 10", "a <= 7", "region = 'eu'",
                "a > 5 AND region IN ('eu','us') AND b IS NOT NULL", "region NOT IN ('us')", "a BETWEEN 5 AND 7",
                "a NOT BETWEEN 8 AND 9", "price > 12.4", "name = 'it''s'", "TAGS = 'TagA'", "region LIKE 'e_'", "region LIKE '%u'",
                "NOT (a < 5)", "(a < 5) OR (region = 'eu')", "TRUE", "zz IS NULL", "a > -1", "a > 6.9e0", "NOT zz IS NOT NULL"};
        for (String s : yes) {
            assertTrue(t(s, M), s);
        }
        String[] no = {"a > 7", "region = 'us'", "b IS NULL", "a BETWEEN 8 AND 9", "FALSE", "region NOT LIKE 'e%'",
                "a > 5 AND region = 'us'"};
        for (String s : no) {
            assertTrue(!t(s, M), s);
        }
    }

    @Test
    void missingPropertiesAreUnknownNotMatched() {
        String[] unknown = {"zz > 5", "zz = 'x'", "NOT (zz > 5)", "zz IN ('a')", "zz NOT IN ('a')", "zz BETWEEN 1 AND 2",
                "zz > 5 OR a > 100", "region > 5", "zz LIKE '%'"};
        for (String s : unknown) {
            assertTrue(!t(s, M), s);
        }
        assertTrue(t("zz > 5 OR a > 5", M), "TRUE OR UNKNOWN is TRUE");
        assertTrue(!t("NOT (zz > 5 AND a > 100)", M) == false, "FALSE AND UNKNOWN is FALSE, so NOT of it is TRUE");
    }

    @Test
    void malformedExpressionsNameThePositionAndToken() {
        assertEquals("sql: unexpected end of expression at position 4 (expected: a property name, a 'string', a number, TRUE, FALSE or () in: a > ",
                assertThrows(SqlFilterException.class, () -> SqlFilter.parse("a > ")).getMessage());
        assertTrue(assertThrows(SqlFilterException.class, () -> SqlFilter.parse("a > 5 AND AND b = 1")).getMessage()
                .contains("unexpected 'AND' at position 10"));
        assertTrue(assertThrows(SqlFilterException.class, () -> SqlFilter.parse("a IN (1, 2")).getMessage().contains("position 10"));
        assertTrue(assertThrows(SqlFilterException.class, () -> SqlFilter.parse("region = 'eu")).getMessage().contains("unterminated"));
        assertTrue(assertThrows(SqlFilterException.class, () -> SqlFilter.parse("a > 5 b")).getMessage().contains("unexpected 'b' at position 6"));
        assertTrue(assertThrows(SqlFilterException.class, () -> SqlFilter.parse("a # 5")).getMessage().contains("'#' at position 2"));
        assertThrows(SqlFilterException.class, () -> SqlFilter.parse(" "));
    }
}
