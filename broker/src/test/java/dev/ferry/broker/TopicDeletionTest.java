package dev.ferry.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.log.AppendResult;
import dev.ferry.log.LogConfig;
import dev.ferry.log.LogMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What deleting a topic means across a restart, on a real store: the topic stays deleted (its
 * offset indexes stay on disk, and a broker registers indexes without metadata at start, so
 * before this it came back), and its records are not found by key or by id while it is deleted.
 * Created again, it continues its offsets and starts empty, as {@link Broker#deleteTopic} says.
 */
class TopicDeletionTest {
    @TempDir
    Path dir;

    private Broker open() {
        return Broker.open(BrokerConfig.defaults(LogConfig.builder(dir).segmentBytes(4 << 20).preTouch(false).build()),
                GroupConfig.defaults());
    }

    @Test
    void aDeletedTopicStaysDeletedAcrossARestartAndItsRecordsAreNotServed() {
        String id;
        try (Broker broker = open()) {
            broker.createTopic("orders", 2);
            broker.createTopic("kept", 1);
            List<AppendResult> sent = broker.send(List.of(LogMessage.builder("orders", 1, bytes("first")).key("k-1").build(),
                    LogMessage.builder("kept", 0, bytes("other")).key("k-1").build())).join();
            id = sent.get(0).messageId();
            assertThat(broker.messagesByKey("orders", "k-1", 8, 1 << 20)).hasSize(1);
            assertThat(broker.messageById(id)).isPresent();

            broker.deleteTopic("orders");

            assertThat(broker.describeTopic("orders")).isEmpty();
            assertThatThrownBy(() -> broker.messagesByKey("orders", "k-1", 8, 1 << 20)).isInstanceOf(TopicNotFoundException.class);
            assertThat(broker.messageById(id)).as("a deleted topic's message by id").isEmpty();
        }

        try (Broker broker = open()) {
            assertThat(broker.listTopics()).extracting(TopicInfo::name).as("after a restart").containsExactly("kept");
            assertThatThrownBy(() -> broker.messagesByKey("orders", "k-1", 8, 1 << 20)).isInstanceOf(TopicNotFoundException.class);
            assertThat(broker.messagesByKey("kept", "k-1", 8, 1 << 20)).hasSize(1);
            assertThat(broker.messageById(id)).isEmpty();

            broker.createTopic("orders", 2);
            assertThat(broker.describeTopic("orders").orElseThrow().queues().get(1).maxOffset())
                    .as("created again, its offsets continue").isEqualTo(1);
            assertThat(broker.messageById(id)).as("created again, it starts empty: the deleted topic's message is not its").isEmpty();
            assertThat(broker.describeTopic("orders").orElseThrow().queues().get(1).minOffset()).as("its first offset").isEqualTo(1);
        }

        try (Broker broker = open()) {
            assertThat(broker.listTopics()).extracting(TopicInfo::name).as("created again, it is no longer remembered as deleted")
                    .containsExactly("kept", "orders");
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
