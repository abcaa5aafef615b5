package dev.ferry.gateway;

import dev.ferry.broker.SqlFilter;
import dev.ferry.log.LogMessage;
import dev.ferry.log.TagHash;
import dev.ferry.protocol.Status;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongPredicate;
import java.util.function.Predicate;

/**
 * The broker-side filters of a FETCH, built from its {@code tags} and {@code sql} headers and
 * cached per expression (consumers send the same expression with every fetch).
 *
 * <p>A tag expression {@code a || b} becomes two stages: a test of the tag hash in the offset
 * index (no record read for a non-matching entry), then, for entries that pass, an exact
 * comparison of the record's TAGS property (64-bit hashes can collide). A SQL expression is
 * parsed once ({@link SqlFilter}) and evaluated over each candidate record's properties. With
 * both headers a message must pass both.
 *
 * <p><b>Thread safety.</b> Safe for any threads: the caches are concurrent maps, the filters
 * immutable. Each cache is cleared when it exceeds {@value #MAX_CACHED} entries (a crude bound
 * against a client sending endless distinct expressions). What one entry holds is bounded too:
 * at most {@value #MAX_TAGS} tags, and a SQL expression's own limits ({@link SqlFilter}: 1,000
 * operands), so the caches hold a few tens of megabytes at worst, not the 1.5 GB that 1,024
 * entries of 32 KiB expressions each took before.
 */
final class Filters {
    static final int MAX_CACHED = 256;
    /** Tags one expression may name. */
    static final int MAX_TAGS = 256;

    /** No filter. */
    static final Filter NONE = new Filter(null, null);

    /** Hash stage (null = all) and property stage (null = all) of one FETCH's filter. */
    record Filter(LongPredicate tagHashes, Predicate<Map<String, String>> properties) {
    }

    private final ConcurrentHashMap<String, Filter> tagCache = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, SqlFilter> sqlCache = new ConcurrentHashMap<>();

    Filter of(String tags, String sql) {
        Filter t = tags == null || tags.isBlank() || tags.trim().equals("*") ? NONE : cached(tagCache, tags, Filters::tagFilter);
        if (sql == null || sql.isBlank()) {
            return t;
        }
        SqlFilter s = cached(sqlCache, sql, SqlFilter::parse);
        Predicate<Map<String, String>> props = t.properties() == null ? s : t.properties().and(s);
        return new Filter(t.tagHashes(), props);
    }

    private static <V> V cached(ConcurrentHashMap<String, V> cache, String key, java.util.function.Function<String, V> make) {
        V v = cache.get(key);
        if (v == null) {
            v = make.apply(key); // outside computeIfAbsent: a parse error must not be cached or break the map
            if (cache.size() >= MAX_CACHED) {
                cache.clear();
            }
            cache.put(key, v);
        }
        return v;
    }

    /** The two stages of a tag expression ("a || b"). */
    static Filter tagFilter(String expression) {
        Set<Long> hashes = new HashSet<>();
        Set<String> names = new HashSet<>();
        String[] tags = expression.split("\\|\\|", -1);
        if (tags.length > MAX_TAGS) {
            throw new Requests.RequestException(Status.LIMIT_EXCEEDED, "tags: " + tags.length + " in one expression (expected: at most "
                    + MAX_TAGS + ")");
        }
        for (String tag : tags) {
            String t = tag.trim();
            if (t.isEmpty()) {
                throw new Requests.RequestException(Status.BAD_REQUEST, "tags: '" + expression + "' (expected: tag || tag ..., or *)");
            }
            hashes.add(TagHash.of(t));
            names.add(t);
        }
        return tagFilter(hashes::contains, names);
    }

    /** As {@link #tagFilter(String)} with a given hash stage: tests force hash collisions through it. */
    static Filter tagFilter(LongPredicate hashStage, Set<String> names) {
        Set<String> exact = Set.copyOf(names);
        return new Filter(hashStage, p -> {
            String tag = p.get(LogMessage.TAGS);
            return tag != null && exact.contains(tag);
        });
    }
}
