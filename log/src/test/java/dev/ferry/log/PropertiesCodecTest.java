package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The properties area written straight for a message with only tags and keys is byte for byte
 * the one the general encoder writes for the same properties (readers decode both the same way),
 * and its limits are checked as well.
 */
class PropertiesCodecTest {
    private static byte[] general(String tags, List<String> keys) {
        Map<String, String> all = new LinkedHashMap<>();
        if (tags != null) {
            all.put(LogMessage.TAGS, tags);
        }
        if (!keys.isEmpty()) {
            all.put(LogMessage.KEYS, String.join(" ", keys));
        }
        return PropertiesCodec.encode(all);
    }

    @Test
    void tagsAndKeysAreEncodedAsTheGeneralEncoderDoes() {
        String[] tagsCases = {null, "TagA", "TagA || TagB", "ünïcødé"};
        List<List<String>> keysCases = List.of(List.of(), List.of("order-1"), List.of("a", "bb", "ccc"), List.of("κλειδί", "鍵"));
        for (String tags : tagsCases) {
            for (List<String> keys : keysCases) {
                byte[] straight = PropertiesCodec.encodeTagsAndKeys(tags, keys);
                assertThat(straight).as("tags %s, keys %s", tags, keys).isEqualTo(general(tags, keys));
                Map<String, String> decoded = PropertiesCodec.decode(ByteBuffer.wrap(straight), 0, straight.length);
                assertThat(decoded.get(LogMessage.KEYS)).isEqualTo(keys.isEmpty() ? null : String.join(" ", keys));
                assertThat(decoded.get(LogMessage.TAGS)).isEqualTo(tags);
            }
        }
    }

    @Test
    void aMessageWithKeysStoresThemAsBefore() {
        LogMessage m = LogMessage.builder("t", 0, new byte[1]).tags("T").key("k1").key("k2").build();
        assertThat(m.encodedProperties).isEqualTo(general("T", List.of("k1", "k2")));
        assertThat(m.propertyCount).isEqualTo(2);
        LogMessage withOther = LogMessage.builder("t", 0, new byte[1]).key("k1").property("p", "v").build();
        assertThat(withOther.propertyCount).isEqualTo(2);
    }

    @Test
    void overTheLimitsTheSameErrorAsTheGeneralEncoders() {
        record Case(String tags, List<String> keys) {}
        List<Case> cases = List.of(new Case(null, List.of("k".repeat(40_000), "k".repeat(40_000))), // KEYS' value
                new Case("t".repeat(40_000), List.of("k".repeat(30_000))), // the area, at KEYS
                new Case("t".repeat(65_530), List.of("k".repeat(70_000))), // the area, at TAGS already
                new Case("t".repeat(70_000), List.of()), // TAGS' value
                new Case(null, List.of("k".repeat(70_000))));
        for (Case c : cases) {
            // the same exception, with the same words, as the general encoder's
            Throwable general = org.assertj.core.api.Assertions.catchThrowable(() -> general(c.tags(), c.keys()));
            assertThat(general).as("case %d", cases.indexOf(c)).isInstanceOf(InvalidMessageException.class);
            assertThatThrownBy(() -> PropertiesCodec.encodeTagsAndKeys(c.tags(), c.keys())).as("case %d", cases.indexOf(c))
                    .isInstanceOf(InvalidMessageException.class).hasMessage(general.getMessage());
        }
    }

    /** A bad property name is named quoted (an empty one read 'property : key 0 bytes'), and a long one cut. */
    @Test
    void aBadPropertyNameIsQuotedAndALongOneCut() {
        assertThatThrownBy(() -> LogMessage.builder("t", 0, new byte[1]).property("", "v").build())
                .isInstanceOf(InvalidMessageException.class)
                .hasMessage("property '': key 0 bytes, value 1 bytes (expected: key 1..65535, value 0..65535)");
        assertThatThrownBy(() -> LogMessage.builder("t", 0, new byte[1]).property("n".repeat(70_000), "v").build())
                .isInstanceOf(InvalidMessageException.class)
                .hasMessage("property '" + "n".repeat(64) + "...': key 70000 bytes, value 1 bytes (expected: key 1..65535, value 0..65535)");
    }

    @Test
    void theAreaSizeWithoutEncodingIsTheEncodedMessagesArea() {
        String[] tagsCases = {null, "", "TagA", "ünïcødé"};
        List<List<String>> keysCases = List.of(List.of(), List.of("order-1"), List.of("κλειδί", "鍵", "k"));
        List<Map<String, String>> propertyCases = List.of(Map.of(), Map.of("region", "eu"), Map.of("名前", "値", "empty", ""));
        for (String tags : tagsCases) {
            for (List<String> keys : keysCases) {
                for (Map<String, String> properties : propertyCases) {
                    LogMessage.Builder b = LogMessage.builder("t", 0, new byte[0]);
                    keys.forEach(b::key);
                    if (tags != null) {
                        b.tags(tags);
                    }
                    if (!properties.isEmpty()) {
                        b.properties(properties);
                    }
                    LogMessage m = b.build();
                    assertThat(LogMessage.propertiesAreaBytes(tags, keys, properties))
                            .as("tags %s, keys %s, properties %s", tags, keys, properties).isEqualTo(m.encodedProperties.length);
                }
            }
        }
    }
}
