package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link OffsetIndex} keeps the appender's per-append fields on cache lines of their own by padding
 * them with long fields, which works only as long as the JVM lays the fields out in the order the
 * padding assumes. This test reads the field offsets of the running JVM: if a JVM version reorders
 * them, the padding silently stops working, and this is where that shows.
 */
class OffsetIndexLayoutTest {
    private static final int CACHE_LINE = 64;
    private static final Set<String> APPENDER_FIELDS = Set.of("appendOffset", "reservedEnd");

    @Test
    void noOtherFieldSharesACacheLineWithTheAppendersFields() throws Exception {
        sun.misc.Unsafe unsafe = unsafe();
        List<Field> appender = new ArrayList<>();
        List<Field> others = new ArrayList<>();
        for (Field f : OffsetIndex.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) || f.getName().startsWith("pad")) {
                continue;
            }
            (APPENDER_FIELDS.contains(f.getName()) ? appender : others).add(f);
        }
        assertThat(appender).hasSize(APPENDER_FIELDS.size());
        assertThat(others).extracting(Field::getName).contains("indexedOffset", "passFirst", "passCount", "passNext", "passStart", "tail");
        for (Field a : appender) {
            long aStart = unsafe.objectFieldOffset(a);
            long aEnd = aStart + size(a, unsafe); // exclusive
            for (Field o : others) {
                long oStart = unsafe.objectFieldOffset(o);
                long oEnd = oStart + size(o, unsafe);
                // objects are 8-byte aligned, not line aligned: only 64 bytes between the last byte of
                // one and the first of the other keep them off a common line wherever the object lies
                long gap = oStart >= aEnd ? oStart - (aEnd - 1) : aStart - (oEnd - 1);
                assertThat(gap).as("bytes from %s (offset %d) to %s (offset %d)", a.getName(), aStart, o.getName(), oStart)
                        .isGreaterThanOrEqualTo(CACHE_LINE);
            }
        }
    }

    private static long size(Field f, sun.misc.Unsafe unsafe) {
        Class<?> t = f.getType();
        if (t == long.class || t == double.class) {
            return 8;
        } else if (t == int.class || t == float.class) {
            return 4;
        } else if (t == short.class || t == char.class) {
            return 2;
        } else if (t == byte.class || t == boolean.class) {
            return 1;
        }
        return sun.misc.Unsafe.ARRAY_OBJECT_INDEX_SCALE; // a reference: 4 bytes with compressed oops, else 8
    }

    private static sun.misc.Unsafe unsafe() throws ReflectiveOperationException {
        Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
        f.setAccessible(true);
        return (sun.misc.Unsafe) f.get(null);
    }
}
