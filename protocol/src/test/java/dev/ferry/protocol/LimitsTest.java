package dev.ferry.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LimitsTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        Limits d = Limits.DEFAULT;
        assertThat(d.maxFrameBytes()).isEqualTo(16 * 1024 * 1024);
        assertThat(d.maxHeaders()).isEqualTo(64);
        assertThat(d.maxHeaderKeyBytes()).isEqualTo(256);
        assertThat(d.maxHeaderValueBytes()).isEqualTo(32 * 1024);
        assertThat(d.maxMessagesPerCommand()).isEqualTo(10_000);
        assertThat(d.maxPropertiesPerMessage()).isEqualTo(64);
        assertThat(d.maxTopicBytes()).isEqualTo(200);
        assertThat(Limits.builder().build()).isEqualTo(d);
    }

    @Test
    void constructorRejectsNonsense() {
        assertThatThrownBy(() -> Limits.builder().maxHeaders(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxHeaders: 0 (expected: 1..65535)");
        assertThatThrownBy(() -> Limits.builder().maxTopicBytes(70_000).build())
                .hasMessage("maxTopicBytes: 70000 (expected: 1..65535)");
        assertThatThrownBy(() -> Limits.builder().maxFrameBytes(-1).build())
                .hasMessage("maxFrameBytes: -1 (expected: 1..2147483643)");
    }

    @Test
    void checksPhraseTheFieldValueAndLimit() {
        assertThatThrownBy(() -> Limits.checkCount(Limits.HEADERS, 70_000, 64))
                .isInstanceOf(CodecException.class).hasMessage("headers: count 70000 (expected: <= 64)");
        assertThatThrownBy(() -> Limits.checkLength(Limits.TOPIC, 300, 200))
                .hasMessage("topic: length 300 bytes (expected: <= 200)");
        assertThatThrownBy(() -> Limits.checkString(Limits.TOPIC, "日本".repeat(40), 200))
                .hasMessage("topic: length 240 bytes (expected: <= 200)");
    }

    @Test
    void utf8LengthMatchesTheJdk() {
        RandomCommands gen = new RandomCommands(1);
        for (int i = 0; i < 500; i++) {
            String s = gen.string(50);
            assertThat(Utf8.length(s)).as(s).isEqualTo(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
        assertThat(Utf8.length("a\uD800b")).isEqualTo("a\uD800b".getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    }

    @Test
    void checkStringRefusesAnUnpairedSurrogateThatUtf8CannotCarry() throws CodecException {
        assertThatThrownBy(() -> Limits.checkString(Limits.TAGS, "ab\uD800", 1024))
                .isInstanceOf(CodecException.class)
                .hasMessage("tags: unpaired surrogate U+D800 at char 2 (expected: well-formed Unicode, which UTF-8 can carry)");
        assertThatThrownBy(() -> Limits.checkString(Limits.TAGS, "\uDE00\uD83D", 1024)).hasMessageContaining("U+DE00 at char 0");
        Limits.checkString(Limits.TAGS, "\uD83D\uDE00", 1024);
        assertThat(Utf8.unpairedSurrogateAt("a\uD83D\uDE00b")).isEqualTo(-1);
        assertThat(Utf8.unpairedSurrogateAt("a\uD83D")).isEqualTo(1);
    }
}
