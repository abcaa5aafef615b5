package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The key index's hash is part of its file format (docs/STORAGE.md: 64-bit FNV-1a of the UTF-8
 * bytes of "topic#key"): files written by an earlier version are looked up with it. The hash is
 * computed without building the string; these cases compare it with the definition, over ASCII,
 * two-, three- and four-byte UTF-8 and unpaired surrogates, which the encoder writes as '?'.
 */
class KeyHashTest {
    @ParameterizedTest(name = "{0} # {1}")
    @CsvSource({
        "orders, k1",
        "orders, ''",
        "'', k",
        "topic-with-dashes_and.dots, ORDER-2026-12-06-000001",
        "caf\u00e9, cl\u00e9",
        "\u65e5\u672c, \u6771\u4eac#1",
        "emoji, a\ud83d\ude00b",
        "ascii-then-high, ab\ud83d",
        "\ud83dtopic, \ude00key",
        "lone, x\ude00y\ud83dz",
    })
    void isFnv1aOfTheUtf8BytesOfTopicHashKey(String topic, String key) {
        long expected = 0xcbf29ce484222325L;
        for (byte b : (topic + '#' + key).getBytes(StandardCharsets.UTF_8)) {
            expected ^= b & 0xff;
            expected *= 0x100000001b3L;
        }
        assertThat(KeyIndex.hash(topic, key)).isEqualTo(expected);
    }
}
