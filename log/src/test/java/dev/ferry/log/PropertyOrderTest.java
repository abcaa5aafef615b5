package dev.ferry.log;

import static dev.ferry.log.StoreTestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message's properties come back in the order they were sent (docs/PROTOCOL.md: "ordered string
 * → string"; the protobuf codec sends them as a repeated Entry for that reason). The record keeps
 * them in order, but the decoded message and {@link LogMessage#properties()} held them in
 * {@code Map.copyOf}, whose order is random per JVM: a hand-written client saw three properties
 * come back in another order on five broker starts out of six, and a delayed or half message,
 * rebuilt through {@link LogMessage#toBuilder}, was even stored in that order.
 */
class PropertyOrderTest {
    /** Enough names that a random order keeps theirs by chance once in 20! runs. */
    private static final int COUNT = 20;

    @TempDir
    Path dir;

    private static List<String> names() {
        List<String> names = new ArrayList<>();
        for (int i = COUNT; i > 0; i--) {
            names.add("p" + i);
        }
        return names;
    }

    private static LogMessage withProperties(String topic) {
        LogMessage.Builder b = LogMessage.builder(topic, 0, new byte[] {1}).tags("t").key("k");
        for (String name : names()) {
            b.property(name, "v-" + name);
        }
        return b.build();
    }

    @Test
    void propertiesAreReadBackInTheOrderTheyWereSent() {
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            store.append(withProperties("t"));
            StoredMessage read = store.readMessages("t", 0, 0, 1).get(0);
            assertThat(read.properties().keySet()).containsExactlyElementsOf(names());
        }
    }

    @Test
    void aMessageAndItsRebuiltCopyKeepTheirPropertiesInOrder() {
        LogMessage m = withProperties("t");
        assertThat(m.properties().keySet()).containsExactlyElementsOf(names());
        LogMessage copy = m.toBuilder("other", 1).build();
        assertThat(copy.properties().keySet()).containsExactlyElementsOf(names());
        try (MessageStore store = MessageStore.open(smallConfig(dir).build())) {
            store.append(copy);
            assertThat(store.readMessages("other", 1, 0, 1).get(0).properties().keySet()).containsExactlyElementsOf(names());
        }
    }
}
