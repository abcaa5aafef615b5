package dev.ferry.connect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.protocol.Limits;
import dev.ferry.protocol.Message;
import dev.ferry.protocol.Utf8;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The error record always fits the limits, whatever the original: the oracle is
 * {@link RecordLimits#problem} (what a source record is checked against) and the broker's
 * default properties area; what was left out is named in the reason.
 */
class ErrorHandlingTest {
    private static final RecordLimits LIMITS = RecordLimits.of(Limits.DEFAULT);
    private static final ErrorHandling ALL = new ErrorHandling(ErrorHandling.Tolerance.ALL, "errors");

    private static Message original(int properties, int valueBytes, List<String> keys, String tags, int bodyBytes) {
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < properties; i++) {
            props.put("p" + i, "v".repeat(valueBytes));
        }
        return Message.builder("t").queueId(3).queueOffset(41).properties(props).keys(keys).tags(tags)
                .body(new byte[bodyBytes]).build();
    }

    /** The properties area as the broker encodes it: 2 + name + 2 + value bytes each, tags and keys included. */
    private static long area(Message m) {
        long bytes = m.tags().isEmpty() ? 0 : 4 + 4 + Utf8.length(m.tags());
        bytes += m.keys().isEmpty() ? 0 : 4 + 4 + Utf8.length(String.join(" ", m.keys()));
        for (Map.Entry<String, String> e : m.properties().entrySet()) {
            bytes += 4 + Utf8.length(e.getKey()) + Utf8.length(e.getValue());
        }
        return bytes;
    }

    private static void assertFits(Message error) {
        assertThat(LIMITS.problem(error, null)).as("what the limits say of the error record").isEmpty();
        assertThat(area(error)).as("properties area").isLessThanOrEqualTo(ErrorHandling.MAX_PROPERTIES_BYTES);
    }

    /**
     * A reason is cut to a length; cut inside an emoji it held half a surrogate pair, which the
     * message builder refuses: the task failed on the very record errors.tolerance=all was to set
     * aside. A reason quoting text cut elsewhere (a value shown to 60 chars) is mended too.
     */
    @Test
    void aReasonCutInsideAnEmojiStillMakesAnErrorRecord() {
        String emoji = "\uD83D\uDE00";
        Message o = original(1, 10, List.of(), "", 10);
        String longReason = "column qty (int4): \"" + "a" + emoji.repeat(ErrorHandling.MAX_REASON_CHARS) + "\"";
        Message e = ALL.errorRecord("c", o, longReason, true, LIMITS);
        assertFits(e);
        String reason = e.properties().get(ErrorHandling.REASON);
        assertThat(Utf8.unpairedSurrogateAt(reason)).as("unpaired surrogate in the reason").isEqualTo(-1);
        assertThat(reason).startsWith("column qty (int4): \"a" + emoji).contains("...");
        Message half = ALL.errorRecord("c", o, "shown: " + emoji.charAt(0) + "...", true, LIMITS);
        assertThat(half.properties().get(ErrorHandling.REASON)).isEqualTo("shown: \uFFFD...");
    }

    @Test
    void anOriginalThatFitsWithRoomToSpareKeepsEverything() {
        Message o = original(3, 10, List.of("k1", "k2"), "tag", 100);
        Message e = ALL.errorRecord("c", o, "why", true, LIMITS);
        assertFits(e);
        assertThat(e.topic()).isEqualTo("errors");
        assertThat(e.properties()).containsAllEntriesOf(o.properties()).containsEntry(ErrorHandling.REASON, "why")
                .containsEntry(ErrorHandling.CONNECTOR, "c").containsEntry(ErrorHandling.ORIGINAL_TOPIC, "t")
                .containsEntry(ErrorHandling.ORIGINAL_QUEUE, "3").containsEntry(ErrorHandling.ORIGINAL_OFFSET, "41");
        assertThat(e.keys()).isEqualTo(o.keys());
        assertThat(e.tags()).isEqualTo("tag");
        assertThat(e.body()).isEqualTo(o.body());
    }

    @Test
    void everyShapeOfOriginalGivesAnErrorRecordWithinTheLimits() {
        List<String> manyKeys = new ArrayList<>(List.of("a b", "", "k".repeat(2_000)));
        for (int i = 0; i < 40; i++) {
            manyKeys.add("key" + i);
        }
        for (int properties : new int[] {0, 1, 58, 59, 60, 62, 64, 80}) {
            for (int valueBytes : new int[] {1, 600, 40_000}) {
                for (boolean fromTopic : new boolean[] {true, false}) {
                    for (int bodyBytes : new int[] {0, 9 << 20}) {
                        Message o = original(properties, valueBytes, manyKeys, "t".repeat(2_000), bodyBytes);
                        Message e = ALL.errorRecord("c", o, "r".repeat(5_000), fromTopic, LIMITS);
                        assertFits(e);
                        assertThat(e.properties().get(ErrorHandling.REASON)).startsWith("r".repeat(2_000) + "... [error record: ")
                                .contains("left out 3 invalid key(s); left out 8 key(s) beyond 32 or 16384 bytes; left out the tags (2000 bytes)");
                        assertThat(e.keys()).hasSize(32).startsWith("key0");
                        assertThat(e.bodyLength()).isEqualTo(Math.min(bodyBytes, RecordLimits.MAX_BODY_BYTES));
                    }
                }
            }
        }
    }

    @Test
    void aPropertiesAreaOverTheBrokersIsRefusedBeforeSendingAndItsErrorRecordFits() {
        List<String> longKeys = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            longKeys.add(Integer.toString(i % 10).repeat(1_024)); // each key valid, all 32 together over 32,767 bytes encoded
        }
        Message o = original(0, 0, longKeys, "", 10);
        assertThat(LIMITS.problem(o, null)).contains("properties: 32807 bytes encoded, tags and keys included (expected: at most"
                + " 32767, the broker's default maxPropertiesBytes)");
        Message e = ALL.errorRecord("c", o, "why", true, LIMITS);
        assertFits(e);
        assertThat(e.keys()).as("as many whole keys as fit 16,384 bytes").hasSize(15).isEqualTo(longKeys.subList(0, 15));
        assertThat(e.properties().get(ErrorHandling.REASON)).isEqualTo("why [error record: left out 17 key(s) beyond 32 or 16384 bytes]");

        Message twoLongProperties = original(2, 20_000, List.of(), "", 10);
        assertThat(LIMITS.problem(twoLongProperties, null)).hasValueSatisfying(p -> assertThat(p).startsWith("properties: 40012 bytes encoded"));
        assertFits(ALL.errorRecord("c", twoLongProperties, "why", false, LIMITS));
    }

    @Test
    void theReasonNamesThePropertiesLeftOut() {
        Message o = original(62, 1, List.of(), "", 10); // 62 + reason + connector + topic, queue, offset = 67
        Message e = ALL.errorRecord("c", o, "why", true, LIMITS);
        assertFits(e);
        assertThat(e.properties()).hasSize(64);
        assertThat(e.properties().get(ErrorHandling.REASON)).isEqualTo("why [error record: left out 3 of the original's 62"
                + " properties to fit the limits: p59, p60, p61]");
    }

    @Test
    void anErrorRecordSentBackThroughASinkReplacesItsOwnProperties() {
        Message first = ALL.errorRecord("c", original(1, 1, List.of(), "", 1), "first", true, LIMITS);
        Message second = ALL.errorRecord("d", first, "second", true, LIMITS);
        assertThat(second.properties()).containsEntry(ErrorHandling.REASON, "second").containsEntry(ErrorHandling.CONNECTOR, "d")
                .containsEntry("p0", "v").hasSize(6);
    }
}
