package dev.ferry.broker;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A SQL92 filter over message properties, as RocketMQ consumers write them:
 * {@code a > 5 AND region IN ('eu','us') AND b IS NOT NULL}. Parsed once by a hand-written
 * recursive-descent parser into a tree that is then evaluated per message.
 *
 * <pre>
 * expr      := and (OR and)*
 * and       := not (AND not)*
 * not       := NOT not | predicate
 * predicate := operand [ (= | &lt;&gt; | != | &lt; | &lt;= | &gt; | &gt;=) operand
 *                      | [NOT] IN '(' literal (',' literal)* ')'
 *                      | [NOT] BETWEEN operand AND operand
 *                      | [NOT] LIKE 'pattern'            (% any run, _ any one character)
 *                      | IS [NOT] NULL ]
 * operand   := '(' expr ')' | identifier | 'string' | number | TRUE | FALSE | NULL
 * </pre>
 *
 * Keywords are case-insensitive; identifiers are property names ({@code TAGS} is the tags;
 * letters, digits, {@code _ . $}, not starting with a digit). Strings are single-quoted, a quote
 * doubled inside. Numbers are decimal, optionally signed, with fraction or exponent. Limits, each
 * refused at parse with {@link SqlFilterException#limitExceeded()}: parentheses and NOT nest at
 * most 100 levels deep, an expression holds at most 1,000 operands and IN values, a LIKE pattern
 * at most 256 characters. A property value of more than 100 characters is not read as a number
 * (UNKNOWN against one). What one message costs is then bounded, whatever the expression.
 *
 * <p><b>Three-valued logic</b>, as in SQL and RocketMQ: a missing property is NULL, a comparison
 * with NULL (or of a non-numeric property with a number) is UNKNOWN, {@code NOT UNKNOWN} is
 * UNKNOWN, {@code FALSE AND UNKNOWN} is FALSE, {@code TRUE OR UNKNOWN} is TRUE; a message matches
 * only when the whole expression is TRUE. {@code x BETWEEN lo AND hi} is {@code x >= lo AND x <= hi}
 * (NOT BETWEEN its negation). A property standing alone is TRUE or FALSE if its value is
 * {@code true} or {@code false} (any case), else UNKNOWN. Property values are strings: compared with a number,
 * the value is read as a decimal number; with a string, compared as text.
 *
 * <p><b>Thread safety.</b> Immutable once parsed; {@link #test} may run on any number of threads.
 */
public final class SqlFilter implements Predicate<Map<String, String>> {
    private final String expression;
    private final Node root;

    private SqlFilter(String expression, Node root) {
        this.expression = expression;
        this.root = root;
    }

    /** Parses {@code expression}; a malformed one raises {@link SqlFilterException} naming the position and token. */
    public static SqlFilter parse(String expression) {
        if (expression == null || expression.isBlank()) {
            throw new SqlFilterException("sql: empty expression (expected: for example a > 5 AND region IN ('eu','us'))");
        }
        Parser p = new Parser(expression);
        Node root = p.expr();
        if (p.peek().kind != Kind.END) {
            throw p.error("AND, OR or the end of the expression");
        }
        return new SqlFilter(expression, root);
    }

    public String expression() {
        return expression;
    }

    /**
     * True only if the expression is TRUE for these properties (UNKNOWN and FALSE do not match).
     * Its value is read as AND, OR and NOT read their terms: an expression that is only a property
     * ({@code flag}) matches when the property is {@code true}, as {@code flag AND TRUE} does (it
     * matched never: its value was the string, not TRUE).
     */
    @Override
    public boolean test(Map<String, String> properties) {
        return truth(root.eval(properties)) == Boolean.TRUE;
    }

    @Override
    public String toString() {
        return "SqlFilter{" + expression + "}";
    }

    // ---- evaluation ---------------------------------------------------------------------------

    /** A node's value: Boolean, BigDecimal, String, or null (NULL / UNKNOWN). */
    private interface Node {
        Object eval(Map<String, String> p);
    }

    private static Boolean truth(Object v) {
        return v instanceof Boolean b ? b : v instanceof String s ? parseBool(s) : null;
    }

    private static Boolean negate(Boolean b) {
        return b == null ? null : !b;
    }

    private static BigDecimal number(Object v) {
        if (v instanceof BigDecimal d) {
            return d;
        }
        if (v instanceof String s) {
            String t = s.trim();
            if (t.isEmpty() || t.length() > MAX_NUMBER_CHARS || !numberLike(t)) {
                return null; // not a number, without the cost of an exception (or of arithmetic on 30,000 digits)
            }
            try {
                return new BigDecimal(t);
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    /** Longest property value read as a number; a longer one compares as UNKNOWN with numbers. */
    static final int MAX_NUMBER_CHARS = 100;

    private static boolean numberLike(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
                return false;
            }
        }
        return true;
    }

    /** Compares two values: negative, zero, positive, or null when they cannot be compared. */
    private static Integer compare(Object a, Object b) {
        if (a == null || b == null) {
            return null;
        }
        if (a instanceof BigDecimal || b instanceof BigDecimal) {
            BigDecimal x = number(a);
            BigDecimal y = number(b);
            return x == null || y == null ? null : x.compareTo(y);
        }
        if (a instanceof Boolean || b instanceof Boolean) {
            Boolean x = a instanceof Boolean ab ? ab : a instanceof String s ? parseBool(s) : null;
            Boolean y = b instanceof Boolean bb ? bb : b instanceof String s ? parseBool(s) : null;
            return x == null || y == null ? null : x.compareTo(y);
        }
        return a.toString().compareTo(b.toString());
    }

    private static Boolean parseBool(String s) {
        return s.equalsIgnoreCase("true") ? Boolean.TRUE : s.equalsIgnoreCase("false") ? Boolean.FALSE : null;
    }

    /**
     * An IN list's values as sets: a string is looked for among the strings, its value as a
     * number among the numbers (by value: {@code 1.0} is {@code 1}), once each, instead of one
     * comparison (and one parse of the value) per listed value. TRUE if found; else UNKNOWN if a
     * listed number could not be compared (the value is not a number); else FALSE.
     */
    private static final class InList {
        private final java.util.Set<String> strings = new java.util.HashSet<>();
        private final java.util.Set<BigDecimal> numbers = new java.util.HashSet<>();
        private final List<Object> all;
        /** A listed number has no canonical form ({@link #canonical}): every lookup compares one by one. */
        private boolean slowOnly;

        InList(List<Object> values) {
            this.all = values;
            for (Object v : values) {
                if (v instanceof BigDecimal d) {
                    BigDecimal c = canonical(d);
                    if (c == null) {
                        slowOnly = true;
                    } else {
                        numbers.add(c);
                    }
                } else {
                    strings.add((String) v);
                }
            }
        }

        Boolean contains(Object v) {
            if (!(v instanceof String s) || slowOnly) {
                return slowContains(v); // a literal or a TRUE/FALSE on the left: rare, and as long as the list
            }
            if (strings.contains(s)) {
                return true;
            }
            if (numbers.isEmpty()) {
                return false;
            }
            BigDecimal n = number(s);
            if (n == null) {
                return null;
            }
            BigDecimal c = canonical(n);
            if (c == null) {
                return slowContains(v); // by compareTo, which takes any scale
            }
            return numbers.contains(c) ? Boolean.TRUE : Boolean.FALSE;
        }

        private Boolean slowContains(Object v) {
            Boolean found = false;
            for (Object x : all) {
                Integer c = compare(v, x);
                if (c == null) {
                    found = null;
                } else if (c == 0) {
                    return true;
                }
            }
            return found;
        }

        /**
         * {@code d} with its trailing zeros stripped (so that equal values are equal keys), or null
         * if that form's scale does not fit an int: {@code 100e2147483647} is a valid decimal, a
         * property value or a literal, but stripping its zeros throws ArithmeticException, which
         * failed every FETCH over a message holding such a value.
         */
        private static BigDecimal canonical(BigDecimal d) {
            if (d.signum() == 0) {
                return BigDecimal.ZERO;
            }
            try {
                return d.stripTrailingZeros();
            } catch (ArithmeticException e) {
                return null;
            }
        }
    }

    // ---- parsing ------------------------------------------------------------------------------

    private enum Kind { IDENT, STRING, NUMBER, OP, LPAREN, RPAREN, COMMA, END }

    private record Token(Kind kind, String text, int position) {
        boolean keyword(String k) {
            return kind == Kind.IDENT && text.equalsIgnoreCase(k);
        }

        String shown() {
            return kind == Kind.END ? "end of expression" : "'" + text + "'";
        }
    }

    private static final class Parser {
        /** Levels of parentheses and NOT an expression may nest. */
        static final int MAX_DEPTH = 100;
        /** Operands (names, literals) and IN values an expression may hold. */
        static final int MAX_TERMS = 1_000;
        /**
         * Characters of all of an expression's LIKE patterns together: matching costs up to (value
         * length x pattern length) steps per message, so this bounds a message's LIKE work at
         * about 8 million steps (a 32 KiB property) however the patterns are split.
         */
        static final int MAX_LIKE_PATTERN_CHARS = 256;

        private final String src;
        private final List<Token> tokens = new ArrayList<>();
        private int next;
        private int depth;
        private int terms;
        private int likeChars;

        Parser(String src) {
            this.src = src;
            tokenize();
        }

        SqlFilterException error(String expected) {
            Token t = peek();
            return new SqlFilterException("sql: unexpected " + t.shown() + " at position " + t.position + " (expected: " + expected
                    + ") in: " + src);
        }

        private void tokenize() {
            int i = 0;
            int n = src.length();
            while (i < n) {
                char c = src.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (c == '(' || c == ')' || c == ',') {
                    tokens.add(new Token(c == '(' ? Kind.LPAREN : c == ')' ? Kind.RPAREN : Kind.COMMA, String.valueOf(c), i));
                    i++;
                } else if (c == '\'') {
                    StringBuilder sb = new StringBuilder();
                    int start = i++;
                    while (true) {
                        if (i >= n) {
                            throw new SqlFilterException("sql: unterminated string starting at position " + start + " (expected: a closing ') in: " + src);
                        }
                        char d = src.charAt(i++);
                        if (d == '\'') {
                            if (i < n && src.charAt(i) == '\'') {
                                sb.append('\'');
                                i++;
                            } else {
                                break;
                            }
                        } else {
                            sb.append(d);
                        }
                    }
                    tokens.add(new Token(Kind.STRING, sb.toString(), start));
                } else if (c == '=' || c == '<' || c == '>' || c == '!') {
                    int start = i++;
                    if (i < n && (src.charAt(i) == '=' || (c == '<' && src.charAt(i) == '>'))) {
                        i++;
                    }
                    String op = src.substring(start, i);
                    if (op.equals("!")) {
                        throw new SqlFilterException("sql: unexpected '!' at position " + start + " (expected: != or <>) in: " + src);
                    }
                    tokens.add(new Token(Kind.OP, op, start));
                } else if (Character.isDigit(c) || ((c == '-' || c == '+' || c == '.') && i + 1 < n
                        && (Character.isDigit(src.charAt(i + 1)) || src.charAt(i + 1) == '.'))) {
                    int start = i++;
                    while (i < n && (Character.isDigit(src.charAt(i)) || src.charAt(i) == '.' || src.charAt(i) == 'e' || src.charAt(i) == 'E'
                            || ((src.charAt(i) == '-' || src.charAt(i) == '+') && (src.charAt(i - 1) == 'e' || src.charAt(i - 1) == 'E')))) {
                        i++;
                    }
                    String text = src.substring(start, i);
                    try {
                        new BigDecimal(text);
                    } catch (NumberFormatException e) {
                        throw new SqlFilterException("sql: malformed number '" + text + "' at position " + start + " in: " + src);
                    }
                    tokens.add(new Token(Kind.NUMBER, text, start));
                } else if (Character.isLetter(c) || c == '_' || c == '$' || c == '%') {
                    int start = i++;
                    while (i < n && (Character.isLetterOrDigit(src.charAt(i)) || "_.$%".indexOf(src.charAt(i)) >= 0)) {
                        i++;
                    }
                    tokens.add(new Token(Kind.IDENT, src.substring(start, i), start));
                } else {
                    throw new SqlFilterException("sql: unexpected '" + c + "' at position " + i
                            + " (expected: a name, a 'string', a number, an operator or a parenthesis) in: " + src);
                }
            }
            tokens.add(new Token(Kind.END, "", n));
        }

        Token peek() {
            return tokens.get(next);
        }

        Token take() {
            return tokens.get(next++);
        }

        boolean acceptKeyword(String k) {
            if (peek().keyword(k)) {
                next++;
                return true;
            }
            return false;
        }

        void expectKeyword(String k) {
            if (!acceptKeyword(k)) {
                throw error(k);
            }
        }

        /** OR terms: {@link #chain}, where TRUE decides. */
        Node expr() {
            return chain("OR", this::and, Boolean.TRUE);
        }

        /** AND terms: {@link #chain}, where FALSE decides. */
        Node and() {
            return chain("AND", this::not, Boolean.FALSE);
        }

        /**
         * Terms joined by {@code keyword}, evaluated in a loop rather than as a chain of nested
         * nodes (a chain of hundreds of terms would recurse once per term at every evaluation):
         * the first term that is {@code decisive} decides; else UNKNOWN if one was, else the
         * opposite of {@code decisive}. Three-valued AND (FALSE decides) and OR (TRUE decides).
         */
        private Node chain(String keyword, java.util.function.Supplier<Node> term, Boolean decisive) {
            List<Node> terms = new ArrayList<>();
            terms.add(term.get());
            while (acceptKeyword(keyword)) {
                terms.add(term.get());
            }
            if (terms.size() == 1) {
                return terms.get(0);
            }
            Node[] t = terms.toArray(Node[]::new);
            Boolean otherwise = !decisive;
            return p -> {
                boolean unknown = false;
                for (Node n : t) {
                    Boolean b = truth(n.eval(p));
                    if (decisive.equals(b)) {
                        return decisive;
                    }
                    unknown |= b == null;
                }
                return unknown ? null : otherwise;
            };
        }

        Node not() {
            if (acceptKeyword("NOT")) {
                enter();
                Node inner = not();
                depth--;
                return p -> negate(truth(inner.eval(p)));
            }
            return predicate();
        }

        /**
         * One more operand or IN value: refused past {@link #MAX_TERMS}. Every message a filtered
         * fetch examines is tested against the whole expression, and a parsed expression stays in
         * the gateway's cache: both grow with its terms. A parenthesis is not one (it adds no node,
         * and what it holds is counted): {@code (a = 1) OR (a = 2) ...} of 800 operands was refused.
         */
        private void countTerm() {
            if (++terms > MAX_TERMS) {
                throw SqlFilterException.limit("sql: more than " + MAX_TERMS + " operands and IN values at position " + peek().position
                        + " in: " + (src.length() > 200 ? src.substring(0, 200) + "..." : src));
            }
        }

        /**
         * One more level of parentheses or NOT: refused past {@link #MAX_DEPTH}, before the
         * parser's (and later each evaluation's) recursion could exhaust the thread's stack.
         */
        private void enter() {
            if (++depth > MAX_DEPTH) {
                throw SqlFilterException.limit("sql: nested deeper than " + MAX_DEPTH + " levels of parentheses or NOT at position "
                        + peek().position + " in: " + src);
            }
        }

        Node predicate() {
            Node left = operand();
            Token t = peek();
            if (t.kind == Kind.OP) {
                take();
                String op = t.text;
                Node right = operand();
                return p -> {
                    Integer c = compare(left.eval(p), right.eval(p));
                    if (c == null) {
                        return null;
                    }
                    return switch (op) {
                        case "=" -> c == 0;
                        case "<>", "!=" -> c != 0;
                        case "<" -> c < 0;
                        case "<=" -> c <= 0;
                        case ">" -> c > 0;
                        case ">=" -> c >= 0;
                        default -> throw new IllegalStateException(op);
                    };
                };
            }
            if (acceptKeyword("IS")) {
                boolean negated = acceptKeyword("NOT");
                expectKeyword("NULL");
                return p -> (left.eval(p) == null) != negated;
            }
            boolean negated = acceptKeyword("NOT");
            if (acceptKeyword("IN")) {
                InList values = new InList(inList());
                return p -> {
                    Object v = left.eval(p);
                    if (v == null) {
                        return null;
                    }
                    Boolean found = values.contains(v);
                    return negated ? negate(found) : found;
                };
            }
            if (acceptKeyword("BETWEEN")) {
                Node lo = operand();
                expectKeyword("AND");
                Node hi = operand();
                // v >= lo AND v <= hi in three-valued logic (NOT BETWEEN: its negation, v < lo OR v > hi): one
                // half that is FALSE decides even when the other is UNKNOWN (a NULL bound), as in SQL and RocketMQ
                return p -> {
                    Object v = left.eval(p);
                    Integer a = compare(v, lo.eval(p));
                    Integer b = compare(v, hi.eval(p));
                    Boolean in = (a != null && a < 0) || (b != null && b > 0) ? Boolean.FALSE
                            : a == null || b == null ? null : Boolean.TRUE;
                    return negated ? negate(in) : in;
                };
            }
            if (acceptKeyword("LIKE")) {
                Token pat = take();
                if (pat.kind != Kind.STRING) {
                    next--;
                    throw error("a 'pattern' after LIKE");
                }
                likeChars += pat.text.length();
                if (likeChars > MAX_LIKE_PATTERN_CHARS) {
                    throw SqlFilterException.limit("sql: LIKE patterns of " + likeChars + " characters in all at position " + pat.position
                            + " (expected: at most " + MAX_LIKE_PATTERN_CHARS + " in one expression)");
                }
                String pattern = pat.text;
                return p -> {
                    Object v = left.eval(p);
                    if (v == null) {
                        return null;
                    }
                    return like(v.toString(), pattern) != negated;
                };
            }
            if (negated) {
                throw error("IN, BETWEEN or LIKE after NOT");
            }
            return left;
        }

        private List<Object> inList() {
            if (take().kind != Kind.LPAREN) {
                next--;
                throw error("( after IN");
            }
            List<Object> values = new ArrayList<>();
            do {
                countTerm();
                Token v = take();
                switch (v.kind) {
                    case STRING -> values.add(v.text);
                    case NUMBER -> values.add(new BigDecimal(v.text));
                    default -> {
                        next--;
                        throw error("a 'string' or a number in the IN list");
                    }
                }
            } while (take().kind == Kind.COMMA);
            next--;
            if (take().kind != Kind.RPAREN) {
                next--;
                throw error(", or ) in the IN list");
            }
            return values;
        }

        Node operand() {
            if (peek().kind != Kind.LPAREN) {
                countTerm(); // not a parenthesis: it is no operand (and no node once parsed); what it holds is counted
            }
            Token t = take();
            switch (t.kind) {
                case LPAREN -> {
                    enter();
                    Node inner = expr();
                    depth--;
                    if (take().kind != Kind.RPAREN) {
                        next--;
                        throw error(")");
                    }
                    return inner;
                }
                case STRING -> {
                    String s = t.text;
                    return p -> s;
                }
                case NUMBER -> {
                    BigDecimal d = new BigDecimal(t.text);
                    return p -> d;
                }
                case IDENT -> {
                    String word = t.text.toUpperCase(Locale.ROOT);
                    switch (word) {
                        case "TRUE":
                            return p -> Boolean.TRUE;
                        case "FALSE":
                            return p -> Boolean.FALSE;
                        case "NULL":
                            return p -> null;
                        case "AND", "OR", "NOT", "IN", "IS", "BETWEEN", "LIKE":
                            next--;
                            throw error("a property name, a 'string', a number, TRUE, FALSE or (");
                        default:
                            String name = t.text;
                            return p -> p.get(name);
                    }
                }
                default -> {
                    next--;
                    throw error("a property name, a 'string', a number, TRUE, FALSE or (");
                }
            }
        }

        /**
         * LIKE matching ({@code %} any run, {@code _} any one character, a surrogate pair being
         * one) in O(value x pattern) steps at worst, without allocating. A regular expression built from the pattern ({@code %} as {@code .*})
         * backtracks exponentially on patterns like {@code '%a%a%a%a%a%a%b'}, and a consumer could
         * stall a broker thread with one. The only backtracking here is to the last {@code %}
         * seen: a later {@code %} can match whatever an earlier one would have.
         */
        static boolean like(String value, String pattern) {
            int n = value.length();
            int m = pattern.length();
            int v = 0;
            int q = 0;
            int starQ = -1;
            int starV = 0;
            while (v < n) {
                char c = q < m ? pattern.charAt(q) : 0;
                if (q < m && c == '%') {
                    starQ = q++;
                    starV = v;
                } else if (q < m && c == '_') {
                    q++;
                    v = nextCharacter(value, v); // one character: both halves of a surrogate pair
                } else if (q < m && c == value.charAt(v)) {
                    q++;
                    v++;
                } else if (starQ >= 0) {
                    q = starQ + 1;
                    starV = nextCharacter(value, starV); // the run grows by whole characters
                    v = starV;
                } else {
                    return false;
                }
            }
            while (q < m && pattern.charAt(q) == '%') {
                q++;
            }
            return q == m;
        }

        private static int nextCharacter(String s, int i) {
            return i + 1 < s.length() && Character.isHighSurrogate(s.charAt(i)) && Character.isLowSurrogate(s.charAt(i + 1)) ? i + 2 : i + 1;
        }
    }
}
